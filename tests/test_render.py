"""End-to-end renders, checked the way a person would: probe the file, look at pixels at
chosen timestamps, listen to the audio levels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.ffmpeg.probe import probe
from reelforge.render.api import render, render_frame

from .conftest import audio_samples, canvas, draft, frame_at

FPS = 24


def color_clip(color: str, duration: float, transition: object = None) -> dict:
    clip: dict = {"duration": duration, "layers": [{"type": "color", "color": color}]}
    if transition is not None:
        clip["transition"] = transition
    return clip


def near(pixel: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - rgb) <= tol))


def test_red_fading_to_blue_has_exact_length_and_is_purple_midway(tmp_path: Path) -> None:
    out = tmp_path / "fade.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        color_clip("#ff0000", 2.0, {"name": "fade", "duration": 1.0}), color_clip("#0000ff", 2.0)]}
    result = render(spec, out)
    info = probe(out, count_frames=True)
    assert result.duration == pytest.approx(3.0)
    assert info.duration == pytest.approx(2.0 + 2.0 - 1.0, abs=1 / FPS)
    assert info.frames == 72
    video = info.video
    assert (video.codec, video.width, video.height, video.pix_fmt) == ("h264", 320, 180, "yuv420p")
    assert near(frame_at(out, 0.5)[90, 160], (255, 0, 0))
    mid = frame_at(out, 1.5)[90, 160].astype(int)
    assert 100 < mid[0] < 160 and mid[1] < 20 and 100 < mid[2] < 160, mid  # purple-ish
    assert near(frame_at(out, 2.9)[90, 160], (0, 0, 255))


def test_the_video_gets_the_usual_file_mode_and_no_temp_files_remain(tmp_path: Path) -> None:
    """Rendered through a private temp file; the result must still be readable as any file the
    user creates (a web server serving it, a teammate on a shared disk)."""
    out = tmp_path / "mode.mp4"
    render({"canvas": canvas(fps=FPS), "output": draft(), "clips": [color_clip("#00ff00", 0.5)]}, out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["mode.mp4"]


def test_cut_joins_clips_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "cut.mp4"
    render({"canvas": canvas(fps=FPS), "output": draft(),
            "clips": [color_clip("red", 1.0, "cut"), color_clip("lime", 1.5)]}, out)
    info = probe(out, count_frames=True)
    assert info.frames == 60
    assert near(frame_at(out, 0.98)[10, 10], (255, 0, 0)) and near(frame_at(out, 1.02)[10, 10], (0, 255, 0))


def test_a_cut_followed_by_a_transition(tmp_path: Path) -> None:
    out = tmp_path / "cut-fade.mp4"
    render({"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        color_clip("red", 1.0, "cut"), color_clip("lime", 1.0, {"name": "fade", "duration": 0.5}),
        color_clip("blue", 1.0)]}, out)
    assert probe(out, count_frames=True).frames == round(2.5 * FPS)
    assert near(frame_at(out, 1.2)[10, 10], (0, 255, 0)) and near(frame_at(out, 2.2)[10, 10], (0, 0, 255))


@pytest.mark.parametrize("name", ["wipeleft", "circleopen", "slideup", "pixelize", "dissolve", "fadeblack"])
def test_any_xfade_transition_obeys_the_length_maths(tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        color_clip("red", 1.5, {"name": name, "duration": 0.5}), color_clip("blue", 1.5, {"name": name, "duration": 0.5}),
        color_clip("lime", 1.0)]}
    render(spec, out)
    assert probe(out, count_frames=True).frames == round((1.5 + 1.5 + 1.0 - 0.5 - 0.5) * FPS)


def _square(path: Path, color: tuple[int, int, int, int], size: int = 64) -> Path:
    Image.new("RGBA", (size, size), color).save(path)
    return path


def test_overlay_sits_at_its_anchor_only_inside_its_window(tmp_path: Path) -> None:
    logo = _square(tmp_path / "logo.png", (255, 0, 0, 255))
    out = tmp_path / "overlay.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 3, "layers": [
        {"type": "color", "color": "#0000ff"},
        {"type": "overlay", "path": str(logo), "position": "top-left", "scale": 0.25, "margin": 0.1,
         "start": 1.0, "end": 2.0},
    ]}]}
    render(spec, out)
    # scale 0.25 of 320 px = 80 px wide, margin 0.1 of the 180 px short side = 18 px.
    inside, outside = (18 + 40, 18 + 40), (18 + 100, 18 + 40)
    during = frame_at(out, 1.5)
    assert near(during[inside[1], inside[0]], (255, 0, 0), 20)
    assert near(during[outside[1], outside[0]], (0, 0, 255), 20)
    assert near(during[18 + 3, 18 + 3], (255, 0, 0), 40) and near(during[18 - 4, 18 - 4], (0, 0, 255), 40)
    for t in (0.5, 2.5):
        assert near(frame_at(out, t)[inside[1], inside[0]], (0, 0, 255), 20), t


def test_overlay_opacity_blends_with_what_is_below(tmp_path: Path) -> None:
    logo = _square(tmp_path / "white.png", (255, 255, 255, 255))
    out = tmp_path / "opacity.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 1, "layers": [
        {"type": "color", "color": "#000000"},
        {"type": "overlay", "path": str(logo), "position": "center", "scale": 0.5, "opacity": 0.5}]}]}
    render(spec, out)
    value = frame_at(out, 0.5)[90, 160].astype(int)
    assert np.all(np.abs(value - 128) < 14), value


def test_overlay_fades_in(tmp_path: Path) -> None:
    logo = _square(tmp_path / "white.png", (255, 255, 255, 255))
    out = tmp_path / "fadein.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 2, "layers": [
        {"type": "color", "color": "#000000"},
        {"type": "overlay", "path": str(logo), "position": "center", "scale": 0.5, "fade_in": 1.0}]}]}
    render(spec, out)
    levels = [int(frame_at(out, t)[90, 160, 1]) for t in (0.1, 0.5, 0.9, 1.5)]
    assert levels[0] < levels[1] < levels[2] and levels[3] > 240, levels


def test_text_is_drawn_inside_its_anchored_box(tmp_path: Path) -> None:
    out = tmp_path / "text.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 1, "layers": [
        {"type": "color", "color": "#000000"},
        {"type": "text", "text": "Hi: 'there' 100% [a,b]; \\ 🎉", "size": 0.12, "color": "#ffffff",
         "position": "bottom", "margin": 0.05}]}]}
    render(spec, out)
    frame = frame_at(out, 0.5)
    bright = frame.max(axis=2) > 128
    rows = np.where(bright.any(axis=1))[0]
    assert bright.sum() > 200  # glyphs are there
    assert rows.min() > 180 * 0.6 and rows.max() < 180 - 0.05 * 180  # in the bottom band, above the margin
    assert not bright[:90].any()


def test_ken_burns_moves_smoothly_without_jitter(tmp_path: Path) -> None:
    """Track the pan with phase correlation: steps must be steady and never go backwards."""
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(texture).resize((1280, 720), Image.Resampling.BILINEAR))
    src = tmp_path / "texture.png"
    Image.fromarray(texture).save(src)
    out = tmp_path / "kb.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": {"quality": "high"}, "clips": [{"duration": 2, "layers": [
        {"type": "image", "path": str(src), "motion": {"zoom_from": 1.3, "zoom_to": 1.3, "focus_from": [0.45, 0.5],
                                                       "focus_to": [0.55, 0.5], "easing": "linear"}}]}]}
    render(spec, out)
    frames = [frame_at(out, (i + 0.5) / FPS).mean(axis=2) for i in range(8, 40)]
    shifts = [_phase_shift(a, b) for a, b in zip(frames, frames[1:])]
    dx = np.array([s[0] for s in shifts])
    # The window moves 10% of the image width across 48 frames: 320*1.3*0.1/47 ≈ 0.885 px per frame.
    assert np.all(dx > 0.5), dx
    assert dx.std() < 0.15, dx
    assert abs(dx.mean() - 320 * 1.3 * 0.1 / 47) < 0.15


def _phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Sub-pixel translation from a to b (content moves left when the window pans right).
    Upsampled-DFT phase correlation: a parabola fitted to the correlation peak is pulled
    towards whole pixels on sharp content (it read a steady 0.5 px step as 0.13, 0.59, …)."""
    from skimage.registration import phase_cross_correlation

    (dy, dx), _, _ = phase_cross_correlation(a, b, upsample_factor=100, normalization=None)
    return float(dx), float(dy)


