"""Procedural surfaces for backgrounds: wood, marble, concrete, paper and a studio sweep.

Each texture computes a float "shade" field from noise (see `imaging.noise`) and multiplies a base
colour by it, so a user's tint keeps the material's structure. Lengths are in `unit`s, pixels at
1080p times the user's scale, so the same seed looks the same at 1080p and at 4K.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from reelforge.imaging.noise import Shape, fbm, rng_for, smoothstep, value_noise

F32 = np.float32
DEFAULT_COLORS: dict[str, tuple[int, int, int]] = {
    "wood": (178, 124, 76),
    "marble": (238, 236, 232),
    "concrete": (160, 158, 152),
    "paper": (246, 241, 230),
    "studio": (232, 232, 235),
}


def _coords(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """Pixel row (h, 1) and column (1, w) vectors, for broadcasting instead of full grids."""
    h, w = shape
    return np.arange(h, dtype=F32)[:, None], np.arange(w, dtype=F32)[None, :]


def _tinted(shade: np.ndarray, base: np.ndarray, warmth: float = 0.0) -> np.ndarray:
    """base × shade per channel; `warmth` > 0 makes dark parts richer (as in wood and paper)."""
    if not warmth:
        return shade[..., None] * base[None, None, :]
    gamma = np.array([1 - warmth, 1.0, 1 + warmth], F32)
    return base * np.power(np.clip(shade, 0.0, 2.0)[..., None], gamma)


def wood(shape: Shape, base: np.ndarray, seed: int, unit: float) -> np.ndarray:
    """Horizontal planks: growth rings warped along the grain, fine fibre streaks, dark seams."""
    h, w = shape
    ys, _ = _coords(shape)
    plank_h = 270 * unit
    plank = np.floor(ys / plank_h).astype(np.int64)
    per_plank = rng_for(seed, 1).uniform(-1, 1, (int(h / plank_h) + 2, 2)).astype(F32)
    warp = fbm(rng_for(seed, 2), shape, (40 * unit, 700 * unit), octaves=4)
    rings = (ys + per_plank[plank, 0] * 900 * unit) / (38 * unit) + 1.3 * warp
    late_wood = np.power(F32(0.5) + F32(0.5) * np.cos(F32(2 * np.pi) * rings), 6)
    fibres = fbm(rng_for(seed, 3), shape, (1.6 * unit, 220 * unit), octaves=3)
    flecks = value_noise(rng_for(seed, 4), shape, (1.0 * unit, 14 * unit))
    to_edge = np.minimum(ys % plank_h, plank_h - ys % plank_h)
    seam = np.exp(-0.5 * (to_edge / F32(1.6 * unit)) ** 2)
    shade = 0.93 + 0.07 * per_plank[plank, 1] - 0.22 * late_wood + 0.05 * fibres + 0.025 * flecks
    return _tinted(shade * (1 - 0.55 * seam), base, warmth=0.12)


def _vein_lines(t: np.ndarray, width: float) -> np.ndarray:
    """Soft lines about `width` px wide (1 at the centre) where the warped coordinate `t` crosses
    an integer. The distance to the crossing is |sin(πt)| / (π|∇t|), so a vein keeps its width
    where the turbulence stretches or squeezes the field."""
    gy, gx = np.gradient(t)
    slope = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 3)  # smooth: the noise is piecewise cubic
    distance = np.abs(np.sin(F32(np.pi) * t)) / (F32(np.pi) * slope + F32(1e-6))
    return np.exp(-0.5 * (distance / F32(width)) ** 2)


def marble(shape: Shape, base: np.ndarray, seed: int, unit: float) -> np.ndarray:
    """White stone: soft clouds, long grey veins bent by turbulence, and a fainter, finer family."""
    ys, xs = _coords(shape)
    angle = rng_for(seed, 12).uniform(0.3, 0.9)
    turbulence = fbm(rng_for(seed, 10), shape, 700 * unit, octaves=6, gain=0.5)
    detail = fbm(rng_for(seed, 11), shape, 90 * unit, octaves=3)
    along = (xs * F32(np.cos(angle)) + ys * F32(np.sin(angle))) / F32(600 * unit)
    across = (xs * F32(np.cos(angle + 1.2)) + ys * F32(np.sin(angle + 1.2))) / F32(260 * unit)
    main = _vein_lines(along + 0.5 * turbulence + 0.03 * detail, 2.2 * unit)
    fine = _vein_lines(across + 0.7 * turbulence + 0.08 * detail, 1.0 * unit)
    presence = np.clip(0.35 + 0.5 * fbm(rng_for(seed, 13), shape, 320 * unit, octaves=3), 0.0, 1.0)
    vein = np.clip(0.75 * main * (0.4 + 0.6 * presence) + 0.35 * fine * presence, 0.0, 1.0)[..., None]
    body = _tinted(1.0 - 0.02 * turbulence - 0.012 * detail, base)
    return body * (1 - vein) + base * np.array([0.4, 0.42, 0.46], F32) * vein


def _pores(shape: Shape, seed: int, unit: float) -> np.ndarray:
    """A few small soft holes (air bubbles in the cast), count proportional to the area in units."""
    h, w = shape
    rng = rng_for(seed, 20)
    count = int(rng.poisson(90 * (h / unit) * (w / unit) / (1920 * 1080)))
    mask = np.zeros(shape, F32)
    for x, y, r in zip(rng.uniform(0, w, count), rng.uniform(0, h, count),
                       rng.uniform(1.2, 4.5, count) * unit, strict=True):
        cv2.circle(mask, (int(x * 16), int(y * 16)), max(1, int(r * 16)), 1.0, -1, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), 0.6 * unit)


def concrete(shape: Shape, base: np.ndarray, seed: int, unit: float) -> np.ndarray:
    """Grey cast: low-frequency mottling, mid blotches, fine aggregate speckle and a few pores."""
    mottle = fbm(rng_for(seed, 21), shape, 300 * unit, octaves=6, gain=0.55)
    blotch = fbm(rng_for(seed, 22), shape, 45 * unit, octaves=3)
    speckle = value_noise(rng_for(seed, 23), shape, 1.4 * unit)
    grit = np.clip(value_noise(rng_for(seed, 24), shape, 2.5 * unit) - 1.6, 0, None)
    shade = 1.0 + 0.065 * mottle + 0.025 * blotch + 0.035 * speckle - 0.18 * grit - 0.45 * _pores(shape, seed, unit)
    return _tinted(shade, base)


def paper(shape: Shape, base: np.ndarray, seed: int, unit: float) -> np.ndarray:
    """Warm off-white sheet: faint fibres in both directions, fine tooth and very soft clouding."""
    across = value_noise(rng_for(seed, 30), shape, (0.9 * unit, 16 * unit))
    down = value_noise(rng_for(seed, 31), shape, (16 * unit, 0.9 * unit))
    tooth = value_noise(rng_for(seed, 32), shape, 1.0 * unit)
    clouds = fbm(rng_for(seed, 33), shape, 260 * unit, octaves=4)
    shade = 0.985 + 0.009 * (across + down) + 0.007 * tooth + 0.008 * clouds
    return _tinted(shade, base, warmth=0.3)


def studio(shape: Shape, base: np.ndarray, seed: int, unit: float) -> np.ndarray:
    """Seamless sweep: bright wall curving into a slightly darker floor, lit from above the centre."""
    h, w = shape
    ys, xs = _coords(shape)
    v, u = ys / F32(h), xs / F32(w)
    horizon = F32(0.6)
    wall = 1.04 - 0.08 * v / horizon
    floor = 0.95 - 0.07 * (v - horizon) / (1 - horizon)
    sweep = smoothstep(float(horizon) - 0.16, float(horizon) + 0.1, v)
    aspect = F32(w / h)
    dist2 = ((u - 0.5) * aspect) ** 2 + (v - 0.35) ** 2
    light = 1 - 0.3 * np.power(dist2 / F32((0.5 * aspect) ** 2 + 0.65 ** 2), F32(1.2))
    unevenness = 0.008 * fbm(rng_for(seed, 40), shape, 400 * unit, octaves=3)
    return _tinted(((wall * (1 - sweep) + floor * sweep) * light + unevenness).astype(F32), base)


TEXTURES: dict[str, Callable[[Shape, np.ndarray, int, float], np.ndarray]] = {
    "wood": wood, "marble": marble, "concrete": concrete, "paper": paper, "studio": studio,
}
