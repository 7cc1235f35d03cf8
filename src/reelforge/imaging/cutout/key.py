"""`key`: exact background removal for plain backdrops, no model needed (an ML mask helps).

1. Fit the backdrop `B` from the border (`background.fit_backdrop`).
2. Pixels within the noise of `B` (and whose 7x7 mean is too: a flat white rim on a grainy
   off-white backdrop is within the grain but steadily off it) are background candidates.
   Everything outside the box around the rest is backdrop; steps 3-6 work inside that box only.
   With an ML mask, candidates deep inside its confident subject area are subject (white parts
   on white). Candidates connected to the edge are the backdrop; enclosed ones are holes (mug
   handle, headphone band) unless they are tiny (specular highlights) or the mask says subject.
3. Soft drop shadows (darker copies of `B`, no sharp edges, touching the backdrop) are backdrop
   too, or semi-transparent black with `keep_shadow`. Shadow-hued regions cut off from the
   backdrop (between converging stems) are backdrop when they fade and the ML mask agrees.
4. Next to the subject, `B` is re-estimated from the background pixels actually there (shadowed,
   grainy, JPEG-rung), so edges are measured against the backdrop as it is.
5. Alpha on the edge band only (solid pixels deeper in are opaque): each band pixel read as a mix
   `a F + (1 - a) B` with `F` the nearby solid colour that explains it best, or projected onto
   `F - B` for a Gaussian average `F` of solid pixels where none is in reach (thin strokes).
6. The colour is un-composited, `F = (C - (1 - a) B) / a`, so edges carry no trace of the
   backdrop (no white fringe over a dark background).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from reelforge.imaging.cutout.background import Backdrop, fit_backdrop

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@dataclass
class KeyOutput:
    alpha: np.ndarray  # H×W float32 0..1
    foreground: np.ndarray  # H×W×3 float32 0..1, un-composited colours
    backdrop: Backdrop
    details: dict[str, Any] = field(default_factory=dict)


def _components(mask: np.ndarray, connectivity: int) -> tuple[int, np.ndarray, np.ndarray]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=connectivity)
    return n, labels, stats


def _touching_edge(labels: np.ndarray) -> np.ndarray:
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return np.unique(edge[edge > 0])


@dataclass
class _ShadowCues:
    looks: np.ndarray  # darker than the backdrop, same hue, smooth, away from sharp edges
    shade: np.ndarray  # mean ratio to the backdrop
    grad: np.ndarray  # luma gradient magnitude per px


def _shadow_cues(rgb: np.ndarray, plate: np.ndarray, noise: float) -> _ShadowCues:
    """Where a soft drop shadow could be: darker, same-hue copies of the backdrop with no sharp
    edge nearby (these need no ML mask, so they are worked out while the model runs)."""
    ratio = rgb / np.maximum(plate, 1e-3)
    r, g, b = ratio[..., 0], ratio[..., 1], ratio[..., 2]  # per-channel maths: axis reductions are slow
    spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    shade = (r + g + b) / 3
    luma = cv2.GaussianBlur(rgb @ LUMA, (0, 0), 0.8)
    grad = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)) / 8
    # a sharp edge rises over a few px: local range / gradient is small. Shadows fade over many.
    window = np.ones((15, 15), np.uint8)
    local_range = cv2.dilate(luma, window) - cv2.erode(luma, window)
    sharp = (grad > 0.004 + 1.2 * noise) & (local_range < 6.0 * grad)
    sharp = cv2.dilate(sharp.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    looks = (spread < 0.05 + 4 * noise) & (shade > 0.3) & (shade < 1.0) & (grad < 0.03) & ~sharp
    return _ShadowCues(looks=looks, shade=shade, grad=grad)


def _shadow_mask(cues: _ShadowCues, near_bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shadow, candidate): soft drop shadows are the shadow-looking regions that touch the
    backdrop and fade in softly. A light or grey subject looks the same inside, so each region
    must also *fade*: its depth over its steepest gradient gives a blur width, and only a blur of
    several pixels is a shadow (product edges are sharp, even on white)."""
    shade, grad = cues.shade, cues.grad
    candidate = cues.looks & ~near_bg
    n, labels, stats = _components(candidate | near_bg, 4)
    shadow = np.zeros(n, bool)
    cand_labels = np.where(candidate, labels, 0)
    reach = np.ones((5, 5), np.uint8)
    for label in np.unique(cand_labels[cand_labels > 0]):
        # work inside the component's bounding box (plus the 2 px the interface reaches)
        x, y, w, h = (int(v) for v in stats[label, :4])
        box = np.s_[max(y - 2, 0):y + h + 2, max(x - 2, 0):x + w + 2]
        inside = cand_labels[box] == label
        interface = cv2.dilate(inside.astype(np.uint8), reach).astype(bool) & near_bg[box]
        if inside.sum() < 50 or not interface.any():
            continue
        depth = 1.0 - float(np.percentile(shade[box][inside], 5))
        steepest = max(float(np.percentile(grad[box][interface], 90)),
                       float(np.percentile(grad[box][inside], 98))) + 1e-4
        shadow[label] = depth / (2.5 * steepest) >= 3.0  # how many px it fades over
    return candidate & shadow[labels], candidate