def test_video_layer_trim_speed_and_audio(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "video.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        {"layers": [{"type": "video", "path": str(tone_video), "trim_in": 0.5, "trim_out": 2.5}],
         "transition": {"name": "fade", "duration": 0.5}},
        {"layers": [{"type": "video", "path": str(tone_video), "speed": 2.0}]},
    ]}
    render(spec, out)
    info = probe(out, count_frames=True)
    # clip 1: 2 s of source; clip 2: 3 s at 2x = 1.5 s; minus the 0.5 s transition.
    assert info.frames == round((2.0 + 1.5 - 0.5) * FPS)
    assert info.audio is not None and info.audio.sample_rate == 48000
    samples = audio_samples(out)
    assert len(samples) / 8000 == pytest.approx(3.0, abs=0.05)
    assert np.sqrt(np.mean(samples[4000:8000] ** 2)) > 0.05  # the tone is there


def test_muted_and_looped_video_layers(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "loop.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        {"duration": 7, "layers": [{"type": "video", "path": str(tone_video), "loop": True, "mute": True}]}]}
    render(spec, out)
    info = probe(out, count_frames=True)
    assert info.frames == 7 * FPS and info.audio is None
    # Looping restarts the source: frame at 3.5 s looks like the one at 0.5 s.
    diff = np.abs(frame_at(out, 3.5).astype(int) - frame_at(out, 0.5).astype(int)).mean()
    assert diff < 8, diff


def test_looping_a_trimmed_part_repeats_that_part(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "loop-part.mp4"
    spec = {"canvas": canvas(fps=25), "output": draft(), "clips": [{"duration": 3.5, "layers": [
        {"type": "video", "path": str(tone_video), "trim_in": 0.5, "trim_out": 1.5, "loop": True}]}]}
    render(spec, out)

    def diff(a: float, b: float) -> float:
        return float(np.abs(frame_at(out, a).astype(int) - frame_at(out, b).astype(int)).mean())

    assert diff(0.2, 1.2) < 3 and diff(0.2, 2.2) < 3 and diff(0.4, 3.4) < 3  # a 1 s part, repeated
    assert diff(0.2, 0.6) > 5  # and it is moving, not frozen
    assert len(audio_samples(out)) / 8000 == pytest.approx(3.5, abs=0.05)


def test_music_loops_to_the_video_length_and_fades(tmp_path: Path, music_file: Path) -> None:
    out = tmp_path / "music.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [color_clip("gray", 5.0)],
            "audio": {"music": {"path": str(music_file), "volume": 1.0, "fade_in": 1.0, "fade_out": 1.0}}}
    render(spec, out)
    samples = audio_samples(out)
    assert len(samples) / 8000 == pytest.approx(5.0, abs=0.05)

    def rms(t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(samples[int(t0 * 8000):int(t1 * 8000)] ** 2)))

    assert rms(0.0, 0.2) < 0.5 * rms(2.0, 3.0)  # fading in
    assert rms(3.0, 3.5) > 0.05  # lavfi's sine has RMS ≈ 0.088; still playing after the 2 s track ran out: it looped
    assert rms(4.8, 5.0) < 0.5 * rms(2.0, 3.0)  # fading out


