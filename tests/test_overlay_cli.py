"""`reelforge overlay` on batches and bad input: one bad video never stops the others, every
failure names the file and the fix, exit code 2, and nothing half-written is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from reelforge.ffmpeg.probe import probe

from .conftest import cli, run_ffmpeg


@pytest.fixture(scope="module")
def logo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logo") / "logo.png"
    Image.new("RGBA", (64, 32), (255, 255, 0, 200)).save(path)
    return path


def make_clip(path: Path, seconds: float = 1.0, faststart: bool = True) -> Path:
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=192x108:r=25:d={seconds}", "-f", "lavfi",
               "-i", f"sine=f=330:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", *(["-movflags", "+faststart"] if faststart else []), str(path))
    return path


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three good clips, random bytes, a clip cut in half and an audio-only file."""
    folder = tmp_path_factory.mktemp("batch")
    for name in ("a", "b", "c"):
        make_clip(folder / f"{name}.mp4")
    (folder / "noise.mp4").write_bytes(os.urandom(4000))
    whole = make_clip(folder.parent / "whole.mp4", seconds=3.0).read_bytes()
    (folder / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    run_ffmpeg("-f", "lavfi", "-i", "sine=d=1", str(folder / "voice.m4a"))
    (folder / "voice.m4a").rename(folder / "voice.mp4")
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_a_folder_in_parallel_with_bad_files_among_good_ones(batch_dir: Path, logo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("overlay", str(batch_dir), "--image", str(logo), "--position", "top-right", "-o", str(out), "-j", "2")
    assert result.returncode == 2, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "c.mp4"]  # no temp files, no partial ones
    for name in ("a", "b", "c"):
        info = probe(out / f"{name}.mp4", count_frames=True)
        assert info.frames == 25 and info.audio is not None
    err = result.stderr
    assert "noise.mp4" in err and "not a readable media file" in err
    assert "cut.mp4 is truncated or corrupt" in err
    assert "voice.mp4 has no video stream" in err
    assert err.count("fix:") >= 3
    assert "3 done, 3 failed" in result.stdout
    assert "notes.txt" not in result.stdout  # only video files are picked from a folder


def test_missing_file_and_window_outside_the_video(batch_dir: Path, logo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("overlay", str(batch_dir / "a.mp4"), str(tmp_path / "gone.mp4"), "--image", str(logo),
                 "--start", "5", "-o", str(out))
    assert result.returncode == 2
    assert "gone.mp4" in result.stderr and "file not found" in result.stderr
    assert "starts at 5 s but the video is only 1.00 s long" in result.stderr and "--start below 1.00" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_an_existing_output_is_untouched_when_the_run_fails(batch_dir: Path, logo: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.mp4"
    out.write_bytes(b"earlier result")
    result = cli("overlay", str(batch_dir / "cut.mp4"), "--image", str(logo), "-o", str(out))
    assert result.returncode == 2 and out.read_bytes() == b"earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.mp4"]


@pytest.mark.parametrize(("args", "expected"), [
    (["--opacity", "1.5"], "overlays[0].opacity"),
    (["--position", "middle"], "overlays[0].position"),
    (["--margin", "lots"], "is not a length"),
    (["--start", "3", "--end", "2"], "must be after `start`"),
    (["--text", "hi"], "one overlay"),
    (["--format", "gif"], "encoding.format"),
])
def test_bad_options_exit_2_naming_the_field(batch_dir: Path, logo: Path, tmp_path: Path, args: list[str],
                                             expected: str) -> None:
    result = cli("overlay", str(batch_dir / "a.mp4"), "--image", str(logo), *args, "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_refuses_to_overwrite_its_input(batch_dir: Path, logo: Path) -> None:
    result = cli("overlay", str(batch_dir / "a.mp4"), "--image", str(logo), "-o", str(batch_dir / "a.mp4"))
    assert result.returncode == 2 and "would overwrite its input" in result.stderr


def test_spec_errors_give_field_paths_and_lines(batch_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "overlays.yaml"
    spec.write_text("overlays:\n  - {image: logo.png}\n  - text: hello\n    opacity: 2\n    style: nope-style-xx\n"
                    "encoding: {codec: divx}\n", encoding="utf-8")
    result = cli("overlay", str(batch_dir / "a.mp4"), "--spec", str(spec), "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2
    assert f"{spec}:4: overlays[1].opacity" in result.stderr and "encoding.codec" in result.stderr


def test_unknown_style_in_a_text_overlay_is_a_clear_error(batch_dir: Path, tmp_path: Path) -> None:
    result = cli("overlay", str(batch_dir / "a.mp4"), "--text", "hi", "--style", "nope", "-o", str(tmp_path / "o.mp4"))
    assert result.returncode == 2 and "unknown text style 'nope'" in result.stderr
