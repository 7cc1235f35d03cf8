"""Issue 21's probes of file names ffmpeg used to misread: a relative camera name with `:`
("Protocol not found"), `file:x.mp4` (opened x.mp4) and a still `pct%d.png` (rendered pct0.png)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import cli, frame_at, run_ffmpeg, write_spec


def test_probe_and_overlay_read_a_relative_camera_name_with_colons(tone_video: Path, tmp_path: Path) -> None:
    shutil.copy(tone_video, tmp_path / "2024-05-01T12:30:00.mp4")
    Image.new("RGBA", (40, 40), (255, 0, 0, 255)).save(tmp_path / "logo.png")
    result = cli("probe", "2024-05-01T12:30:00.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duration"] > 2.5
    result = cli("overlay", "2024-05-01T12:30:00.mp4", "--image", "logo.png", "-o", "out:1.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out:1.mp4").stat().st_size > 1000


def test_file_colon_name_opens_that_file_not_its_namesake(tone_video: Path, tmp_path: Path) -> None:
    shutil.copy(tone_video, tmp_path / "x.mp4")  # `file:x.mp4` must not silently open this one
    result = cli("probe", "file:x.mp4", cwd=tmp_path)
    assert result.returncode == 2 and "not found" in result.stderr
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", str(tmp_path / "file:x.mp4"))
    result = cli("probe", "file:x.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duration"] < 1.5  # this 1 s file, not the 3 s x.mp4


def test_a_still_named_like_a_pattern_renders_itself(tmp_path: Path) -> None:
    Image.new("RGB", (64, 36), (255, 0, 0)).save(tmp_path / "pct0.png")
    Image.new("RGB", (64, 36), (0, 0, 255)).save(tmp_path / "pct%d.png")
    spec = write_spec(tmp_path / "s.yaml", {
        "canvas": {"width": 64, "height": 36, "fps": 10}, "output": {"quality": "draft"},
        "clips": [{"duration": 0.5, "layers": [{"type": "image", "path": "pct%d.png"}]}]})
    result = cli("render", str(spec), "-o", str(tmp_path / "r.mp4"))
    assert result.returncode == 0, result.stderr
    r, g, b = frame_at(tmp_path / "r.mp4", 0.2)[18, 32].astype(int)
    assert b > 200 and r < 60, (r, g, b)
    result = cli("frame", str(spec), "--at", "0.2", "-o", str(tmp_path / "f.png"))
    assert result.returncode == 0, result.stderr
    r, g, b = np.asarray(Image.open(tmp_path / "f.png").convert("RGB"))[18, 32].astype(int)
    assert b > 200 and r < 60, (r, g, b)


def test_square_brackets_in_names_print_as_they_are(tone_video: Path, tmp_path: Path) -> None:
    """`[draft] clip.mp4` lost its bracketed part in the overlay and cutout tables, and a path
    containing `[/` crashed the overlay summary after the outputs were written."""
    src = tmp_path / "in"
    (src / "a[").mkdir(parents=True)
    shutil.copy(tone_video, src / "[draft] clip.mp4")
    shutil.copy(tone_video, src / "a[" / "b.mp4")
    Image.new("RGBA", (40, 40), (255, 0, 0, 255)).save(tmp_path / "logo.png")
    for video in ("[draft] clip.mp4", "a[/b.mp4"):  # relative: short enough not to wrap in the table
        result = cli("overlay", video, "--image", str(tmp_path / "logo.png"), "-o", f"o{len(video)}.mp4", cwd=src)
        assert result.returncode == 0, result.stderr
        assert video in result.stdout
    shots = tmp_path / "shots"
    shots.mkdir()
    image = Image.new("RGB", (256, 256), "white")
    image.paste((30, 60, 200), (80, 80, 180, 180))
    image.save(shots / "[draft] mug.png")
    result = cli("cutout", str(shots), "-o", str(tmp_path / "cut"), "--method", "key")
    assert result.returncode == 0, result.stderr
    assert "[draft] mug.png" in result.stdout


def test_a_gif_of_a_timeline_with_sound_renders_without_it_and_says_so(tone_video: Path, music_file: Path,
                                                                          tmp_path: Path) -> None:
    """Issue 21: GIF output failed whenever the timeline had sound (audio chains left unmapped)."""
    spec = write_spec(tmp_path / "g.yaml", {
        "canvas": {"width": 96, "height": 54, "fps": 8}, "output": {"quality": "draft"},
        "audio": {"music": {"path": str(music_file)}},
        "clips": [{"duration": 1.0, "layers": [{"type": "video", "path": str(tone_video)}]}]})
    result = cli("render", str(spec), "-o", str(tmp_path / "g.gif"))
    assert result.returncode == 0, result.stderr
    assert "GIF has no sound" in result.stderr
    assert (tmp_path / "g.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