def test_clip_audio_crossfades_with_the_video_transition(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "xa.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [
        {"duration": 2, "layers": [{"type": "video", "path": str(tone_video)}],
         "transition": {"name": "fade", "duration": 1.0}},
        {"duration": 2, "layers": [{"type": "color", "color": "black"}]}]}
    render(spec, out)
    samples = audio_samples(out)
    assert len(samples) / 8000 == pytest.approx(3.0, abs=0.05)

    def rms(t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(samples[int(t0 * 8000):int(t1 * 8000)] ** 2)))

    assert rms(0.2, 0.8) > 0.05  # lavfi's sine has RMS ≈ 0.088
    assert rms(1.05, 1.3) > rms(1.7, 1.95) > rms(2.5, 3.0)  # fading out across the transition
    assert rms(2.5, 3.0) < 0.01


@pytest.mark.parametrize(("fmt", "suffix", "codec", "pix_fmt"), [
    ("mp4-h265", ".mp4", "hevc", "yuv420p"),
    ("webm", ".webm", "vp9", "yuv420p"),
    ("mov-prores", ".mov", "prores", "yuva444p12le"),
    ("gif", ".gif", "gif", "bgra"),  # ffmpeg decodes GIF to bgra
])
def test_output_formats(tmp_path: Path, fmt: str, suffix: str, codec: str, pix_fmt: str) -> None:
    out = tmp_path / f"out{suffix}"
    spec = {"canvas": canvas(fps=FPS), "output": {"format": fmt, "quality": "draft"},
            "clips": [color_clip("red", 1.0, "fade"), color_clip("blue", 1.0)]}
    render(spec, out)
    info = probe(out)
    assert info.video.codec == codec and info.video.pix_fmt == pix_fmt
    assert info.duration == pytest.approx(1.5, abs=0.1)


