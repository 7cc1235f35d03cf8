"""Content-addressed cache for prepared stills: a rerun never re-renders the same text/image."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from reelforge.atomic import save_image, write_text
from reelforge.canonical import digest
from reelforge.settings import get_settings

PREPARE_VERSION = 2  # bump when the way stills are drawn changes (2: notes sidecars)


@lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: str) -> str:
    st = os.stat(path)
    return _file_digest(path, st.st_size, st.st_mtime_ns)


def still_key(params: dict[str, Any]) -> str:
    """The cache key of a prepared still: the digest of everything that decides its pixels
    (a value the canonical serializer cannot spell exactly is an error, not a guess)."""
    return digest({"v": PREPARE_VERSION, **params})


def stills_dir() -> Path:
    path = get_settings().cache_dir / "stills"
    path.mkdir(parents=True, exist_ok=True)
    return path


def still_path(key: str) -> str:
    """Where the prepared still for `key` is (or will be) cached."""
    return str(stills_dir() / key[:2] / f"{key}.png")


def cached_still(key: str, draw: Callable[[], Image.Image], notes: list[str] | None = None,
                 where: str = "") -> str:
    """Return the PNG for `key`, drawing and writing it (atomically) if it isn't cached yet.

    `notes`: what drawing it had to say (text that runs off the frame, …) — whatever `draw`
    appends to it is kept next to the PNG and appended again on a cache hit, so a re-render
    warns like the first one without drawing anything. `where` (`clips[3]`) is stored as a
    placeholder: the same still may be drawn for another clip of another timeline."""
    target = Path(still_path(key))
    sidecar = target.with_suffix(".notes.json")
    if target.is_file():
        if notes is not None and sidecar.is_file():
            notes.extend(n.replace("{where}", where) for n in json.loads(sidecar.read_text(encoding="utf-8")))
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    before = len(notes) if notes is not None else 0
    image: Image.Image = draw()
    if notes is not None and len(notes) > before:
        write_text(sidecar, json.dumps([n.replace(where, "{where}", 1) if where else n for n in notes[before:]]))
    save_image(image, target, compress_level=1)  # last: a PNG on disk means its notes are too
    return str(target)
