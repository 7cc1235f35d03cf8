"""Ken Burns frames straight in the encoder's pixel format: one affine warp per plane per frame.

The move is the renderer's KenBurns (zoom and focus, eased): for each output frame the window
`W/z × H/z` centred on the eased focus is resampled to the box in one pass, at sub-pixel
precision (OpenCV `warpAffine`, fixed-point SIMD, no integer rounding of the offset).

Why this shape (BENCHMARKS.md, "Motion"): the still is converted to BT.709 limited-range
yuv420p once per layer, so each frame costs one bilinear pass over 1.5 bytes a pixel at the
*output* size — not an RGBA pass at the oversampled size followed by a downscale, which is what
ffmpeg's `perspective` + `scale` did (and perspective recomputes its coordinate table, one
double-precision division per pixel, on every frame). Frames go to ffmpeg as raw yuv420p
through a pipe, so nothing is cached: one source and one output frame per moving layer.

Coordinates: pixel centres. Output pixel x (0-based) samples source x' = s·(x + ½) + left − ½
with s = (W/z)/box_w; chroma (4:2:0, centre-sited) uses the same map on its half grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

Easing = str
_EASINGS = {
    "linear": lambda p: p,
    "ease-in": lambda p: p * p,
    "ease-out": lambda p: 1 - (1 - p) * (1 - p),
    "ease-in-out": lambda p: (1 - math.cos(math.pi * p)) / 2,
    "smoothstep": lambda p: p * p * (3 - 2 * p),
}
INTERPOLATION = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}


def eased(easing: Easing, n: int, frames: int) -> float:
    """Progress 0..1 of frame n of `frames` (the last frame reaches 1)."""
    return _EASINGS[easing](min(n / max(1, frames - 1), 1.0))


@dataclass(frozen=True)
class Move:
    """A zoom from `zoom_from` to `zoom_to` while the window's centre travels from `focus_from`
    to `focus_to` (fractions of the source), over `frames` frames with `easing`."""

    zoom_from: float
    zoom_to: float
    focus_from: tuple[float, float]
    focus_to: tuple[float, float]
    easing: Easing
    frames: int

    def window(self, n: int, source: tuple[int, int]) -> tuple[float, float, float, float]:
        """(left, top, width, height) of frame n's window in source pixels, kept inside the image."""
        w, h = source
        e = eased(self.easing, n, self.frames)
        z = self.zoom_from + (self.zoom_to - self.zoom_from) * e
        fx = self.focus_from[0] + (self.focus_to[0] - self.focus_from[0]) * e
        fy = self.focus_from[1] + (self.focus_to[1] - self.focus_from[1]) * e
        ww, wh = w / z, h / z
        cx = min(max(fx * w, ww / 2), w - ww / 2)
        cy = min(max(fy * h, wh / 2), h - wh / 2)
        return cx - ww / 2, cy - wh / 2, ww, wh


def affine(window: tuple[float, float, float, float], box: tuple[int, int], step: int = 1) -> np.ndarray:
    """Output pixel → source pixel (centres); step 2 for the half-size chroma planes."""
    left, top, ww, wh = window
    sx, sy = ww / box[0], wh / box[1]
    if step == 1:
        return np.array([[sx, 0.0, sx / 2 + left - 0.5], [0.0, sy, sy / 2 + top - 0.5]], np.float64)
    # Chroma sample i sits at luma 2i + ½ (centre-sited 4:2:0); its source luma position
    # s·(2i + 1) + left − ½ is chroma position (that − ½)/2 = s·i + (s + left − 1)/2.
    tx, ty = (sx + left - 1) / 2, (sy + top - 1) / 2
    return np.array([[sx, 0.0, tx], [0.0, sy, ty]], np.float64)


# BT.709 limited range, as rows Y, U, V over R, G, B plus an offset (ITU-R BT.709-6, 8 bit).
_KR, _KB = 0.2126, 0.0722
_KG = 1 - _KR - _KB
_RGB_TO_YUV709 = np.array([
    [_KR * 219 / 255, _KG * 219 / 255, _KB * 219 / 255, 16],
    [-_KR / (2 - 2 * _KB) * 224 / 255, -_KG / (2 - 2 * _KB) * 224 / 255, 0.5 * 224 / 255, 128],
    [0.5 * 224 / 255, -_KG / (2 - 2 * _KR) * 224 / 255, -_KB / (2 - 2 * _KR) * 224 / 255, 128],
], np.float32)


def rgb_to_yuv420(rgb: np.ndarray) -> list[np.ndarray]:
    """BT.709 limited-range Y, U, V planes (U/V averaged over 2×2, centre-sited) from RGB uint8.
    One OpenCV pass in uint8 (rounded, saturated): a float32 copy of a 2304x1296 still was
    112 MB at its peak against 24 MB, and 3.5× the time; the results differ by at most 1 level."""
    h, w = rgb.shape[:2]
    yuv = cv2.transform(np.ascontiguousarray(rgb), _RGB_TO_YUV709)
    uv = cv2.resize(yuv[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(yuv[..., 0]), np.ascontiguousarray(uv[..., 0]), np.ascontiguousarray(uv[..., 1])]


def source_planes(rgb: np.ndarray, alpha: np.ndarray | None = None) -> list[np.ndarray]:
    """The planes a move is warped from: Y, U, V (and A for yuva420p)."""
    planes = rgb_to_yuv420(rgb)
    return planes + ([alpha] if alpha is not None else [])


def frame_bytes(box: tuple[int, int], alpha: bool = False) -> int:
    w, h = box
    return w * h * (2 if alpha else 1) + 2 * (w // 2) * (h // 2)


def yuv_frames(planes: list[np.ndarray], move: Move, box: tuple[int, int], *,
               interpolation: str = "linear", seen: tuple[int, int] | None = None) -> Iterator[memoryview]:
    """The move's frames as raw yuv420p (yuva420p with 4 planes), one reused buffer each:
    a consumer must write a frame out before asking for the next. Frames outside `seen`
    ([first, end)) are sent blank (all zeros), not drawn: the render trims them away unseen."""
    w, h = box
    source = (planes[0].shape[1], planes[0].shape[0])
    buffer = np.zeros(frame_bytes(box, len(planes) == 4), np.uint8)
    luma, chroma = w * h, (w // 2) * (h // 2)
    shapes = [(h, w), (h // 2, w // 2), (h // 2, w // 2), (h, w)][:len(planes)]
    offsets = [0, luma, luma + chroma, luma + 2 * chroma]
    views = [buffer[o:o + s[0] * s[1]].reshape(s) for o, s in zip(offsets, shapes)]
    flags = INTERPOLATION[interpolation] | cv2.WARP_INVERSE_MAP
    first, end = seen or (0, move.frames)
    blank = False
    for n in range(move.frames):
        if not first <= n < end:
            if not blank:  # after the drawn frames the buffer holds a picture: clear it once
                buffer[:] = 0
                blank = True
            yield buffer.data
            continue
        blank = False
        window = move.window(n, source)
        for i, (plane, view) in enumerate(zip(planes, views)):
            matrix = affine(window, box, 2 if i in (1, 2) else 1)
            cv2.warpAffine(plane, matrix, (view.shape[1], view.shape[0]), dst=view, flags=flags,
                           borderMode=cv2.BORDER_REPLICATE)
        yield buffer.data
