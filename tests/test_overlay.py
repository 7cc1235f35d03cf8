"""The overlay pipeline on real encodes: where the overlay lands (anchor, margin, scale), when it
shows, how opaque it is, that audio is bit-identical, and that size, rate, orientation, bit depth
and timestamps survive."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.probe import probe
from reelforge.pipelines.overlay import overlay_batch
from reelforge.spec.overlay import OverlayJob

from .conftest import cli, frame_at, run_ffmpeg

W, H = 320, 240


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("overlay-media")


@pytest.fixture(scope="session")
def grey_video(media: Path) -> Path:
    """3 s of flat mid-grey at 25 fps with a 440 Hz AAC tone."""
    path = media / "grey.mp4"
    run_ffmpeg("-f", "lavfi", "-i", f"color=c=0x808080:s={W}x{H}:r=25:d=3", "-f", "lavfi",
               "-i", "sine=f=440:d=3:r=48000", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "96k", "-shortest", str(path))
    return path


@pytest.fixture(scope="session")
def red_png(media: Path) -> Path:
    path = media / "red.png"
    Image.new("RGBA", (100, 50), (255, 0, 0, 255)).save(path)
    return path


def burn(video: Path, out: Path, **overlay: object) -> Path:
    job = OverlayJob.model_validate({"overlays": [overlay]})
    result = overlay_batch([video], job, out, jobs=1)
    assert not result.failed, result.failed[0].message
    return out


def red_box(frame: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the clearly red pixels, or None."""
    mask = (frame[..., 0] > 180) & (frame[..., 1] < 90) & (frame[..., 2] < 90)
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def packet_md5(path: Path, stream: str = "0:a") -> str:
    """MD5 of a stream's packets as stored (copied, not decoded)."""
    out = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-map", stream, "-c", "copy", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def frame_times(path: Path) -> list[float]:
    """Presentation time of every decoded video frame."""
    err = subprocess.run([ffmpeg_path(), "-hide_banner", "-i", str(path), "-map", "0:v", "-vf", "showinfo",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    return [float(t) for t in re.findall(r"pts_time:([\d.]+)", err)]


# 80x40 at scale 0.25 of 320; margin 10% of the short side (240) = 24 px.
@pytest.mark.parametrize(("position", "left", "top"), [
    ("top-left", 24, 24), ("top-right", W - 24 - 80, 24), ("center", (W - 80) // 2, (H - 40) // 2),
    ("bottom-right", W - 24 - 80, H - 24 - 40), ("bottom", (W - 80) // 2, H - 24 - 40),
    ("10,20", 10, 20), ("50%,25%", 160, 60),
])
def test_overlay_lands_at_anchor_margin_and_scale(grey_video: Path, red_png: Path, tmp_path: Path,
                                                   position: str, left: int, top: int) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png), position=position, margin="10%", scale=0.25)
    box = red_box(frame_at(out, 1.0))
    assert box is not None
    assert box == pytest.approx((left, top, left + 80, top + 40), abs=2)


def test_margin_in_pixels(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png), position="bottom-left", margin=8, scale=0.25)
    assert red_box(frame_at(out, 1.0)) == pytest.approx((8, H - 8 - 40, 88, H - 8), abs=2)


def test_overlay_shows_only_within_its_window(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png), start=1.0, end=2.0)
    assert red_box(frame_at(out, 0.5)) is None
    assert red_box(frame_at(out, 1.04)) is not None and red_box(frame_at(out, 1.96)) is not None
    assert red_box(frame_at(out, 2.5)) is None
    assert red_box(frame_at(out, 0.96)) is None and red_box(frame_at(out, 2.04)) is None


