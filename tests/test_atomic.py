"""One atomic writer: every output goes through reelforge.atomic (temp name beside it, then rename)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

import reelforge
from reelforge.atomic import save_image, write_text

SRC = Path(reelforge.__file__).parent


def test_no_other_module_renames_temp_files_itself() -> None:
    """(A finished file moved whole is allowed where the line says "atomic rename".)"""
    pattern = re.compile(r"os\.replace\(|\.partial\"|\.part\"|\.rename\(|\.replace\(\w+\)")
    offenders = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py") if p.name != "atomic.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line) and "atomic rename" not in line]
    assert not offenders, offenders


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.png"
    with pytest.raises(KeyError):
        save_image(Image.new("RGB", (4, 4)), target, format="NO-SUCH-FORMAT")
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_writes_land_whole(tmp_path: Path) -> None:
    write_text(tmp_path / "r.json", "{}")
    save_image(Image.new("RGBA", (3, 2)), tmp_path / "a.png")
    assert (tmp_path / "r.json").read_text() == "{}"
    assert Image.open(tmp_path / "a.png").size == (3, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "r.json"]


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_the_next_write_removes_parts_whose_writer_is_gone_and_only_those(tmp_path: Path) -> None:
    from reelforge.lifeline import owner_tag

    dead, live = owner_tag(_dead_pid()), owner_tag()
    other_host = f"{_dead_pid()}hffffff" if not owner_tag().endswith("ffffff") else f"{_dead_pid()}h000000"
    names = {f".clip.{dead}-abc123_x.part.mp4": False,       # killed writer: removed
             f".clip.{live}-abc123_y.part.mp4": True,        # a writer still running: kept
             f".clip.{other_host}-abc123_z.part.mp4": True,  # another machine's (shared folder): kept
             ".clip.mp4": True, ".notes.part.txt": True, "clip.part.mp4": True}
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    write_text(tmp_path / "r.json", "{}")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {n for n, kept in names.items() if kept} | {"r.json"}


def test_temp_folders_of_dead_owners_are_removed_by_the_next_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from reelforge.lifeline import owner_tag, temp_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"reelforge-render-{owner_tag(_dead_pid())}-k2j4h5_1"
    stale.mkdir()
    (stale / "segment.nut").write_bytes(b"x")
    other = tmp_path / "reelforge-something-else"
    other.mkdir()
    with temp_dir("render") as work:
        assert work.is_dir() and work.name.startswith(f"reelforge-render-{owner_tag()}-")
        assert not stale.exists() and other.exists()
    assert not work.exists()