MaskSource = np.ndarray | Callable[[], np.ndarray] | None


class _LazyMask:
    """The ML mask, computed only when a decision needs it (it costs a model run)."""

    def __init__(self, source: MaskSource) -> None:
        self.source, self.value = source, source if isinstance(source, np.ndarray) else None
        self.used = False

    def __bool__(self) -> bool:
        return self.source is not None

    def get(self) -> np.ndarray:
        if self.value is None:
            assert callable(self.source)
            self.value = self.source()
        self.used = True
        return self.value


def _cropped(source: MaskSource, box: tuple[slice, slice]) -> MaskSource:
    """The same mask source, cut to `box` (still computed only when first asked for)."""
    if source is None or isinstance(source, np.ndarray):
        return None if source is None else source[box]
    return lambda: source()[box]


def _near_backdrop(diff: np.ndarray, dist: np.ndarray, noise: float) -> np.ndarray:
    """Pixels that are backdrop: each within the noise of the plate, *and* not part of a flat
    patch whose local mean sits off the plate. On a noisy off-white backdrop a white rim is within
    the per-pixel noise, but a 7x7 mean sees its steady offset (noise averages away, the offset
    does not). The mean test also fails in a thin ring around every subject (its window reaches
    the subject); an opening keeps only the patches wide enough to be real."""
    near = dist < max(5.0 * noise * np.sqrt(3), 6 / 255)
    offset = _length(cv2.blur(diff, (7, 7)))
    flat_off = near & (offset > max(4.0 * noise * np.sqrt(3) / 7, 2 / 255))
    flat_off = cv2.morphologyEx(flat_off.astype(np.uint8), cv2.MORPH_OPEN, np.ones((9, 9), np.uint8)).astype(bool)
    return near & ~flat_off


