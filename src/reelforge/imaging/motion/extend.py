"""Extension offline: the clip's frames, then new ones continuing from its last frame (a gentle
Ken Burns move), as one stream — the same shape as Veo's extension (input + N seconds)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from reelforge.errors import InputError
from reelforge.imaging.motion.kenburns import kenburns


def extend(frames: Iterable[np.ndarray], size: tuple[int, int], more: int) -> Iterator[np.ndarray]:
    """Every frame of the clip (already at `size`), then `more` frames moving on from its last."""
    last: np.ndarray | None = None
    for frame in frames:
        last = frame
        yield frame
    if last is None:
        raise InputError("no frames could be read from the clip to extend", field="--extend",
                         hint="pass a playable video")
    yield from kenburns(last, size, more, zoom=1.1, pan=(-0.03, 0.01))