def test_webm_alpha_keeps_transparency(tmp_path: Path, ffmpeg: str) -> None:
    import subprocess

    out = tmp_path / "alpha.webm"
    spec = {"canvas": canvas(fps=FPS, background="transparent"), "output": {"format": "webm-alpha", "quality": "draft"},
            "clips": [{"duration": 1, "layers": [{"type": "text", "text": "lower third", "box": {"color": "#ff0000"}}]}]}
    render(spec, out)
    raw = subprocess.run([ffmpeg, "-v", "error", "-c:v", "libvpx-vp9", "-i", str(out), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    alpha = np.frombuffer(raw, np.uint8).reshape(180, 320, 4)[..., 3]
    assert alpha[0, 0] < 10 and alpha[90, 160] > 245


def test_h264_output_is_bt709_tagged_and_faststart(tmp_path: Path, ffmpeg: str) -> None:
    import subprocess

    out = tmp_path / "tags.mp4"
    render({"canvas": canvas(fps=FPS), "output": draft(), "clips": [color_clip("#336699", 0.5)]}, out)
    stderr = subprocess.run([ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "bt709" in stderr
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    assert near(frame_at(out, 0.2)[90, 160], (0x33, 0x66, 0x99), 6)  # colours survive the YUV round trip


def test_hardware_encoder_falls_back_with_a_clear_message(tmp_path: Path) -> None:
    out = tmp_path / "hw.mp4"
    result = render({"canvas": canvas(fps=FPS), "output": {"quality": "draft", "hardware": "nvenc"},
                     "clips": [color_clip("red", 0.5)]}, out)
    if "-c:v" in result.argv and result.argv[result.argv.index("-c:v") + 1] == "h264_nvenc":
        pytest.skip("this machine has a working NVENC")
    assert any("h264_nvenc is not usable here" in w and "falling back" in w for w in result.warnings)
    assert probe(out).video.codec == "h264"


def test_frame_command_renders_the_frame_at_a_time(tmp_path: Path) -> None:
    spec = {"canvas": canvas(fps=FPS), "clips": [color_clip("red", 2.0, {"name": "fade", "duration": 1.0}),
                                                 color_clip("blue", 2.0), color_clip("lime", 1.0)]}
    checks = {0.2: (255, 0, 0), 1.5: (128, 0, 128), 2.5: (0, 0, 255), 3.5: (0, 255, 0)}
    for t, rgb in checks.items():
        png = render_frame(spec, t, tmp_path / f"f{t}.png")
        assert near(np.asarray(Image.open(png))[90, 160], rgb, 14), t


def test_exif_rotated_photo_is_shown_upright(tmp_path: Path) -> None:
    # Stored landscape: left half red, right half blue; EXIF 6 says "rotate 90° clockwise to view".
    stored = np.zeros((100, 200, 3), np.uint8)
    stored[:, :100] = (255, 0, 0)
    stored[:, 100:] = (0, 0, 255)
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "phone photo.jpg"
    img.save(path, exif=exif, quality=95)
    out = tmp_path / "upright.png"
    render_frame({"canvas": canvas(width=200, height=400), "clips": [
        {"duration": 1, "layers": [{"type": "image", "path": str(path), "fit": "stretch"}]}]}, 0.5, out)
    frame = np.asarray(Image.open(out))
    assert near(frame[100, 100], (255, 0, 0), 30) and near(frame[300, 100], (0, 0, 255), 30)


def test_canvas_sized_png_with_exif_orientation_is_rotated(tmp_path: Path) -> None:
    """Such a file would otherwise go to ffmpeg as it is (which ignores EXIF): it must not."""
    stored = np.zeros((180, 320, 3), np.uint8)
    stored[:90] = (255, 0, 0)  # top half red as stored; EXIF 3 = rotate 180°, so red shows at the bottom
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 3
    path = tmp_path / "flipped.png"
    img.save(path, exif=exif)
    out = tmp_path / "f.png"
    render_frame({"canvas": canvas(), "clips": [{"duration": 1, "layers": [{"type": "image", "path": str(path)}]}]}, 0.5, out)
    frame = np.asarray(Image.open(out))
    assert near(frame[150, 160], (255, 0, 0), 20) and near(frame[30, 160], (0, 0, 0), 20)


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "P", "L", "LA", "RGBA", "1"])
def test_any_image_mode_renders(tmp_path: Path, mode: str) -> None:
    base = Image.new("RGB", (64, 48), (200, 120, 40))
    if mode == "I;16":
        img = Image.fromarray(np.full((48, 64), 40000, np.uint16))
    elif mode == "P":
        img = base.convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        img = base.convert(mode)
    path = tmp_path / f"img-{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
    img.save(path)
    out = tmp_path / "frame.png"
    render_frame({"canvas": canvas(), "clips": [{"duration": 1, "layers": [
        {"type": "color", "color": "black"}, {"type": "image", "path": str(path)}]}]}, 0.5, out)
    pixel = np.asarray(Image.open(out))[90, 160].astype(int)
    assert pixel.max() > 30, (mode, pixel)  # the picture is there, not black
    if mode in ("CMYK", "P", "RGBA"):
        assert near(pixel, (200, 120, 40), 25), pixel


def test_unicode_paths_with_spaces_and_special_characters(tmp_path: Path) -> None:
    folder = tmp_path / "my clips [1]; it's ünï 图"
    folder.mkdir()
    logo = _square(folder / "lo,go: 100%.png", (0, 255, 0, 255))
    out = folder / "out put ü.mp4"
    render({"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 1, "layers": [
        {"type": "color", "color": "black"}, {"type": "overlay", "path": str(logo), "position": "center", "scale": 0.5},
        {"type": "text", "text": "a:b'c\\d%e,f[g]h;i 🎬", "start": 0.5}]}]}, out)
    assert near(frame_at(out, 0.2)[90, 160], (0, 255, 0), 20)


