"""Ken Burns layers as fed inputs: the prepared still, warped frame by frame in the output's
pixel format by `reelforge.imaging.motion.warp`, piped into the render's ffmpeg as raw video.

Chosen over ffmpeg's `perspective` filter (the previous path, still the fallback where pipes
cannot be inherited): the same sub-pixel move at about a sixth of its CPU (BENCHMARKS.md,
"Motion"), so a moving still costs little more than encoding the motion itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reelforge.errors import InputError
from reelforge.spec.timeline import KenBurns


@dataclass(frozen=True)
class MotionFeed:
    """The raw frames of one Ken Burns layer: `frames` frames of `box`, yuv420p (yuva420p
    with `alpha`). Loads its still only when ffmpeg starts reading."""

    path: str
    box: tuple[int, int]
    motion: KenBurns
    frames: int
    alpha: bool = False
    interpolation: str = "linear"
    # The frames [first, end) the render keeps; the others (before a single frame, outside a
    # segment) are trimmed away unseen: sent blank, not drawn. None: all of them.
    seen: tuple[int, int] | None = None

    def chunks(self) -> Iterator[memoryview]:
        import numpy as np
        from PIL import Image

        from reelforge.imaging.motion.warp import Move, source_planes, yuv_frames

        try:
            with Image.open(self.path) as img:
                rgba = img.convert("RGBA") if self.alpha else None
                rgb = np.asarray((rgba or img).convert("RGB"))
        except (OSError, SyntaxError, ValueError) as exc:  # a picture read as it is (prepare.py)
            raise InputError(f"image file is corrupt or truncated: {self.path} ({exc})",
                             hint="re-export or re-download the image") from None
        alpha = np.ascontiguousarray(np.asarray(rgba)[..., 3]) if rgba is not None else None
        start, end = self.motion.reachable_path()
        move = Move(self.motion.zoom_from, self.motion.zoom_to, start, end, self.motion.easing, self.frames)
        yield from yuv_frames(source_planes(rgb, alpha), move, self.box, interpolation=self.interpolation,
                              seen=self.seen)
