"""Extension offline: the clip's frames, then new ones continuing from its last frame (a gentle
Ken Burns move), as one file — the same shape as Veo's extension (input + N seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from reelforge.imaging.motion.encode import read_frames
from reelforge.imaging.motion.kenburns import kenburns


def extend(video: Path, size: tuple[int, int], frames: int) -> Iterator[np.ndarray]:
    """Every frame of `video` (scaled to `size`), then `frames` more moving on from its last."""
    last: np.ndarray | None = None
    for frame in read_frames(video, size):
        last = frame
        yield frame
    if last is None:
        from reelforge.errors import InputError

        raise InputError(f"no frames could be read from {video}", field="video", hint="pass a playable video")
    yield from kenburns(last, size, frames, zoom=1.1, pan=(-0.03, 0.01))
