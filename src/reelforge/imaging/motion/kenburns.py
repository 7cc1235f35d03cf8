"""Image-to-video as an eased Ken Burns move: the still is cropped by a window that zooms in and
drifts, eased in and out (no black borders: the zoom always covers the pan)."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np


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


def kenburns(image: np.ndarray, size: tuple[int, int], frames: int, *, zoom: float = 1.15,
             pan: tuple[float, float] = (0.04, -0.02)) -> Iterator[np.ndarray]:
    """`frames` frames of `size` from an RGB still: zoom from 1 to `zoom` and pan by `pan`
    (fractions of the frame) with smoothstep easing. Frame 0 is the still, fitted to cover."""
    base = cover(image, size)
    w, h = size
    for n in range(frames):
        t = ease(n / max(1, frames - 1))
        scale = 1 + (zoom - 1) * t
        dx, dy = pan[0] * w * t, pan[1] * h * t
        # scale about the centre, then shift: x' = s·(x − c) + c − d
        matrix = np.array([[scale, 0, (1 - scale) * w / 2 - dx * scale],
                             [0, scale, (1 - scale) * h / 2 - dy * scale]], np.float32)
        yield np.asarray(cv2.warpAffine(base, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT))