def _local_plate(rgb: np.ndarray, plate: np.ndarray, background: np.ndarray, solid: np.ndarray) -> np.ndarray:
    """The backdrop as it really is next to the subject: a masked Gaussian average (σ 4 px) of
    nearby background pixels (shadowed, noisy or JPEG-rung as they are), falling back to the
    fitted plate where no background is within reach. Edge alpha against this carries no shadow.
    Every part of it is smooth, so it is worked out at half resolution and scaled back once."""
    known = background & ~cv2.dilate(solid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    h, w = known.shape
    half = ((w + 1) // 2, (h + 1) // 2)
    stack = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)  # (rgb·weight, weight) as one 4-channel image
    stack *= known[..., None]
    acc = cv2.GaussianBlur(cv2.resize(stack, half, interpolation=cv2.INTER_AREA), (0, 0), 2.0)
    norm = acc[..., 3:]
    trust = np.clip(norm / 0.1, 0.0, 1.0)
    fitted = cv2.resize(plate, half, interpolation=cv2.INTER_AREA)
    blended = fitted + trust * (acc[..., :3] / np.maximum(norm, 1e-6) - fitted)
    return cv2.resize(blended, (w, h), interpolation=cv2.INTER_LINEAR)


def _rescue_light_parts(near_bg: np.ndarray, ml: np.ndarray) -> tuple[np.ndarray, int]:
    """Backdrop-coloured pixels deep inside the model's confident subject area are subject."""
    confident = ml >= 0.9
    side = np.sqrt(max(int(confident.sum()), 1))
    r = max(2, round(side * 0.02))
    inner = cv2.erode(confident.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    rescue = near_bg & inner.astype(bool)
    if rescue.sum() > 0.5 * max(int(inner.sum()), 1):  # the model calls the backdrop subject: don't trust it
        return near_bg, 0
    return near_bg & ~rescue, int(rescue.sum())


def _enclosed_shadows(candidate: np.ndarray, background: np.ndarray, ml: np.ndarray, shade: np.ndarray,
                      noise: float) -> np.ndarray:
    """Shadow-hued smooth regions cut off from the backdrop (between converging stems, under a
    strap) that the model calls background and that *fade* like a shadow: a flat grey or white
    subject part (an ear cushion, a sneaker upper) keeps one shade, a shadow does not."""
    n, labels, stats = _components(candidate & ~background, 4)
    found = np.zeros(n, bool)
    if n <= 1:
        return found[labels]
    areas = stats[:, cv2.CC_STAT_AREA]
    ml_mean = np.bincount(labels.ravel(), weights=ml.ravel(), minlength=n) / np.maximum(areas, 1)
    for label in np.nonzero((ml_mean < 0.5) & (areas >= 16))[0]:
        if label == 0:
            continue
        x, y, w, h = (int(v) for v in stats[label, :4])
        values = shade[y:y + h, x:x + w][labels[y:y + h, x:x + w] == label]
        spread = float(np.percentile(values, 95) - np.percentile(values, 5))
        found[label] = spread > max(0.03, 6 * noise)
    return found[labels]


def _classify_background(near_bg: np.ndarray, ml_mask: _LazyMask, min_hole: int) -> tuple[np.ndarray, int]:
    """Background = near-backdrop regions touching the edge, plus enclosed holes."""
    n, labels, stats = _components(near_bg, 4)
    background = np.zeros(n, bool)
    background[_touching_edge(labels)] = True
    enclosed = np.nonzero(~background[1:])[0] + 1
    areas = stats[:, cv2.CC_STAT_AREA]
    if ml_mask and len(enclosed):
        # the model (320 px) misses thin gaps between stems/straps; large backdrop-coloured
        # regions it is unsure about are holes too, small ones need a clear "background"
        ml_mean = np.bincount(labels.ravel(), weights=ml_mask.get().ravel(), minlength=n) / np.maximum(areas, 1)
        is_hole = ((ml_mean < 0.5) & (areas >= 16)) | ((ml_mean < 0.9) & (areas >= min_hole))
    else:
        is_hole = areas >= min_hole  # small enclosed white blobs are highlights on the subject
    background[enclosed] = is_hole[enclosed]
    holes = int(is_hole[enclosed].sum())
    background[0] = False
    return background[labels], holes


def _remove_specks(solid: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop isolated foreground specks (tiny components far smaller than the subject)."""
    n, labels, stats = _components(solid, 8)
    if n <= 2:
        return solid, 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    limit = max(12, int(areas.max() * 0.0005))
    small = np.nonzero(areas < limit)[0] + 1
    if len(small) == 0:
        return solid, 0
    return solid & ~np.isin(labels, small), len(small)


def _solid_core(solid: np.ndarray, dist: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """(deep, plateau): subject pixels deeper than `band` px inside, whose colour is pure subject,
    and pixels at the plateau of their neighbourhood (the middle of a stroke, possibly too thin
    to ever be fully opaque)."""
    depth = cv2.distanceTransform(solid.astype(np.uint8), cv2.DIST_L2, 3)
    solid_dist = np.where(solid, dist, 0).astype(np.float32)
    plateau = dist >= 0.95 * cv2.dilate(solid_dist, np.ones((5, 5), np.uint8))
    # a few px deep is not enough where faint mixes merge (stems converging): those must also be
    # near the strongest contrast around them; well inside, any colour is subject
    flat = dist >= 0.85 * cv2.dilate(solid_dist, np.ones((7, 7), np.uint8))
    deep = solid & (depth > band) & (flat | (depth > 4 * band))
    return deep, solid & plateau


_DIRECTIONS = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]


def _length(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last (colour) axis; np.linalg.norm is several times slower here."""
    return np.sqrt(np.einsum("...c,...c->...", v, v))


def _mix_alpha(rgb: np.ndarray, deep: np.ndarray, ys: np.ndarray, xs: np.ndarray, b: np.ndarray,
               radii: tuple[int, ...] = (2, 4, 7, 11)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each band pixel (ys, xs) over backdrop `b`, the nearby solid colour F that best explains
    it as a mix `a·F + (1 - a)·B` (smallest residual, ties to the more opaque reading). Returns
    (found, alpha, F): which pixels had a candidate within reach, and their reading."""
    # pad by the largest reach (edge-replicated, as clamping the coordinates would) so every probe
    # is a flat index offset: gathers with np.take are several times faster than 2-D fancy indexing
    reach = max(radii)
    padded = cv2.copyMakeBorder(rgb, reach, reach, reach, reach, cv2.BORDER_REPLICATE).reshape(-1, 3)
    padded_deep = np.pad(deep, reach, mode="edge").ravel()
    stride = deep.shape[1] + 2 * reach
    centre = (ys + reach) * stride + xs + reach
    cb = rgb[ys, xs] - b
    cc = np.einsum("nc,nc->n", cb, cb)
    best = np.full(len(ys), np.inf, np.float32)
    alpha = np.zeros(len(ys), np.float32)
    fg = np.zeros_like(cb)
    for r in radii:
        for dx, dy in _DIRECTIONS:
            at = centre + round(dy * r) * stride + round(dx * r)
            f = padded.take(at, axis=0)
            fb = f - b
            den = np.einsum("nc,nc->n", fb, fb)
            dot = np.einsum("nc,nc->n", cb, fb)
            a = np.where(den < 0.08**2, 1.0, np.clip(dot / np.maximum(den, 1e-6), 0, 1))
            # |cb - a·fb| without the N×3 temporary: |cb|² - 2a(cb·fb) + a²|fb|²
            resid = np.sqrt(np.maximum(cc - a * (2 * dot - a * den), 0)) - 0.02 * a
            better = np.nonzero(padded_deep.take(at) & (resid < best))[0]
            best[better], alpha[better], fg[better] = resid[better], a[better], f[better]
    found = np.isfinite(best)
    return found, alpha[found], fg[found]


def _thin_alpha(c: np.ndarray, b: np.ndarray, f: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Plateau pixels of thin strokes: as opaque as their contrast allows against the nearest
    solid subject colour (a hair-thin stem never reaches its full colour)."""
    projected = _edge_alpha(c, b, f)
    ratio = dist / np.maximum(_length(f - b), 1e-3)
    return np.clip(np.maximum(projected, ratio), 0.0, 1.0)


def nearest_colors(rgb: np.ndarray, core: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """For the pixels (ys, xs), a solid-subject colour nearby: a Gaussian-weighted average of core
    pixels (smooth) where there are some within reach, else the single nearest core pixel."""
    if not core.any():
        return rgb[ys, xs].copy()
    if len(ys) == 0:
        return np.zeros((0, 3), np.float32)
    # the average only matters at (ys, xs): blur just their box plus the Gaussian's reach
    y0, x0 = max(int(ys.min()) - 8, 0), max(int(xs.min()) - 8, 0)
    box = np.s_[y0:int(ys.max()) + 9, x0:int(xs.max()) + 9]
    weight = core[box].astype(np.float32)
    acc = cv2.GaussianBlur(np.dstack([rgb[box] * weight[..., None], weight]), (0, 0), 2.0)
    at = acc[ys - y0, xs - x0]
    norm = at[:, 3]
    colors = at[:, :3] / np.maximum(norm, 1e-6)[:, None]
    far = norm <= 0.05
    if far.any():
        _, nearest = cv2.distanceTransformWithLabels((~core).astype(np.uint8), cv2.DIST_L2, 5,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        core_ys, core_xs = np.nonzero(core)  # label k (1-based) is the k-th core pixel in this scan order
        k = nearest[ys[far], xs[far]] - 1
        colors[far] = rgb[core_ys[k], core_xs[k]]
    return colors


def _edge_alpha(c: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """alpha = (C - B)·(F - B) / |F - B|^2 per pixel (rows of colours); subject colours too close
    to the backdrop to measure a mix against count as solid."""
    fb = f - b
    contrast = np.einsum("nc,nc->n", fb, fb)
    alpha = np.einsum("nc,nc->n", c - b, fb) / np.maximum(contrast, 1e-6)
    return np.where(contrast < 0.08**2, 1.0, np.clip(alpha, 0.0, 1.0)).astype(np.float32)


def _uncomposite(c: np.ndarray, b: np.ndarray, alpha: np.ndarray, f: np.ndarray) -> np.ndarray:
    """F = (C - (1 - a) B) / a, faded to the estimated colour where a is too small to divide by."""
    a = alpha[:, None]
    exact = (c - (1 - a) * b) / np.maximum(a, 1e-3)
    trust = np.clip((a - 0.05) / 0.25, 0.0, 1.0)
    return np.clip(trust * exact + (1 - trust) * f, 0.0, 1.0)


def _edge_band(rgb: np.ndarray, plate: np.ndarray, solid: np.ndarray, image_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and un-composited colour: 1 and the pixel itself deep inside, measured on the band of
    subject pixels near the backdrop (only those: it is a small share of the image)."""
    dist = _length(rgb - plate)
    deep, plateau = _solid_core(solid, dist, band=max(3, round(image_side / 400)))
    alpha = deep.astype(np.float32)
    foreground = cv2.bitwise_and(rgb, rgb, mask=deep.view(np.uint8))  # rgb where deep, else 0 (fast)
    ys, xs = np.nonzero(solid & ~deep)
    c, b = rgb[ys, xs], plate[ys, xs]
    found, mix_alpha, mix_fg = _mix_alpha(rgb, deep, ys, xs, b)
    a = np.empty(len(ys), np.float32)
    f = np.empty((len(ys), 3), np.float32)
    a[found], f[found] = mix_alpha, mix_fg
    # pixels with no solid colour within the mix search's reach (thin strokes): project onto the
    # nearest solid colour instead
    rest = np.nonzero(~found)[0]
    f[rest] = nearest_colors(rgb, deep if deep.any() else plateau, ys[rest], xs[rest])
    c_r, b_r, f_r = c[rest], b[rest], f[rest]
    a[rest] = np.where(plateau[ys[rest], xs[rest]], _thin_alpha(c_r, b_r, f_r, dist[ys[rest], xs[rest]]),
                       _edge_alpha(c_r, b_r, f_r))
    alpha[ys, xs] = a
    foreground[ys, xs] = _uncomposite(c, b, a, f)
    return alpha, foreground


def _subject_region(near_bg: np.ndarray, margin: int) -> tuple[tuple[slice, slice] | None, int]:
    """(box, specks): the box around everything that is not plainly backdrop, plus `margin` px,
    and how many specks (tiny isolated blobs) it leaves out. Outside the box every pixel is
    backdrop connected to the image edge, so the rest of the work (the per-pixel colour maths,
    which is most of the time) runs on the box only."""
    n, _, stats = _components(~near_bg, 8)
    if n <= 1:
        return None, 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = areas >= max(12, int(areas.max() * 0.0005))
    kept = stats[1:][big]
    x0, y0 = kept[:, 0].min() - margin, kept[:, 1].min() - margin
    x1, y1 = (kept[:, 0] + kept[:, 2]).max() + margin, (kept[:, 1] + kept[:, 3]).max() + margin
    small = stats[1:][~big]
    inside = (small[:, 0] >= x0) & (small[:, 1] >= y0) & (small[:, 0] + small[:, 2] <= x1) & (small[:, 1] + small[:, 3] <= y1)
    h, w = near_bg.shape
    box = (slice(max(y0, 0), min(y1, h)), slice(max(x0, 0), min(x1, w)))
    return box, int((~inside).sum())  # the ones inside are left to _remove_specks


def key(rgb8: np.ndarray, *, keep_shadow: bool = False, ml_mask: MaskSource = None,
        backdrop: Backdrop | None = None) -> KeyOutput:
    """Key out a plain backdrop. `rgb8` is H×W×3 uint8. `ml_mask` (H×W 0..1, or a function that
    computes it, called when first needed) keeps backdrop-coloured subject parts, settles enclosed
    holes and vetoes shadow calls on the subject."""
    rgb = rgb8.astype(np.float32) / 255.0
    backdrop = backdrop or fit_backdrop(rgb)
    diff = rgb - backdrop.plate
    dist = _length(diff)
    near_bg = _near_backdrop(diff, dist, backdrop.noise)
    del diff, dist  # full-frame temporaries: large images need the memory for what follows
    h, w = near_bg.shape
    alpha = np.zeros((h, w), np.float32)
    foreground = np.zeros((h, w, 3), np.float32)
    details: dict[str, Any] = {
        "backdrop": "uniform" if backdrop.degree == 0 else f"surface (degree {backdrop.degree})",
        "backdrop_color": "#{:02x}{:02x}{:02x}".format(*tuple(round(c * 255) for c in backdrop.mean_color)),
        "noise": round(backdrop.noise * 255, 2), "holes": 0, "specks_removed": 0, "shadow_px": 0,
        "ml_mask_used": False, "rescued_px": 0}
    # margin: the widest reach of the local maths below (the local plate's Gaussian, the mix search)
    box, specks_outside = _subject_region(near_bg, margin=24)
    details["specks_removed"] = specks_outside
    if box is not None:
        crop = _LazyMask(_cropped(ml_mask, box))
        # contiguous copies: OpenCV copies strided views on every call, NumPy walks them slowly
        rgb_box, plate_box, near_box = (np.ascontiguousarray(x[box]) for x in (rgb, backdrop.plate, near_bg))
        a, f, found = _key_region(rgb_box, plate_box, near_box, crop, backdrop.noise,
                                  keep_shadow=keep_shadow, image_size=(h, w))
        alpha[box], foreground[box] = a, f
        details.update(found, ml_mask_used=crop.used, specks_removed=found["specks_removed"] + specks_outside)
    return KeyOutput(alpha=alpha, foreground=foreground, backdrop=backdrop, details=details)


def _key_region(rgb: np.ndarray, fitted: np.ndarray, near_bg: np.ndarray, mask: _LazyMask, noise: float, *,
                keep_shadow: bool, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Steps 2-6 on the subject's box: (alpha, foreground, counts for the details)."""
    cues = _shadow_cues(rgb, fitted, noise)
    rescued = 0
    if mask:  # subject parts the colour of the backdrop (a white rim on white): the model sees them
        near_bg, rescued = _rescue_light_parts(near_bg, mask.get())
    shadow, candidate = _shadow_mask(cues, near_bg)
    if shadow.any() and mask:  # light subject parts can pass for shadow; the model knows better
        shadow &= mask.get() < 0.5
    h, w = image_size
    background, holes = _classify_background(near_bg | shadow, mask, min_hole=max(64, h * w // 2000))
    if mask and (candidate & ~background).any():
        shade = (rgb @ LUMA) / np.maximum(fitted @ LUMA, 1e-3)
        enclosed = _enclosed_shadows(candidate, background, mask.get(), shade, noise)
        background |= enclosed
        shadow |= enclosed
    solid, specks = _remove_specks(~background)
    plate = _local_plate(rgb, fitted, background, solid)
    alpha, foreground = _edge_band(rgb, plate, solid, min(image_size))
    if keep_shadow:
        shade = 1.0 - (rgb @ LUMA) / np.maximum(fitted @ LUMA, 1e-3)  # against the unshadowed fit
        cast = shadow & ~solid
        alpha = np.where(cast, np.clip(shade, 0.0, 1.0), alpha).astype(np.float32)
        foreground = np.where(cast[..., None], 0.0, foreground).astype(np.float32)
    counts = {"holes": holes, "specks_removed": specks, "shadow_px": int(shadow.sum()), "rescued_px": rescued}
    return alpha, foreground, counts
