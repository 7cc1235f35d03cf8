"""The local cut-out methods behind one call: `key`, `ml`, `refine`, `auto`.

`auto` keys exactly when the border says the backdrop is plain (uniform or a smooth surface),
using the ML mask only to settle enclosed holes when the model is installed; otherwise it runs
the ML model and refines its edge band with matting. The result says which path ran and why.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from reelforge.errors import ProviderUnavailable
from reelforge.imaging.cutout import models
from reelforge.imaging.cutout.background import Backdrop, fit_backdrop
from reelforge.imaging.cutout.key import _nearest_colors, key
from reelforge.imaging.cutout.qa import assess
from reelforge.imaging.cutout.result import CutoutResult

LOCAL_METHODS = ("auto", "key", "ml", "refine")


def _rgba(alpha: np.ndarray, foreground: np.ndarray) -> Image.Image:
    rgb = np.clip(np.round(foreground * 255), 0, 255).astype(np.uint8)
    a = np.clip(np.round(alpha * 255), 0, 255).astype(np.uint8)
    rgb[a == 0] = 0  # fully transparent pixels carry no colour (smaller files, no stray fringes)
    return Image.fromarray(np.dstack([rgb, a]), "RGBA")


def _finish(alpha: np.ndarray, foreground: np.ndarray, method: str, reason: str, details: dict) -> CutoutResult:
    return CutoutResult(image=_rgba(alpha, foreground), method=method, reason=reason, details=details,
                        qa=assess(alpha, foreground))


def _ml_foreground(rgb8: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colours for an ML/matted alpha: solid pixels keep theirs, edge pixels take the nearest solid
    subject colour (no backdrop model to un-composite against), so edges carry no old background."""
    rgb = rgb8.astype(np.float32) / 255.0
    solid = alpha >= 0.98
    inner = _nearest_colors(rgb, solid) if solid.any() else rgb
    return np.where(solid[..., None], rgb, inner)


def _backdrop_reason(bd: Backdrop) -> str:
    kind = "uniform" if bd.degree == 0 else "smooth gradient"
    return f"{kind} backdrop (noise {bd.noise * 255:.1f}/255, {bd.outliers:.0%} of the border off it)"


def run_key(rgb8: np.ndarray, *, keep_shadow: bool, model: str | None, backdrop: Backdrop | None = None,
            reason: str = "requested") -> CutoutResult:
    if model is not None and models.model_path(model).is_file():
        from reelforge.imaging.cutout.ml import predict_mask

        # the model runs on a thread while keying starts (onnxruntime and NumPy release the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(predict_mask, rgb8, model)
            out = key(rgb8, keep_shadow=keep_shadow, ml_mask=pending.result, backdrop=backdrop)
    else:
        out = key(rgb8, keep_shadow=keep_shadow, backdrop=backdrop)
    details = dict(out.details)
    return _finish(out.alpha, out.foreground, "key", reason, details)


def run_ml(rgb8: np.ndarray, *, model: str, refine_edges: bool, reason: str = "requested") -> CutoutResult:
    from reelforge.imaging.cutout.ml import predict_mask

    alpha = predict_mask(rgb8, model)
    method = "ml"
    if refine_edges:
        from reelforge.imaging.cutout.refine import refine

        alpha = refine(rgb8, alpha)
        method = "refine"
    return _finish(alpha, _ml_foreground(rgb8, alpha), method, reason, {"model": model})


def cut_local(rgb8: np.ndarray, method: str = "auto", *, model: str = models.DEFAULT_MODEL,
              keep_shadow: bool = False) -> CutoutResult:
    """Cut out an H×W×3 uint8 image with a local method."""
    if method == "key":
        return run_key(rgb8, keep_shadow=keep_shadow, model=None)
    if method == "ml":
        return run_ml(rgb8, model=model, refine_edges=False)
    if method == "refine":
        return run_ml(rgb8, model=model, refine_edges=True)
    if method != "auto":
        raise ValueError(f"unknown local method {method!r}")
    bd = fit_backdrop(rgb8.astype(np.float32) / 255.0)
    if bd.is_keyable:
        return run_key(rgb8, keep_shadow=keep_shadow, model=model, backdrop=bd,
                       reason=f"auto: {_backdrop_reason(bd)}, keyed exactly")
    try:
        return run_ml(rgb8, model=model, refine_edges=True,
                      reason=f"auto: busy backdrop ({_backdrop_reason(bd)}), ML mask refined by matting")
    except ProviderUnavailable as exc:
        result = run_key(rgb8, keep_shadow=keep_shadow, model=None, backdrop=bd,
                         reason=f"auto: busy backdrop but no ML model ({exc.message}); keyed anyway")
        result.warnings.append(f"keyed a busy backdrop because the ML model is missing: {exc.hint}")
        return result
