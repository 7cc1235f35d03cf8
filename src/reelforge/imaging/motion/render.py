"""One entry point for the local provider: a mode and its inputs → an MP4 file (picklable
arguments, so it runs in the process pool)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from reelforge.imaging.motion.card import card
from reelforge.imaging.motion.encode import write_mp4
from reelforge.imaging.motion.extend import extend
from reelforge.imaging.motion.kenburns import kenburns
from reelforge.imaging.motion.morph import morph

FPS = 24


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def render_clip(out: Path, size: tuple[int, int], seconds: float, *, prompt: str = "", image: bytes | None = None,
                last_frame: bytes | None = None, video: Path | None = None, seed: int = 0) -> int:
    """Write the clip to `out`; returns the number of frames. The mode follows from the inputs:
    video → extension (+seconds), image + last_frame → morph, image → Ken Burns, else a card."""
    frames = max(2, round(seconds * FPS))
    if video is not None:
        source = extend(video, size, frames)
    elif image is not None and last_frame is not None:
        source = morph(decode(image), decode(last_frame), size, frames)
    elif image is not None:
        source = kenburns(decode(image), size, frames)
    else:
        source = card(prompt, size, frames, seed)
    return write_mp4(source, out, size, FPS)
