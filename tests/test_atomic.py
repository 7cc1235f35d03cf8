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
