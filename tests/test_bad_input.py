"""Bad input through the real CLI: a clear message naming the clip/layer and the fix, exit
code 2, and nothing written at the output path (an existing file there is left untouched)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import canvas, cli, run_ffmpeg, write_spec


def run_bad(tmp_path: Path, spec: dict, *expected: str) -> str:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous render")
    result = cli("render", str(write_spec(tmp_path / "spec.yaml", spec)), "-o", str(out))
    message = result.stderr
    assert result.returncode == 2, (result.returncode, message)
    for part in expected:
        assert part in message, message
    assert "fix:" in message, message
    assert out.read_bytes() == b"previous render"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "temp file left behind"
    return message


def image_spec(path: str, **layer: object) -> dict:
    return {"canvas": canvas(), "output": {"quality": "draft"},
            "clips": [{"duration": 1, "layers": [{"type": "color", "color": "black"},
                                                 {"type": "image", "path": path, **layer}]}]}


def test_missing_image(tmp_path: Path) -> None:
    run_bad(tmp_path, image_spec("nope.png"), "clips[0].layers[1].path", "file not found")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    run_bad(tmp_path, image_spec("folder.png"), "clips[0].layers[1].path", "file not found")


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "link.png").symlink_to(tmp_path / "gone.png")
    run_bad(tmp_path, image_spec("link.png"), "clips[0].layers[1].path", "file not found")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_image(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(path)
    path.chmod(0)
    run_bad(tmp_path, image_spec("secret.png"), "clips[0].layers[1].path")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_corrupt_and_non_image_files(tmp_path: Path) -> None:
    (tmp_path / "noise.png").write_bytes(os.urandom(2000))
    run_bad(tmp_path, image_spec("noise.png"), "clips[0].layers[1].path", "not an image file")
    (tmp_path / "notes.jpg").write_text("just some text")
    run_bad(tmp_path, image_spec("notes.jpg"), "clips[0].layers[1].path", "not an image")


def test_truncated_image(tmp_path: Path) -> None:
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(full)
    data = full.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    run_bad(tmp_path, image_spec("cut.png"), "clips[0].layers[1].path", "corrupt or truncated")


def test_decompression_bomb(tmp_path: Path) -> None:
    Image.new("1", (10_001, 10_001)).save(tmp_path / "bomb.png")
    run_bad(tmp_path, image_spec("bomb.png"), "clips[0].layers[1].path", "too large", "100 megapixels")


def test_decompression_bombs_that_move_are_refused_on_the_prepare_pool(tmp_path: Path) -> None:
    """Moving stills are prepared on threads, where the over-the-limit check must still hold
    (it swaps process-wide warning filters: two threads at once must not undo each other)."""
    Image.new("1", (10_001, 10_001)).save(tmp_path / "bomb.png")
    Image.new("RGB", (640, 360), "navy").save(tmp_path / "fine.png")
    clips = [{"duration": 1, "layers": [{"type": "image", "path": name, "motion": "zoom-in"}]}
             for name in ("fine.png", "bomb.png", "bomb.png", "fine.png")]
    spec = {"canvas": canvas(), "clips": clips}
    spec["clips"][2]["layers"][0]["motion"] = "pan-left"  # another still: drawn beside the first bomb
    run_bad(tmp_path, spec, "clips[1].layers[0].path", "too large", "100 megapixels")


def test_truncated_and_non_media_videos(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=2", "-c:v", "libx264", str(video))
    (tmp_path / "broken.mp4").write_bytes(video.read_bytes()[:3000])  # moov atom is at the end: gone
    spec = {"canvas": canvas(), "clips": [{"duration": 1, "layers": [{"type": "video", "path": "broken.mp4"}]}]}
    run_bad(tmp_path, spec, "clips[0].layers[0].path", "not a readable media file")
    (tmp_path / "text.mp4").write_text("hello")
    spec["clips"][0]["layers"][0]["path"] = "text.mp4"
    run_bad(tmp_path, spec, "clips[0].layers[0].path")


def test_audio_only_file_as_a_video_layer(tmp_path: Path) -> None:
    run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", str(tmp_path / "a.wav"))
    spec = {"canvas": canvas(), "clips": [{"duration": 1, "layers": [{"type": "video", "path": "a.wav"}]}]}
    run_bad(tmp_path, spec, "clips[0].layers[0].path", "no video stream")


def test_music_without_audio(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "pic.png")
    spec = image_spec("pic.png") | {"audio": {"music": {"path": "pic.png"}}}
    run_bad(tmp_path, spec, "audio.music.path")


@pytest.mark.parametrize(("change", "expected"), [
    ({"duration": 0}, "clips[0].duration"),
    ({"duration": -2}, "clips[0].duration"),
    ({"layers": [{"type": "text", "text": "x", "start": 2, "end": 1}]}, "end (1.0) must be after start (2.0)"),
    ({"layers": [{"type": "text", "text": "x", "start": 5}]}, "clips[0].layers[0].start"),
    ({"transition": "starwipe"}, "unknown transition 'starwipe'"),
    ({"layers": [{"type": "text", "text": "x", "font": "Comic Sans"}]}, "unknown font 'Comic Sans'"),
    ({"layers": [{"type": "text", "text": "x", "font": "missing.ttf"}]}, "font file not found"),
    ({"layers": [{"type": "color", "color": "reddish"}]}, "unknown colour 'reddish'"),
])
def test_invalid_spec_values(tmp_path: Path, change: dict, expected: str) -> None:
    clip = {"duration": 1, "layers": [{"type": "color", "color": "red"}], **change}
    run_bad(tmp_path, {"canvas": canvas(), "clips": [clip, {"duration": 1, "layers": [{"type": "color", "color": "blue"}]}]},
            expected)


def test_transition_longer_than_a_clip(tmp_path: Path) -> None:
    clips = [{"duration": 1, "layers": [{"type": "color", "color": "red"}], "transition": {"name": "fade", "duration": 2}},
             {"duration": 3, "layers": [{"type": "color", "color": "blue"}]}]
    run_bad(tmp_path, {"canvas": canvas(), "clips": clips}, "clips[0].transition.duration", "shorten the transition")


def test_odd_canvas_size_for_h264(tmp_path: Path) -> None:
    spec = {"canvas": {"width": 321, "height": 180}, "clips": [{"duration": 1, "layers": [{"type": "color", "color": "red"}]}]}
    run_bad(tmp_path, spec, "canvas.width", "use 320x180")


def test_empty_and_wrong_shaped_specs(tmp_path: Path) -> None:
    run_bad(tmp_path, {"clips": []}, "clips")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    result = cli("render", str(tmp_path / "list.yaml"), "-o", str(tmp_path / "x.mp4"))
    assert result.returncode == 2 and "must be a mapping" in result.stderr


def test_missing_spec_file_and_bad_flags(tmp_path: Path) -> None:
    result = cli("render", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x.mp4"))
    assert result.returncode == 2 and "spec file not found" in result.stderr
    spec = write_spec(tmp_path / "s.yaml", {"clips": [{"layers": [{"type": "color", "color": "red"}]}]})
    assert cli("render", str(spec), "-o", str(tmp_path / "x.mp4"), "--preset", "ultra").returncode == 2
    result = cli("render", str(spec), "-o", str(tmp_path / "x.avi"))
    assert result.returncode == 2 and "unsupported extension" in result.stderr
    assert not (tmp_path / "x.avi").exists()


def test_ffmpeg_failure_leaves_no_partial_output(tmp_path: Path) -> None:
    """An ffmpeg that writes half a file and dies: the target path must not appear."""
    fake = tmp_path / "ffmpeg"
    fake.write_text('#!/bin/sh\nfor last; do :; done\necho partial > "$last"\necho "boom: encoder exploded" >&2\nexit 1\n')
    fake.chmod(0o755)
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "clips": [{"layers": [{"type": "color", "color": "red"}]}]})
    out = tmp_path / "final.mp4"
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "reelforge", "render", str(spec), "-o", str(out)],
                            capture_output=True, text=True, env={**os.environ, "REELFORGE_FFMPEG": str(fake)})
    assert result.returncode == 1 and "boom: encoder exploded" in result.stderr
    assert not out.exists()
    assert not any(p.name.startswith(".final.") for p in tmp_path.iterdir())


def test_text_full_of_filter_syntax_and_emoji_renders(tmp_path: Path) -> None:
    text = "a: b ' c \\ d % e , f [g] h ; i 🎉 {j} = k \" l $PATH `m`"
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "output": {"quality": "draft"},
                                           "clips": [{"duration": 1, "layers": [{"type": "text", "text": text}]}]})
    result = cli("render", str(spec), "-o", str(tmp_path / "ok.mp4"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ok.mp4").stat().st_size > 1000


def test_a_truncated_photo_that_moves_is_named_among_good_ones(tmp_path: Path) -> None:
    """Moving stills larger than the canvas are prepared on a thread pool while later clips are
    read: a broken one must still fail the render naming its own field, not a neighbour's."""
    pixels = np.random.default_rng(2).integers(0, 255, (360, 640, 3), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "good.png")
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: int(len(data) * 0.6)])
    clips = [{"duration": 1, "layers": [{"type": "image", "path": name, "motion": "zoom-in"}]}
             for name in ("good.png", "good.png", "cut.png", "good.png")]
    run_bad(tmp_path, {"canvas": canvas(), "clips": clips}, "clips[2].layers[0].path", "corrupt or truncated")


@pytest.mark.parametrize("motion", [None, "zoom-in"])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_canvas_sized_image_handed_to_ffmpeg_as_is(tmp_path: Path, fmt: str, motion: str | None) -> None:
    """A canvas-sized RGB image skips re-encoding (as a still for ffmpeg, or as the source of a
    move); it must still be checked for truncation."""
    pixels = np.random.default_rng(1).integers(0, 255, (180, 320, 3), np.uint8)
    full = tmp_path / f"full.{fmt.lower()}"
    Image.fromarray(pixels).save(full, format=fmt)
    data = full.read_bytes()
    (tmp_path / f"cut.{fmt.lower()}").write_bytes(data[: int(len(data) * 0.7)])
    layer = {"type": "image", "path": f"cut.{fmt.lower()}", **({"motion": motion} if motion else {})}
    spec = {"canvas": canvas(), "clips": [{"duration": 1, "layers": [layer]}]}
    run_bad(tmp_path, spec, "clips[0].layers[0].path", "corrupt or truncated")
