"""Write outputs atomically: to a temp file beside the target, renamed only when complete.

Every file reelforge writes for a user (videos, PNGs, reports) and every cache entry goes
through `atomic_output`, so a crash or `kill -9` never leaves a half-written file at the path."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.lifeline import is_stale, owner_tag

if TYPE_CHECKING:
    from PIL import Image


def _read_umask() -> int:
    """Read once at import: os.umask can only be read by setting it, which would race with
    threads creating files."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
# `.<stem>.<pid>h<host>-<rand>.part<suffix>`: the owner is in the name, so the next run can tell
# a temp file still being written from one a killed run left behind.
_PART = re.compile(r"^\..*\.(\d+)h([0-9a-f]{6})-[a-z0-9_]+\.part(\.[^.]*)?$")


_SWEEP_EVERY_S = 60.0
_swept: dict[str, float] = {}  # folder → when this process last swept it


def _sweep_now(folder: Path) -> bool:
    """At most one sweep of a folder a minute per process: a batch writing thousands of files
    into one folder must not rescan it for each."""
    key, now = str(folder), time.monotonic()
    if now - _swept.get(key, -_SWEEP_EVERY_S) < _SWEEP_EVERY_S:
        return False
    _swept[key] = now
    return True


def sweep_parts(folder: Path) -> list[Path]:
    """Remove `.part` temp files in `folder` whose writer (a process on this host) is gone."""
    removed: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _PART.match(entry.name) if entry.name.startswith(".") else None
            if match and is_stale(match[1], match[2]) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_output(output: Path) -> Iterator[Path]:
    """Yield a temp path in the target's folder (same filesystem, so the rename is atomic);
    rename it onto `output` if the block succeeds, delete it if it raises."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if _sweep_now(output.parent):
        sweep_parts(output.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.{owner_tag()}-", suffix=f".part{output.suffix}",
                               dir=output.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; outputs get the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(output: Path, text: str) -> None:
    """`output.write_text(text)` (UTF-8), atomically."""
    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_image(image: Image.Image, output: Path, format: str = "PNG", **options: Any) -> None:
    """`image.save(output, format, **options)`, atomically."""
    with atomic_output(output) as tmp:
        image.save(tmp, format=format, **options)
