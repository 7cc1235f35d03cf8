"""`ml`: a rembg session predicts the subject mask (u2netp by default).

Sessions are expensive to create (the ONNX graph is loaded once), so each process keeps one per
model and reuses it across a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from reelforge.errors import ProviderUnavailable
from reelforge.imaging.cutout import models

_sessions: dict[str, Any] = {}


def session(model: str = models.DEFAULT_MODEL) -> Any:
    if model not in _sessions:
        models.require(model)
        models.point_rembg_here()
        try:
            from rembg import new_session
        except (ImportError, SystemExit) as exc:
            raise ProviderUnavailable("rembg with onnxruntime is not installed",
                                      hint="pip install 'rembg[cpu]'") from exc
        _sessions[model] = new_session(model)
    return _sessions[model]


def predict_mask(rgb8: np.ndarray, model: str = models.DEFAULT_MODEL) -> np.ndarray:
    """The model's soft subject mask, H×W float32 0..1, at the input size."""
    mask = session(model).predict(Image.fromarray(rgb8, "RGB"))[0]
    return np.asarray(mask, np.float32) / 255.0
