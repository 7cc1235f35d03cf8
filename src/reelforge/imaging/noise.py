"""Smooth random fields for procedural textures: value noise and its fractal sum (fBm).

A coarse grid of random values is upsampled with bicubic interpolation (OpenCV, so a 4K field
takes milliseconds); octaves of finer grids at falling amplitude add detail. Cell sizes are in
pixels and may differ per axis, which gives streaky, directional noise (wood grain, paper
fibres). Everything is float32 and depends only on the generator's state and the shape.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Shape = tuple[int, int]  # (height, width)
Cell = float | tuple[float, float]  # pixels per grid cell, or (along y, along x)


def rng_for(seed: int, salt: int) -> np.random.Generator:
    """An independent generator per texture component, so changing one never shifts the others."""
    return np.random.default_rng([seed, salt])


def _pair(cell: Cell) -> tuple[float, float]:
    return (float(cell), float(cell)) if isinstance(cell, (int, float)) else (float(cell[0]), float(cell[1]))


def value_noise(rng: np.random.Generator, shape: Shape, cell: Cell) -> np.ndarray:
    """Bicubically upsampled Gaussian grid: a smooth field of about unit scale, features ~`cell` px."""
    h, w = shape
    cy, cx = (max(c, 1.0) for c in _pair(cell))
    # Two spare cells on each side: the upsampler clamps at the grid border, which would flatten edges.
    gh, gw = math.ceil(h / cy) + 4, math.ceil(w / cx) + 4
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    big = cv2.resize(grid, (round(gw * cx), round(gh * cy)), interpolation=cv2.INTER_CUBIC)
    oy, ox = round(2 * cy), round(2 * cx)
    return big[oy:oy + h, ox:ox + w]


def fbm(rng: np.random.Generator, shape: Shape, cell: Cell, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of value noise (each octave half the cell size), scaled to zero mean, unit std.

    A field whose finest octave is coarse is summed on a smaller grid and upsampled once: the
    result looks the same and a 4K field costs one full-size resize instead of one per octave.
    """
    cy, cx = _pair(cell)
    shrink = [max(1, int(c / 2 ** (octaves - 1) // 4)) for c in (cy, cx)]
    small = (math.ceil(shape[0] / shrink[0]), math.ceil(shape[1] / shrink[1]))
    total = np.zeros(small, np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        ocy, ocx = cy / 2 ** octave, cx / 2 ** octave
        if max(ocy, ocx) < 1.0:
            break
        total += np.float32(amplitude) * value_noise(rng, small, (ocy / shrink[0], ocx / shrink[1]))
        amplitude *= gain
    total = standardize(total)
    if small == shape:
        return total
    return cv2.resize(total, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def standardize(field: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation (a constant field stays zero)."""
    field = field - np.float32(field.mean())
    std = float(field.std())
    return field / np.float32(std) if std > 0 else field


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)
