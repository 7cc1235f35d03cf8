"""Image-to-video as an eased Ken Burns move: a window that zooms in and drifts over the still,
eased in and out, never leaving it (no borders). Same geometry and resampler as the renderer's
Ken Burns layers (`warp.py`): one sub-pixel affine warp per frame from a source oversampled once
(as far as the image has pixels), so a zoom-in shows detail instead of enlarging pixels."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from reelforge.imaging.motion.warp import Move, affine, source_planes, yuv_frames


def ease(t: float) -> float:
    """Smoothstep: starts and ends at rest."""
    return t * t * (3 - 2 * t)


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The image scaled to cover `size` (w, h) and centre-cropped."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih)
    resized = cv2.resize(image, (max(w, round(iw * scale)), max(h, round(ih * scale))), interpolation=cv2.INTER_AREA
                         if scale < 1 else cv2.INTER_CUBIC)
    y, x = (resized.shape[0] - h) // 2, (resized.shape[1] - w) // 2
    return resized[y:y + h, x:x + w]


def _source(image: np.ndarray, size: tuple[int, int], zoom: float) -> np.ndarray:
    """The still covering `size` × up to `zoom`: oversampled only as far as it has pixels, so a
    frame already at `size` (a clip's last frame, to extend) stays exactly itself at frame 0."""
    w, h = size
    own = max(1.0, min(image.shape[1] / w, image.shape[0] / h))
    k = min(zoom, own)
    return cover(image, (max(w, 2 * round(w * k / 2)), max(h, 2 * round(h * k / 2))))


def _move(size: tuple[int, int], frames: int, zoom: float, pan: tuple[float, float]) -> Move:
    # pan is a fraction of the frame at the end of the move: the focus travels from the centre.
    return Move(1.0, zoom, (0.5, 0.5), (0.5 + pan[0], 0.5 + pan[1]), "smoothstep", frames)


def kenburns(image: np.ndarray, size: tuple[int, int], frames: int, *, zoom: float = 1.15,
             pan: tuple[float, float] = (0.04, -0.02)) -> Iterator[np.ndarray]:
    """`frames` RGB frames of `size` from an RGB still: zoom from 1 to `zoom` and pan by `pan`
    (fractions of the frame) with smoothstep easing. Frame 0 is the still, fitted to cover."""
    source = _source(image, size, zoom)
    move = _move(size, frames, zoom, pan)
    shape = (source.shape[1], source.shape[0])
    for n in range(frames):
        matrix = affine(move.window(n, shape), size)
        yield np.asarray(cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_REPLICATE))


def kenburns_yuv(image: np.ndarray, size: tuple[int, int], frames: int, *, zoom: float = 1.15,
                 pan: tuple[float, float] = (0.04, -0.02)) -> Iterator[memoryview]:
    """The same move as raw yuv420p frames (BT.709 limited range), for the encoder directly."""
    source = _source(image, size, zoom)
    yield from yuv_frames(source_planes(source), _move(size, frames, zoom, pan), size)
