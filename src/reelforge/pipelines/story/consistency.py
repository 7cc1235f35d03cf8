"""How much a keyframe still looks like the character: the character's colours (an H-S histogram
of its cut-out from the reference image) against the colours of the keyframe, read from the
best-matching window of the frame, so a small character in a big scene is found where it stands
and the background does not dilute it. 1.0 = the same colour distribution, 0 = none in common.

Cheap and model-free on purpose: it catches the drift that matters most in practice (the
character turning another colour, or vanishing), and it runs offline."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from reelforge.pipelines.story.characters import subject_mask

WORK = 256
BINS = (18, 8)


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        rgb.thumbnail((WORK, WORK))
        return np.asarray(rgb)


def _hist(rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    m = None if mask is None else mask.astype(np.uint8)
    hist = cv2.calcHist([hsv], [0, 1], m, list(BINS), [0, 180, 0, 256]).astype(np.float32)
    return hist / max(float(hist.sum()), 1.0)


def character_histogram(reference: bytes) -> np.ndarray:
    rgb = _rgb(reference)
    return _hist(rgb, subject_mask(rgb))


def consistency(reference: bytes, keyframe: bytes) -> float:
    """Histogram intersection of the character's colours with the best window of the keyframe
    (windows from an eighth of the frame's sides up to the whole frame, on a grid)."""
    target = character_histogram(reference)
    frame = _rgb(keyframe)
    h, w = frame.shape[:2]
    best = 0.0
    for scale, steps in ((1 / 8, 15), (1 / 5, 9), (1 / 3, 5), (1 / 2, 3), (1.0, 1)):
        wh, ww = max(8, int(h * scale)), max(8, int(w * scale))
        for y in np.linspace(0, h - wh, steps).astype(int):
            for x in np.linspace(0, w - ww, steps).astype(int):
                window = _hist(np.ascontiguousarray(frame[y:y + wh, x:x + ww]))
                best = max(best, float(np.minimum(target, window).sum()))
    return round(best, 4)