def test_progress_reports_come_from_ffmpeg(tmp_path: Path) -> None:
    events = []
    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [color_clip("red", 3.0)]}
    render(spec, tmp_path / "p.mp4", on_progress=lambda p, total: events.append((p, total)))
    assert events and all(total == pytest.approx(3.0) for _, total in events)
    seconds = [p.out_seconds for p, _ in events]
    assert seconds == sorted(seconds)
    assert events[-1][0].done and events[-1][0].frame == 72


def test_parse_progress_block() -> None:
    from reelforge.ffmpeg.run import parse_progress_block

    p = parse_progress_block({"frame": "48", "out_time_us": "2000000", "speed": "3.5x", "progress": "continue"})
    assert (p.frame, p.out_seconds, p.speed, p.done) == (48, 2.0, 3.5, False)
    first = parse_progress_block({"out_time_us": "N/A", "speed": "N/A", "progress": "end"})
    assert (first.out_seconds, first.speed, first.done) == (0.0, None, True)


def test_prepared_stills_are_cached_between_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.render import prepare as prep

    spec = {"canvas": canvas(fps=FPS), "output": draft(), "clips": [{"duration": 1, "layers": [
        {"type": "linear-gradient", "colors": ["red", "blue"]}, {"type": "text", "text": "cached?"}]}]}
    calls = []
    original = prep.render_plain_text
    monkeypatch.setattr(prep, "render_plain_text", lambda *a, **k: calls.append(1) or original(*a, **k))
    render(spec, tmp_path / "a.mp4")
    render(spec, tmp_path / "b.mp4")
    assert len(calls) == 1


