"""Estimate a studio backdrop from the image border.

Generated product shots sit on a plain backdrop: pure white, off-white with noise, or a soft
gradient/vignette. We sample a band along the border, fit a low-order polynomial surface per
channel to it (robustly, so a subject touching the border does not bend the fit), and evaluate
that surface everywhere. The fit's residuals tell how uniform/smooth the backdrop is (`auto`
uses that to choose keying) and give the noise level the keying thresholds scale with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FloatImage = np.ndarray  # H×W×3 float32 in 0..1


@dataclass(frozen=True)
class Backdrop:
    """A fitted backdrop: the surface `plate` (H×W×3; a read-only broadcast view when uniform),
    how it was fitted and how well."""

    plate: FloatImage
    degree: int  # 0 = uniform colour, 2/3 = gradient or vignette surface
    noise: float  # robust std of border residuals (0..1 units, per channel)
    outliers: float  # share of border pixels that do not fit (subject touching the border, clutter)
    mean_color: tuple[float, float, float]

    @property
    def is_keyable(self) -> bool:
        """Plain enough to key exactly: low residual noise and a border that is mostly backdrop."""
        return self.noise < 4 / 255 and self.outliers < 0.10


def border_band(height: int, width: int) -> int:
    """Width in px of the border band we sample: 2 % of the short side, at least 2 px."""
    return max(2, round(min(height, width) * 0.02))


def _border_samples(img: np.ndarray, band: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates (normalized to -1..1) and colours (0..1) of the border band, every `step` px."""
    h, w, _ = img.shape
    ys, xs = np.meshgrid(np.arange(0, h, step), np.arange(0, w, step), indexing="ij")
    on_border = (ys < band) | (ys >= h - band) | (xs < band) | (xs >= w - band)
    ys, xs = ys[on_border], xs[on_border]
    colours = img[ys, xs].astype(np.float32)
    if img.dtype == np.uint8:
        colours /= 255.0
    return xs / max(w - 1, 1) * 2 - 1, ys / max(h - 1, 1) * 2 - 1, colours


def _terms(degree: int) -> list[tuple[int, int]]:
    """Exponents (i, j) of the polynomial terms x^i y^j with i + j <= degree, in coefficient order."""
    return [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]


def _design(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial terms x^i y^j with i + j <= degree."""
    cols = [x**i * y**j for i, j in _terms(degree)]
    return np.stack(cols, axis=-1).astype(np.float64)


def _near_median(values: np.ndarray) -> np.ndarray:
    """Samples near the median colour: where a fit starts, so a subject filling part of the border
    cannot drag the first fit."""
    off_median = np.abs(values - np.median(values, axis=0)).max(axis=1)
    return off_median < max(4 * 1.4826 * float(np.median(off_median)), 0.08)


def _robust_fit(design: np.ndarray, values: np.ndarray, keep: np.ndarray,
                rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Least squares from the samples `keep`, dropping outliers (subject pixels on the border)
    round by round."""
    coef = np.zeros((design.shape[1], values.shape[1]))
    for _ in range(rounds):
        if keep.sum() < design.shape[1] * 4:
            break
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        resid = np.abs(values - design @ coef).max(axis=1)
        scale = 1.4826 * np.median(resid[keep]) + 1.5 / 255
        keep = resid < max(4 * scale, 6 / 255)
    return coef, keep


def _evaluate(coef: np.ndarray, degree: int, height: int, width: int) -> FloatImage:
    """The surface on the full grid as one matrix product: the powers of y (H × d+1) times, for
    each power y^j, the polynomial in x it multiplies (d+1 × W·C)."""
    if degree == 0:  # one colour: a read-only broadcast view, no H×W×3 array
        return np.broadcast_to(np.clip(coef[0], 0.0, 1.0).astype(np.float32), (height, width, coef.shape[1]))
    ys = np.linspace(-1, 1, height)[:, None] ** np.arange(degree + 1)
    xs = np.linspace(-1, 1, width)[:, None] ** np.arange(degree + 1)
    channels = coef.shape[1]
    rows = np.zeros((degree + 1, width, channels))  # row j: the x-polynomial multiplying y^j
    for k, (i, j) in enumerate(_terms(degree)):
        rows[j] += xs[:, i, None] * coef[k]
    plate = (ys.astype(np.float32) @ rows.reshape(degree + 1, -1).astype(np.float32)).reshape(height, width, channels)
    return np.clip(plate, 0.0, 1.0, out=plate)


def fit_backdrop(img: np.ndarray) -> Backdrop:
    """Fit the simplest surface (uniform, then degree 2, then 3) that explains the border of `img`
    (H×W×3, uint8 or float 0..1: only the border is read)."""
    h, w, _ = img.shape
    band = border_band(h, w)
    step = max(1, round(np.sqrt(2 * (h + w) * band / 5000)))  # ~5k samples whatever the size
    x, y, values = _border_samples(img, band, step)
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    start = _near_median(values)
    for degree in (0, 2, 3):
        coef, keep = _robust_fit(_design(x, y, degree), values, start)
        resid = values[keep] - _design(x[keep], y[keep], degree) @ coef
        noise = float(1.4826 * np.median(np.abs(resid - np.median(resid, axis=0)))) if keep.any() else 1.0
        if best is None or noise < best[0] * 0.8:  # a higher degree must earn its keep
            best = (noise, degree, coef, keep)
        if best[0] <= 0.5 / 255:  # already exact (a flat colour): nothing to gain from a surface
            break
    assert best is not None
    noise, degree, coef, keep = best
    plate = _evaluate(coef, degree, h, w)
    mean = tuple(float(v) for v in values[keep].mean(axis=0)) if keep.any() else (1.0, 1.0, 1.0)
    return Backdrop(plate=plate, degree=degree, noise=max(noise, 0.5 / 255), outliers=float(1 - keep.mean()),
                    mean_color=(mean[0], mean[1], mean[2]))