def test_opacity_blends_with_the_video(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png), position="center", scale=0.25, opacity=0.5)
    frame = frame_at(out, 1.0).astype(int)
    r, g, b = frame[H // 2, W // 2]
    # half red over grey 128: (255 + 128) / 2 = 191.5 and 128 / 2 = 64
    assert r == pytest.approx(191, abs=8) and g == pytest.approx(64, abs=8) and b == pytest.approx(64, abs=8)
    assert tuple(frame[10, 10]) == pytest.approx((128, 128, 128), abs=4)  # untouched elsewhere


def test_fade_ramps_opacity_in_and_out(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png), position="center", scale=0.25,
               start=0.5, end=2.5, fade=0.8)
    reds = [int(frame_at(out, t)[H // 2, W // 2][0]) for t in (0.3, 0.9, 1.5, 2.1, 2.7)]
    assert reds[0] == pytest.approx(128, abs=4) and reds[-1] == pytest.approx(128, abs=4)
    assert 140 < reds[1] < 240 and 140 < reds[3] < 240  # part-way through each fade
    assert reds[2] > 245


def test_audio_is_copied_bit_for_bit_and_size_rate_length_kept(grey_video: Path, red_png: Path,
                                                                 tmp_path: Path) -> None:
    out = burn(grey_video, tmp_path / "out.mp4", image=str(red_png))
    assert packet_md5(out) == packet_md5(grey_video)
    before, after = probe(grey_video, count_frames=True), probe(out, count_frames=True)
    assert after.audio is not None and after.audio.codec == "aac"
    assert after.video is not None and before.video is not None
    assert (after.video.width, after.video.height, after.video.fps) == (W, H, 25.0)
    assert after.frames == before.frames == 75
    assert after.video.codec == "h264" and after.video.pix_fmt == "yuv420p"


def test_ten_bit_hevc_stays_ten_bit_hevc(media: Path, red_png: Path, tmp_path: Path) -> None:
    src = media / "ten-bit.mkv"
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r=24:d=1", "-c:v", "libx265", "-preset", "ultrafast",
               "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le", str(src))
    out = burn(src, tmp_path / "out.mkv", image=str(red_png))
    info = probe(out)
    assert info.video is not None and info.video.codec == "hevc" and info.video.pix_fmt == "yuv420p10le"


def test_rotated_phone_video_gets_the_overlay_in_the_corner_a_viewer_sees(media: Path, red_png: Path,
                                                                         tmp_path: Path) -> None:
    stored = media / "landscape.mp4"
    run_ffmpeg("-f", "lavfi", "-i", f"color=c=0x808080:s={W}x{H}:r=25:d=1", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(stored))
    phone = media / "phone.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(phone))
    assert probe(phone).video.display_size == (H, W)  # type: ignore[union-attr]
    out = burn(phone, tmp_path / "out.mp4", image=str(red_png), position="top-left", margin=0, scale=0.5)
    info = probe(out)
    assert info.video is not None and info.video.display_size == (H, W)
    # 0.5 of the displayed width (240) = 120x60 at the displayed top-left
    assert red_box(frame_at(out, 0.5)) == pytest.approx((0, 0, 120, 60), abs=2)


def test_video_without_audio(media: Path, red_png: Path, tmp_path: Path) -> None:
    silent = media / "silent.mp4"
    run_ffmpeg("-f", "lavfi", "-i", f"color=c=0x808080:s={W}x{H}:r=25:d=1", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(silent))
    out = burn(silent, tmp_path / "out.mp4", image=str(red_png))
    assert probe(out).audio is None and red_box(frame_at(out, 0.5)) is not None


def test_variable_frame_rate_keeps_every_timestamp(media: Path, red_png: Path, tmp_path: Path) -> None:
    vfr = media / "vfr.mp4"
    # 25 frames in the first second, then 5 a second: like a phone that slowed down in the dark
    run_ffmpeg("-f", "lavfi", "-i", f"color=c=0x808080:s={W}x{H}:r=25:d=2",
               "-vf", "select='lt(n,25)+not(mod(n,5))',setpts='if(lt(N,25),N/25,1+(N-25)/5)/TB'",
               "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(vfr))
    out = burn(vfr, tmp_path / "out.mp4", image=str(red_png))
    before, after = frame_times(vfr), frame_times(out)
    assert len(before) == 30 and after == pytest.approx(before, abs=0.002)


def test_odd_frame_size_is_kept_pixel_for_pixel(media: Path, red_png: Path, tmp_path: Path) -> None:
    odd = media / "odd.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=0x808080:s=321x241:r=25:d=1", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(odd))
    out = burn(odd, tmp_path / "out.mp4", image=str(red_png))
    info = probe(out)
    assert info.video is not None and (info.video.width, info.video.height) == (321, 241)


def test_an_overlay_larger_than_the_video_is_scaled_down_to_fit(grey_video: Path, red_png: Path,
                                                                 tmp_path: Path) -> None:
    job = OverlayJob.model_validate({"overlays": [{"image": str(red_png), "scale": 3, "margin": 0,
                                                   "position": "center"}]})
    result = overlay_batch([grey_video], job, tmp_path / "out.mp4")
    assert not result.failed and "larger than the 320x240 frame" in result.results[0].warnings[0]
    assert red_box(frame_at(tmp_path / "out.mp4", 1.0)) == pytest.approx((0, 40, 320, 200), abs=2)


def test_several_overlays_from_a_spec_file(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    spec = tmp_path / "overlays.yaml"
    spec.write_text(f"""overlays:
  - {{image: {red_png.name}, position: top-left, margin: 0, scale: 0.25, end: 1.5}}
  - {{image: {red_png}, position: bottom-right, margin: 0, scale: 0.25, start: 1.5}}
  - {{text: "It's 50%: [a,b]; c\\\\d 世界 مرحبا 🎬", style: lower-third, position: center}}
encoding: {{crf: 20}}
""", encoding="utf-8")
    (tmp_path / red_png.name).write_bytes(red_png.read_bytes())  # relative to the spec file
    out = tmp_path / "out.mp4"
    result = cli("overlay", str(grey_video), "--spec", str(spec), "-o", str(out))
    assert result.returncode == 0, result.stderr
    early, late = frame_at(out, 1.0), frame_at(out, 2.0)
    assert red_box(early) == pytest.approx((0, 0, 80, 40), abs=2)
    assert red_box(late) == pytest.approx((W - 80, H - 40, W, H), abs=2)
    middle = early[H // 2 - 10: H // 2 + 10, W // 2 - 40: W // 2 + 40].astype(int)
    assert np.abs(middle - 128).max() > 60  # the text strap is drawn in the middle


def test_user_text_never_reaches_the_filter_graph(grey_video: Path, tmp_path: Path) -> None:
    job = OverlayJob.model_validate({"overlays": [{"text": "it's: [x];\\ 100%, ok", "style": "neon"}]})
    result = overlay_batch([grey_video], job, tmp_path / "out.mp4")
    assert not result.failed
    graph = " ".join(result.results[0].argv)
    assert "100%" not in graph and "it's" not in graph


def test_webm_with_alpha_keeps_its_transparency(media: Path, red_png: Path, tmp_path: Path) -> None:
    src = media / "alpha.webm"
    # left half opaque blue, right half fully transparent
    run_ffmpeg("-f", "lavfi", "-i", f"color=c=blue:s={W}x{H}:r=25:d=1,format=yuva420p,"
               f"geq=lum='lum(X,Y)':cb='cb(X,Y)':cr='cr(X,Y)':a='if(lt(X,{W // 2}),255,0)'",
               "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-auto-alt-ref", "0", str(src))
    out = tmp_path / "out.webm"
    job = OverlayJob.model_validate({"overlays": [{"image": str(red_png), "position": "top-right", "margin": 0,
                                                   "scale": 0.25}], "encoding": {"format": "webm-alpha"}})
    assert not overlay_batch([src], job, out).failed
    raw = subprocess.run([ffmpeg_path(), "-v", "error", "-c:v", "libvpx-vp9", "-i", str(out), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    rgba = np.frombuffer(raw, np.uint8).reshape(H, W, 4)
    assert rgba[H - 20, 20, 3] > 240 and rgba[H - 20, W - 20, 3] < 15  # the video's own alpha is kept
    assert rgba[20, W - 20, 3] > 240 and rgba[20, W - 20, 0] > 200  # the overlay is opaque where it sits


def test_prores_4444_output_has_an_alpha_plane(grey_video: Path, red_png: Path, tmp_path: Path) -> None:
    job = OverlayJob.model_validate({"overlays": [{"image": str(red_png)}], "encoding": {"format": "mov-prores"}})
    out = tmp_path / "out.mov"
    result = overlay_batch([grey_video], job, out)
    assert not result.failed, result.failed[0].message
    info = probe(out)
    assert info.video is not None and info.video.codec == "prores" and info.video.profile == "4444"
    assert (info.video.pix_fmt or "").startswith("yuva444p")  # the decoder reports 4444 as 12-bit
    assert packet_md5(out) == packet_md5(grey_video)  # AAC fits in MOV: still copied


def test_the_graph_is_data_compiled_in_one_place() -> None:
    """A pure plan → argv check: windows become `enable`, fades a looped input, audio is copied."""
    from reelforge.ffmpeg.command import compile_argv
    from reelforge.ffmpeg.probe import MediaInfo, StreamInfo
    from reelforge.pipelines.overlay.assets import PlacedOverlay
    from reelforge.pipelines.overlay.plan import build_overlay_command
    from reelforge.render.match import match_encoding

    video = StreamInfo(0, "video", "h264", 1920, 1080, 30.0, "yuv420p10le", bitrate_kbps=8000, profile="High 10")
    info = MediaInfo("in.mp4", "mp4", 10.0, [video, StreamInfo(1, "audio", "aac")])
    items = [PlacedOverlay(Path("a.png"), (100, 50), 10, 20, 1.0, 3.0, 0.0),
             PlacedOverlay(Path("b.png"), (100, 50), 30, 40, 2.0, None, 0.5)]
    command, audio = build_overlay_command("in.mp4", info, items, match_encoding(video), "out.mp4")
    argv = compile_argv(command)
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[0:v][1:v]overlay=x=10:y=20:eval=init:format=yuv420p10:enable=between(t\\,1\\,3)[v1]" in graph
    assert "fade=t=out:st=7.5:d=0.5:alpha=1,setpts=PTS+2/TB[f2]" in graph
    at = argv.index(f"file:{Path('b.png').resolve()}")
    assert argv[at - 7:at] == ["-loop", "1", "-framerate", "30", "-t", "8", "-i"]
    for flag in (["-map", "0:a?"], ["-c:a", "copy"], ["-fps_mode", "passthrough"], ["-pix_fmt", "yuv420p10le"],
                 ["-b:v", "8000k"]):
        assert any(argv[i:i + 2] == flag for i in range(len(argv))), flag
    assert audio.warning is None