def test_pan_preset_follows_its_easing_curve_without_dead_stops(tmp_path: Path) -> None:
    """pan-right asks for focus 0.4 → 0.6 at zoom 1.15, where only 0.435 … 0.565 is reachable. A
    per-frame clamp stood still for 8 frames, moved at full speed, then stopped dead. Measure each
    frame's displacement (phase correlation) and compare it with the ease-in-out curve."""
    from reelforge.spec.timeline import MOTION_PRESETS

    rng = np.random.default_rng(2)
    texture = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(texture).resize((1280, 720), Image.Resampling.BILINEAR))
    src = tmp_path / "texture.png"
    Image.fromarray(texture).save(src)
    out = tmp_path / "pan.mp4"
    seconds = 2
    spec = {"canvas": canvas(fps=FPS), "output": {"quality": "high"}, "clips": [{"duration": seconds, "layers": [
        {"type": "image", "path": str(src), "motion": "pan-right"}]}]}
    render(spec, out)
    frames = [frame_at(out, (i + 0.5) / FPS).mean(axis=2) for i in range(seconds * FPS)]
    width = frames[0].shape[1]
    dx = np.array([_phase_shift(a, b)[0] for a, b in zip(frames, frames[1:])])
    zoom = MOTION_PRESETS["pan-right"]["zoom_to"]
    half = 1 / (2 * zoom)
    travel = ((1 - half) - half) * width * zoom  # the reachable part of 0.4 → 0.6, in screen pixels
    last = seconds * FPS - 1
    eased = (1 - np.cos(np.pi * np.arange(last + 1) / last)) / 2
    expected = travel * np.diff(eased)
    assert np.abs(dx - expected).max() < 0.3, np.round(np.c_[dx, expected], 2)


def test_contain_with_motion_moves_the_picture_not_letterbox_bars(tmp_path: Path) -> None:
    """fit: contain + motion drew black bars inside the layer's box (they were zoomed with it)."""
    src = tmp_path / "red.png"
    Image.new("RGB", (200, 200), (220, 0, 0)).save(src)
    out = tmp_path / "contain.mp4"
    spec = {"canvas": canvas(fps=FPS, background="#00c800"), "output": {"quality": "high"}, "clips": [
        {"duration": 1, "layers": [{"type": "image", "path": str(src), "fit": "contain", "motion": "zoom-in"}]}]}
    render(spec, out)
    for at in (0.1, 0.5, 0.9):
        frame = frame_at(out, at).astype(int)
        row = frame[90]
        assert abs(row[40] - (0, 200, 0)).max() < 30, (at, row[40])  # beside the picture: the canvas, not black
        assert abs(row[60] - (0, 200, 0)).max() < 30, (at, row[60])
        assert abs(row[160] - (220, 0, 0)).max() < 30, (at, row[160])  # the picture, 180 px square, centred
        assert abs(row[76] - (220, 0, 0)).max() < 30 and abs(row[244] - (220, 0, 0)).max() < 30, at


def test_the_last_clips_own_audio_fades_out_with_the_music(tmp_path: Path, tone_video: Path, music_file: Path) -> None:
    """The music faded at the end but the last clip's own sound cut off at full level."""
    out = tmp_path / "end.mp4"
    spec = {"canvas": canvas(fps=FPS), "output": draft(),
            "clips": [{"layers": [{"type": "video", "path": str(tone_video)}]}],
            "audio": {"music": {"path": str(music_file), "volume": 0.0, "fade_in": 0, "fade_out": 1.0}}}
    render(spec, out)
    samples = audio_samples(out)
    rate = 8000
    rms = [float(np.sqrt(np.mean(samples[round(t * rate):round((t + 0.1) * rate)] ** 2))) for t in (1.0, 2.5, 2.88)]
    assert rms[0] > 0.05  # the tone at full level before the fade
    assert rms[1] < 0.7 * rms[0] and rms[2] < 0.15 * rms[0], rms  # halfway down, then nearly silent
