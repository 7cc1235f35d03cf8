"""Parsing ffmpeg's stream summary (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

from pathlib import Path

from reelforge.ffmpeg.probe import parse_ffmpeg_info, probe

from .conftest import run_ffmpeg

PHONE = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'IMG_0001.MOV':
  Duration: 00:00:12.48, start: 0.000000, bitrate: 12000 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67), 1920x1080, 11800 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
      Metadata:
        creation_time   : 2026-01-01T10:00:00.000000Z
      Side data:
        displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 160 kb/s (default)
"""


def test_parses_a_rotated_10bit_phone_video() -> None:
    info = parse_ffmpeg_info("IMG_0001.MOV", PHONE)
    assert info.duration == 12.48
    v, a = info.video, info.audio
    assert (v.codec, v.pix_fmt, v.width, v.height, v.fps, v.rotation) == ("hevc", "yuv420p10le", 1920, 1080, 29.97, -90.0)
    assert (a.codec, a.sample_rate, a.channels) == ("aac", 44100, "stereo")


def test_probes_real_files(tmp_path: Path) -> None:
    path = tmp_path / "odd size.mkv"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=171x97:r=15:d=1.2", "-pix_fmt", "bgr0", "-c:v", "ffv1", str(path))
    info = probe(path, count_frames=True)
    assert (info.video.width, info.video.height, info.frames) == (171, 97, 18)
    assert info.audio is None
    assert info.video.alpha is False  # bgr0: the fourth byte is padding, not alpha


def test_an_alpha_pixel_format_is_reported_as_alpha(tmp_path: Path) -> None:
    """ProRes 4444 decodes as yuva444p12le: `probe` said alpha false for exactly the files made to keep it."""
    prores = tmp_path / "a.mov"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=0.3", "-vf", "format=yuva444p10le", "-c:v", "prores_ks",
               "-profile:v", "4444", str(prores))
    info = probe(prores)
    assert info.video.pix_fmt.startswith("yuva444p") and info.video.alpha is True
    opaque = tmp_path / "b.mov"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=0.3", "-c:v", "prores_ks", "-profile:v", "3", str(opaque))
    assert probe(opaque).video.alpha is False
