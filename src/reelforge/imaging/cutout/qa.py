"""Checks on a finished cut-out, as numbers and flags a batch summary can show."""

from __future__ import annotations

import cv2
import numpy as np

from reelforge.imaging.cutout.result import QAReport


def edge_band(alpha: np.ndarray, width: int = 2) -> np.ndarray:
    partial = (alpha > 0.02) & (alpha < 0.98)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.dilate(partial.astype(np.uint8), kernel).astype(bool) & (alpha > 0.02)


def halo_score(alpha: np.ndarray, foreground: np.ndarray) -> float:
    """Mean colour error (0-255) of the edge band over black: how far edge colours stray from the
    subject colour just inside. A white fringe left by a white backdrop scores high."""
    ys, xs = np.nonzero(alpha > 0.02)
    if len(ys) == 0:
        return 0.0
    box = np.s_[ys.min():ys.max() + 1, xs.min():xs.max() + 1]  # nothing outside the subject's box counts
    alpha, foreground = alpha[box], foreground[box]
    band = edge_band(alpha)
    solid = alpha >= 0.98
    if not band.any() or not solid.any():
        return 0.0
    _, nearest = cv2.distanceTransformWithLabels((~solid).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    solid_ys, solid_xs = np.nonzero(solid)
    band_ys, band_xs = np.nonzero(band)
    k = nearest[band_ys, band_xs] - 1
    inner = foreground[solid_ys[k], solid_xs[k]]
    err = alpha[band_ys, band_xs, None] * np.abs(foreground[band_ys, band_xs] - inner)
    return float(err.mean() * 255)


def assess(alpha: np.ndarray, foreground: np.ndarray) -> QAReport:
    coverage = float(alpha.mean())
    flags: list[str] = []
    if (alpha > 0.5).sum() < max(16, alpha.size * 0.001):
        flags.append("empty-mask")
    elif (alpha > 0.5).mean() > 0.98:
        flags.append("full-mask")
    border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
    if "full-mask" not in flags and (border > 0.5).mean() > 0.01:
        flags.append("touches-border")
    return QAReport(coverage=coverage, halo=halo_score(alpha, foreground) if "empty-mask" not in flags else 0.0,
                    flags=flags)
