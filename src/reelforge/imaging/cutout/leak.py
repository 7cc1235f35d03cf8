"""Backdrop left in a cut-out: ghost strips and rim smears, seen against the source photo.

The halo score compares edge colours with the subject's own; it cannot see a strip of the
backdrop that the mask kept (the flag beside the astronaut in scikit-image's `astronaut.png`) or
a soft band spread over the backdrop along a rim (the saucer in `coffee.png`): their colours are
coherent, only they are the *backdrop's*. So each kept pixel near the outline is asked where its
colour in the source comes from — the clear backdrop nearby, or the solid subject nearby. A kept
pixel explained by the backdrop is leaked backdrop; its alpha mass, measured as a thickness along
the outline (px of leak per px of edge, worst window), scores the fault:

    ghost  — leaked pixels kept nearly opaque, or lying away from the subject's rim (strips)
    smear  — leaked pixels semi-transparent on the rim (a band spread outwards)

A clean matte scores well under a pixel (its anti-aliased edge mixes both colours); a strip or a
smear a few pixels wide scores its width."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CORE = 8  # px inside the outline: the solid subject whose colours are the reference
RIM = 5  # px outside the solid subject: a semi-transparent leak closer than this is a smear
WINDOW = 48  # px: leak thickness is measured per window of outline this wide
SEARCH = 16  # px: how far a kept pixel looks for subject colours like its own
SUBJECT_MATCH = 30.0  # colour distance (0-255 RGB) under which a kept pixel matches the subject
MAX_SIDE = 768  # larger cut-outs are checked downscaled (scores are rescaled to full-size px)
GHOST_PX = 3.0  # thresholds (px of leak thickness) above which the QA flags a cut-out
SMEAR_PX = 8.0  # a clean edge measures 1-3, an exact synthetic alpha up to 4.3; the refine smear 13.5


@dataclass(frozen=True)
class Leak:
    ghost_px: float
    smear_px: float
    worst: tuple[int, int] | None  # (x, y) of the worst window's centre, full-size px

    @property
    def flags(self) -> list[str]:
        return [name for name, value, limit in (("ghost-strip", self.ghost_px, GHOST_PX),
                                                ("rim-smear", self.smear_px, SMEAR_PX)) if value >= limit]


def backdrop_leak(alpha: np.ndarray, source: np.ndarray) -> Leak:
    """`alpha` 0..1 (H×W) of a cut-out and the RGB `source` (H×W×3, 0..255) it was cut from."""
    scale = min(1.0, MAX_SIDE / max(alpha.shape))
    if scale < 1.0:
        size = (round(alpha.shape[1] * scale), round(alpha.shape[0] * scale))
        alpha = cv2.resize(alpha.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        source = cv2.resize(source.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    a = alpha.astype(np.float32)
    c = source.astype(np.float32)
    body = (a > 0.5).astype(np.uint8)
    if body.sum() < 16 or body.all():
        return Leak(0.0, 0.0, None)
    inside = cv2.distanceTransform(body, cv2.DIST_L2, 5)  # distance to the nearest non-body pixel
    outside = _distance_to(body.astype(bool))  # distance to the body
    candidates = (a > 0.05) & (inside <= CORE)
    clear = (a <= 0.02) & (_distance_to(a > 0.02) >= 3)  # backdrop clear of any edge mix
    core = inside > CORE
    # ghost: kept pixels coloured like the backdrop and unlike the subject right beside them
    leaked = (candidates & _backdrop_coloured(c, clear, core)
              & (_nearest_colour(c, candidates, core) > SUBJECT_MATCH))
    ghost = np.where(leaked, a, 0.0).astype(np.float32)
    # smear: the soft band spread outside the solid outline (an anti-aliased edge is ~1 px)
    smear = ((a > 0.05) & (a < 0.5) & (outside <= 4 * RIM)).astype(np.float32)
    outline = body.astype(bool) & (inside <= 1.0)
    g, g_at = _thickness(ghost, outline)
    s, s_at = _thickness(smear, outline)
    at = g_at if g >= s else s_at
    return Leak(round(g / scale, 2), round(s / scale, 2),
                None if at is None else (round(at[0] / scale), round(at[1] / scale)))


def _distance_to(mask: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def _near(mask: np.ndarray, px: int) -> np.ndarray:
    return _distance_to(mask) <= px


def _backdrop_coloured(c: np.ndarray, backdrop: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """Pixels whose colour the backdrop explains far better than the subject: colour histograms
    (16 levels a channel, smoothed) of the clear backdrop and of the solid subject core, and a
    likelihood ratio — a colour both share (a white collar by a white flag stripe) is not leak."""
    bins = (c // 16).astype(np.int32).clip(0, 15)
    index = (bins[..., 0] * 16 + bins[..., 1]) * 16 + bins[..., 2]
    p_back, p_subject = _colour_model(index, backdrop), _colour_model(index, subject)
    if p_back is None:
        return np.zeros(index.shape, bool)
    if p_subject is None:
        return p_back[index] > 1e-4
    return (p_back[index] > 1e-4) & (p_back[index] > RATIO * p_subject[index])


RATIO = 4.0  # how much likelier under the backdrop's colours a leaked pixel must be


def _colour_model(index: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    if mask.sum() < 64:
        return None
    hist = np.bincount(index[mask], minlength=4096).astype(np.float32).reshape(16, 16, 16)
    hist = _blur3(hist)
    return (hist / hist.sum()).reshape(-1)


def _blur3(volume: np.ndarray) -> np.ndarray:
    """A 3×3×3 box blur (neighbouring colour bins share their counts)."""
    out = volume.copy()
    for axis in range(3):
        padded = np.pad(out, [(1, 1) if a == axis else (0, 0) for a in range(3)])
        out = (np.take(padded, range(0, out.shape[axis]), axis=axis) + np.take(padded, range(1, out.shape[axis] + 1), axis=axis)
               + np.take(padded, range(2, out.shape[axis] + 2), axis=axis)) / 3.0
    return out


def _nearest_colour(c: np.ndarray, at: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per pixel of `at`: the smallest colour distance to a `reference` pixel within SEARCH px
    (on a grid of offsets 2 px apart); inf where none is that near."""
    h, w = at.shape
    out = np.full(at.shape, np.inf, np.float32)
    ys, xs = np.nonzero(at)
    if len(ys) == 0 or not reference.any():
        return out
    colours = c[ys, xs]
    best = np.full(ys.shape, np.inf, np.float32)
    for dy in range(-SEARCH, SEARCH + 1, 2):
        for dx in range(-SEARCH, SEARCH + 1, 2):
            if dy * dy + dx * dx > SEARCH * SEARCH:
                continue
            ny, nx = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            ok = reference[ny, nx]
            if ok.any():
                d = np.sqrt(((c[ny, nx] - colours) ** 2).sum(axis=1))
                best = np.where(ok, np.minimum(best, d), best)
    out[ys, xs] = best
    return out


def _thickness(mass: np.ndarray, outline: np.ndarray) -> tuple[float, tuple[int, int] | None]:
    """The worst window's mass per px of outline in it (at least half a window of outline
    counts, so a detached strip far from the outline still scores), and where it is."""
    if not mass.any():
        return 0.0, None
    summed = cv2.boxFilter(mass, -1, (WINDOW, WINDOW), normalize=False, borderType=cv2.BORDER_CONSTANT)
    edge = cv2.boxFilter(outline.astype(np.float32), -1, (WINDOW, WINDOW), normalize=False,
                         borderType=cv2.BORDER_CONSTANT)
    ratio = summed / np.maximum(edge, WINDOW / 2)
    y, x = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return float(ratio[y, x]), (int(x), int(y))
