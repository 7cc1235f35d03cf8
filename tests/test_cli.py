"""The `reelforge` command as a user types it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from reelforge import __version__

from .conftest import canvas, cli, run_ffmpeg, write_spec


def test_version_is_fast_and_correct() -> None:
    started = time.perf_counter()
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"reelforge {__version__}"
    assert time.perf_counter() - started < 10  # generous: it only must not import the renderer


def test_version_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = "import sys; from reelforge.cli.main import app; print(sorted(m for m in sys.modules if m.startswith(('PIL','numpy','reelforge.render'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_lists_the_commands() -> None:
    result = cli("--help")
    for command in ("render", "frame", "probe", "schema", "fonts"):
        assert command in result.stdout


def test_render_writes_the_video_and_reports_it(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "clips": [{"duration": 1, "layers": [{"type": "color", "color": "red"}]}]})
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--preset", "draft")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "(1.00 s, 24 frames)" in result.stdout
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".mp4"] == ["o.mp4"]


def test_dry_run_prints_the_ffmpeg_command_and_writes_nothing(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "clips": [
        {"duration": 1, "layers": [{"type": "color", "color": "red"}], "transition": "fade"},
        {"duration": 1, "layers": [{"type": "color", "color": "blue"}]}]})
    result = cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "-filter_complex" in result.stdout and "xfade=transition=fade" in result.stdout
    assert "libx264" in result.stdout
    assert not (tmp_path / "o.mp4").exists()


def test_format_follows_the_extension_or_the_flag(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "clips": [{"duration": 1, "layers": [{"type": "color", "color": "red"}]}]})
    assert "libvpx-vp9" in cli("render", str(spec), "-o", str(tmp_path / "o.webm"), "--dry-run").stdout
    mov = cli("render", str(spec), "-o", str(tmp_path / "o.mov"), "--dry-run")  # ambiguous: H.264, and said so
    assert "libx264" in mov.stdout and "prores" not in mov.stdout
    assert "a .mov is written as H.264" in mov.stderr and "--format mov-prores" in mov.stderr
    assert "prores_ks" in cli("render", str(spec), "-o", str(tmp_path / "o.mov"), "--format", "mov-prores",
                              "--dry-run").stdout
    clear = write_spec(tmp_path / "t.yaml", {"canvas": {**canvas(), "background": "transparent"},
                                             "clips": [{"duration": 1, "layers": [{"type": "text", "text": "x"}]}]})
    see_through = cli("render", str(clear), "-o", str(tmp_path / "t.mov"), "--dry-run")
    assert "prores_ks" in see_through.stdout and "transparent background is written as ProRes" in see_through.stderr
    assert "libx265" in cli("render", str(spec), "-o", str(tmp_path / "o.mp4"), "--format", "mp4-h265", "--dry-run").stdout


def test_frame_writes_a_png(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", {"canvas": canvas(), "clips": [{"duration": 2, "layers": [{"type": "color", "color": "#00ff00"}]}]})
    out = tmp_path / "f.png"
    result = cli("frame", str(spec), "--at", "1.0", "-o", str(out))
    assert result.returncode == 0, result.stderr
    img = np.asarray(Image.open(out))
    assert img.shape == (180, 320, 3) and abs(int(img[90, 160, 1]) - 255) < 6
    bad = cli("frame", str(spec), "--at", "9", "-o", str(out))
    assert bad.returncode == 2 and "outside the video" in bad.stderr


def test_probe_prints_json(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    result = cli("probe", str(video), "--count-frames")
    data = json.loads(result.stdout)
    assert data["duration"] == 2.0 and data["frames"] == 20
    assert data["streams"][0]["codec"] == "h264" and data["streams"][0]["width"] == 160
    missing = cli("probe", str(tmp_path / "nope.mp4"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_fonts_lists_bundled_families() -> None:
    out = cli("fonts").stdout
    for family in ("sans", "emoji", "cjk", "arabic", "hebrew"):
        assert any(line.split()[0] == family for line in out.splitlines()), family
