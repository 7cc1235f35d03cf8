"""Cut the real product out of its best frame.

A still camera gives what a single photo lacks: the backdrop behind the product is seen in the
other frames of the shot. The **clean plate** is their temporal median over the pixels the
product does not cover (each frame's subject mask, grown, is left out), and the product is keyed
against it — the known-background idea of BackgroundMattingV2 without its model: alpha from the
colour distance to the plate (thresholds scaled by the plate's own noise), the connected object
at the box kept, enclosed holes filled, colours un-composited `F = (C − (1 − α)·B) / α`.
Where the camera moved (or the product never left its spot, so no frame shows the backdrop
behind it) the cut-out engine's ML + refine path (`auto`) runs on the crop instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from reelforge.imaging.cutout.qa import assess
from reelforge.imaging.cutout.result import QAReport

MARGIN = 0.12  # crop margin around the product's box, fraction of its larger side
PLATE_FRAMES = 24  # at most this many frames make the plate
MIN_PLATE_COVER = 0.995  # share of the crop the plate must have seen uncovered
SMALL_HOLE = 0.01  # enclosed holes smaller than this share of the object are filled


@dataclass
class Isolated:
    image: Image.Image | None  # RGBA crop, None when the product could not be isolated
    box: tuple[int, int, int, int]  # the crop in full-frame pixels (x0, y0, x1, y1)
    method: str  # "clean-plate" or the cut-out engine's method
    reason: str
    qa: QAReport | None = None
    warnings: list[str] = field(default_factory=list)
    tried: list[dict[str, Any]] = field(default_factory=list)  # every cut-out path tried, when more than one

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "reason": self.reason, "crop_box": list(self.box),
                "qa": self.qa.as_dict() if self.qa else None, "warnings": self.warnings, "ok": self.image is not None,
                "tried": self.tried}


def crop_box(box_2d: list[int], size: tuple[int, int], margin: float = MARGIN) -> tuple[int, int, int, int]:
    """[ymin, xmin, ymax, xmax] (0..1000) → a pixel crop (x0, y0, x1, y1) with a margin."""
    w, h = size
    y0, x0, y1, x1 = box_2d[0] * h / 1000, box_2d[1] * w / 1000, box_2d[2] * h / 1000, box_2d[3] * w / 1000
    pad = max(x1 - x0, y1 - y0) * margin
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad))))


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read frame {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def clean_plate(files: list[Path], masks: list[np.ndarray], box: tuple[int, int, int, int]
                ) -> tuple[np.ndarray | None, float]:
    """The backdrop inside `box` from the shot's frames (each with its analysis-size subject
    mask), and the share of the box some frame showed uncovered."""
    x0, y0, x1, y1 = box
    step = max(1, len(files) // PLATE_FRAMES)
    samples = []
    for path, mask in list(zip(files, masks, strict=True))[::step]:
        rgb = read_rgb(path)
        h, w = rgb.shape[:2]
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8))
        full = cv2.resize(grown, (w, h), interpolation=cv2.INTER_NEAREST)[y0:y1, x0:x1].astype(bool)
        crop = rgb[y0:y1, x0:x1].astype(np.float32)
        crop[full] = np.nan
        samples.append(crop)
    if not samples:
        return None, 0.0
    stack = np.stack(samples)
    seen = ~np.isnan(stack[..., 0])
    cover = float(seen.any(axis=0).mean())
    if cover < MIN_PLATE_COVER:
        return None, cover
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            plate = np.nanmedian(stack, axis=0)
    plate = np.where(np.isnan(plate), np.nanmean(plate, axis=(0, 1)), plate)
    return plate.astype(np.float32), cover


def key_against_plate(crop: np.ndarray, plate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha 0..1, foreground 0..1) of the object in `crop` that differs from `plate`.

    The object is what stands clearly off the plate (the connected piece at the box). Inside it,
    a core is solid; on the band around the core each pixel is explained as a mix
    `C = α·F + (1 − α)·B` of the nearest solid product colour F and the known backdrop B, so
    α = (C − B)·(F − B) / |F − B|² — the edge keeps its softness and carries no backdrop colour."""
    from reelforge.imaging.cutout.key import nearest_colors

    c = crop.astype(np.float32) / 255.0
    b = plate / 255.0
    dist = np.sqrt(((c - b) ** 2).sum(axis=2)) * 255.0
    border = np.concatenate([dist[0], dist[-1], dist[:, 0], dist[:, -1]])
    noise = float(np.median(border)) * 1.4826 + 1.0
    lo = max(12.0, 3.0 * noise)
    obj = _keep_object(dist > lo + 14.0)
    core = cv2.erode(obj.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if not core.any():
        core = obj
    band = cv2.dilate(obj.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~core
    ys, xs = np.nonzero(band)
    fg = c.copy()
    colours = nearest_colors(c, core, ys, xs)
    fb = colours - b[ys, xs]
    contrast = (fb ** 2).sum(axis=1)
    mixed = ((c[ys, xs] - b[ys, xs]) * fb).sum(axis=1) / np.maximum(contrast, 1e-6)
    ramp = np.clip((dist[ys, xs] - lo) / 28.0, 0.0, 1.0)  # no contrast to measure a mix against
    alpha = np.zeros(dist.shape, np.float32)
    alpha[core] = 1.0
    alpha[ys, xs] = np.where(contrast > (20 / 255) ** 2, np.clip(mixed, 0.0, 1.0), ramp)
    alpha[ys, xs] *= (dist[ys, xs] > lo * 0.5)  # plate noise is not product
    fg[ys, xs] = colours
    return alpha, np.clip(fg, 0.0, 1.0).astype(np.float32)


def _keep_object(mask: np.ndarray) -> np.ndarray:
    """The largest connected object, with small enclosed holes filled (specks where the product
    happens to match the backdrop). Larger holes — a mug's handle — show the plate: they stay."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    obj = labels == largest
    holes_n, holes, hole_stats, _ = cv2.connectedComponentsWithStats((~obj).astype(np.uint8), connectivity=4)
    limit = SMALL_HOLE * stats[largest, cv2.CC_STAT_AREA]
    h, w = obj.shape
    for label in range(1, holes_n):
        x, y, bw, bh, area = hole_stats[label]
        enclosed = x > 0 and y > 0 and x + bw < w and y + bh < h
        if enclosed and area < limit:
            obj |= holes == label
    return obj


def _rgba(alpha: np.ndarray, fg: np.ndarray) -> Image.Image:
    a = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    rgb = np.clip(fg * 255 + 0.5, 0, 255).astype(np.uint8) * (a[..., None] > 0)
    return Image.fromarray(np.dstack([rgb, a]), "RGBA")


def isolate(frame_file: Path, box_2d: list[int], *, plate_files: list[Path] | None = None,
            plate_masks: list[np.ndarray] | None = None, method: str = "auto", policy: str = "retry") -> Isolated:
    """The product of `box_2d` in the frame, by clean plate when the shot allows, else `method`.

    Every cut-out is checked for backdrop left in it (ghost strips, rim smears; see
    `imaging.cutout.leak`). `policy` for a flagged one: `retry` cuts again with the other paths
    and keeps the cleanest (warned if still flagged), `warn` keeps it with a warning, `reject`
    retries and reports the product as not isolated when every path leaves backdrop."""
    rgb = read_rgb(frame_file)
    h, w = rgb.shape[:2]
    box = crop_box(box_2d, (w, h))
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    notes: list[str] = []
    tries: list[Isolated] = []
    if plate_files and plate_masks:
        plate, cover = clean_plate(plate_files, plate_masks, box)
        if plate is not None:
            alpha, fg = key_against_plate(crop, plate)
            tries.append(_checked(Isolated(_rgba(alpha, fg), box, "clean-plate",
                                           f"still camera: keyed against the backdrop seen in {len(plate_files)} "
                                           "frames (temporal median over the pixels the product leaves uncovered)",
                                           assess(alpha, fg)), crop))
        else:
            notes.append(f"no clean plate: only {cover:.0%} of the product's area was ever seen uncovered")
    pending = [method, *(m for m in RETRY_METHODS if m != method)]
    while pending and (not tries or (policy != "warn" and _leaky(tries[-1]))):
        chosen = pending.pop(0)
        if any(t.method == chosen for t in tries):  # `auto` already took this path
            continue
        tries.append(_cut(crop, box, chosen, notes))
    return _choose(tries, policy)


RETRY_METHODS = ("auto", "refine", "ml")  # the paths a flagged cut-out is tried again with
LEAK_FLAGS = ("ghost-strip", "rim-smear")


def _cut(crop: np.ndarray, box: tuple[int, int, int, int], method: str, notes: list[str]) -> Isolated:
    from reelforge.pipelines.cutout import cutout_result

    result = cutout_result(Image.fromarray(crop), method)
    return _checked(Isolated(result.image, box, result.method, result.reason, result.qa, notes + result.warnings), crop)


def _leaky(item: Isolated) -> bool:
    return item.image is not None and item.qa is not None and bool(set(LEAK_FLAGS) & set(item.qa.flags))


def _leak_total(item: Isolated) -> float:
    leak = item.qa.leak if item.qa is not None else None
    return float("inf") if item.image is None or leak is None else leak["ghost_px"] + leak["smear_px"]


def _choose(tries: list[Isolated], policy: str) -> Isolated:
    """The cleanest usable cut-out of those tried, with what was tried on record."""
    best = min(tries, key=lambda t: (_leaky(t), _leak_total(t)))
    if len(tries) > 1:
        best.tried = [{"method": t.method, "qa": t.qa.as_dict() if t.qa else None, "ok": t.image is not None}
                      for t in tries]
    if _leaky(best):
        assert best.qa is not None
        flags = ", ".join(f for f in best.qa.flags if f in LEAK_FLAGS)
        if policy == "reject":
            best.warnings.append(f"the product could not be isolated cleanly ({flags} with every cut-out path)")
            best.image = None
        else:
            best.warnings.append(f"the cut-out keeps some backdrop ({flags}); check cutout.png")
    return best


def _checked(item: Isolated, crop: np.ndarray) -> Isolated:
    """A cut-out whose mask is empty or fills the crop is not a product: reported, never used.
    Otherwise its backdrop leak is scored into its QA (ghost strips, rim smears)."""
    flags = item.qa.flags if item.qa else []
    if item.image is None or "empty-mask" in flags or "full-mask" in flags:
        item.warnings.append("the product could not be isolated (" + (", ".join(flags) or "no mask") + ")")
        item.image = None
        return item
    from reelforge.imaging.cutout.leak import backdrop_leak

    alpha = np.asarray(item.image.getchannel("A"), np.float32) / 255.0
    leak = backdrop_leak(alpha, crop)
    if item.qa is not None:
        item.qa.leak = {"ghost_px": leak.ghost_px, "smear_px": leak.smear_px,
                        "worst_at": list(leak.worst) if leak.worst else None}
        item.qa.flags = [*item.qa.flags, *leak.flags]
    return item
