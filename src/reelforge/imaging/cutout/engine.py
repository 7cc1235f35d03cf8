"""The local cut-out methods behind one call: `key`, `ml`, `refine`, `auto`.

`auto` keys exactly when the border says the backdrop is plain (uniform or a smooth surface),
using the ML mask only to settle enclosed holes when the model is installed; otherwise it runs
the ML model and refines its edge band with matting. The result says which path ran and why.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from PIL import Image

from reelforge.errors import ProviderUnavailable
from reelforge.imaging.cutout import models
from reelforge.imaging.cutout.background import Backdrop, fit_backdrop
from reelforge.imaging.cutout.key import MaskSource, key, nearest_colors
from reelforge.imaging.cutout.ml import predict_mask
from reelforge.imaging.cutout.qa import assess
from reelforge.imaging.cutout.result import CutoutResult

LOCAL_METHODS = ("auto", "key", "ml", "refine")


def _rgba(alpha: np.ndarray, foreground: np.ndarray) -> Image.Image:
    """8-bit RGBA from float alpha and colour (both already in 0..1: every method clips them).
    convertScaleAbs rounds and saturates to uint8 in one threaded pass."""
    a = cv2.convertScaleAbs(alpha, alpha=255.0)
    rgb = cv2.convertScaleAbs(foreground, alpha=255.0)
    rgb = cv2.bitwise_and(rgb, rgb, mask=a)  # transparent pixels carry no colour (smaller files, no fringes)
    return Image.fromarray(cv2.merge([rgb, a]), "RGBA")


def _finish(alpha: np.ndarray, foreground: np.ndarray, method: str, reason: str, details: dict) -> CutoutResult:
    return CutoutResult(image=_rgba(alpha, foreground), method=method, reason=reason, details=details,
                        qa=assess(alpha, foreground))


def _ml_foreground(rgb8: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colours for an ML/matted alpha: solid pixels keep theirs, edge pixels take the nearest solid
    subject colour (no backdrop model to un-composite against), so edges carry no old background."""
    rgb = rgb8.astype(np.float32) / 255.0
    solid = alpha >= 0.98
    ys, xs = np.nonzero(~solid & (alpha > 0))
    rgb[ys, xs] = nearest_colors(rgb, solid, ys, xs)
    return rgb


def _backdrop_reason(bd: Backdrop) -> str:
    kind = "uniform" if bd.degree == 0 else "smooth gradient"
    return f"{kind} backdrop (noise {bd.noise * 255:.1f}/255, {bd.outliers:.0%} of the border off it)"


def run_key(rgb8: np.ndarray, *, keep_shadow: bool, mask: MaskSource = None, backdrop: Backdrop | None = None,
            reason: str = "requested") -> CutoutResult:
    out = key(rgb8, keep_shadow=keep_shadow, ml_mask=mask, backdrop=backdrop)
    return _finish(out.alpha, out.foreground, "key", reason, dict(out.details))


def run_ml(rgb8: np.ndarray, mask: np.ndarray, *, model: str, refine_edges: bool,
           reason: str = "requested") -> CutoutResult:
    alpha, method = mask, "ml"
    if refine_edges:
        from reelforge.imaging.cutout.refine import refine

        alpha, method = refine(rgb8, alpha), "refine"
    return _finish(alpha, _ml_foreground(rgb8, alpha), method, reason, {"model": model})


def cut_local(rgb8: np.ndarray, method: str = "auto", *, model: str = models.DEFAULT_MODEL,
              keep_shadow: bool = False) -> CutoutResult:
    """Cut out an H×W×3 uint8 image with a local method."""
    if method == "key":
        return run_key(rgb8, keep_shadow=keep_shadow)
    if method in ("ml", "refine"):
        return run_ml(rgb8, predict_mask(rgb8, model), model=model, refine_edges=method == "refine")
    if method != "auto":
        raise ValueError(f"unknown local method {method!r}")
    # Both of auto's paths want the model's mask, so it starts first, on a thread, and the backdrop
    # is fitted (and keying begins) while it runs: onnxruntime, OpenCV and NumPy release the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(predict_mask, rgb8, model) if models.model_path(model).is_file() else None
        bd = fit_backdrop(rgb8)
        if bd.is_keyable:
            return run_key(rgb8, keep_shadow=keep_shadow, mask=pending.result if pending else None, backdrop=bd,
                           reason=f"auto: {_backdrop_reason(bd)}, keyed exactly")
        try:
            mask = pending.result() if pending else predict_mask(rgb8, model)
        except ProviderUnavailable as exc:
            result = run_key(rgb8, keep_shadow=keep_shadow, backdrop=bd,
                             reason=f"auto: busy backdrop but no ML model ({exc.message}); keyed anyway")
            result.warnings.append(f"keyed a busy backdrop because the ML model is missing: {exc.hint}")
            return result
    return run_ml(rgb8, mask, model=model, refine_edges=True,
                  reason=f"auto: busy backdrop ({_backdrop_reason(bd)}), ML mask refined by matting")
