"""`ml`: a rembg session predicts the subject mask (u2netp by default).

Sessions are expensive to create (the ONNX graph is loaded once), so each process keeps one per
model and reuses it across a batch.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image

from reelforge.errors import ProviderUnavailable
from reelforge.imaging.cutout import models

_sessions: dict[str, Any] = {}
_settings: dict[str, Any] = {"threads": None, "arena": False}


def configure(*, threads: int | None = None, arena: bool | None = None) -> None:
    """Options for sessions created from now on in this process: onnxruntime's intra-op
    `threads` (None = one per core; batch workers split the cores between them) and its CPU
    `arena` (faster, more memory; see `_session_options`)."""
    if threads is not None:
        _settings["threads"] = max(1, threads)
    if arena is not None:
        _settings["arena"] = arena


def session(model: str = models.DEFAULT_MODEL) -> Any:
    if model not in _sessions:
        models.require(model)
        models.point_rembg_here()
        try:
            from rembg import new_session
        except (ImportError, SystemExit) as exc:
            raise ProviderUnavailable("rembg with onnxruntime is not installed",
                                      hint="pip install 'rembg[cpu]'") from exc
        _sessions[model] = new_session(model, sess_opts=_session_options())
    return _sessions[model]


def _session_options() -> Any:
    """onnxruntime's memory-pattern planner keeps every buffer layout it ever grew to: with it,
    RSS climbed by about 200 MB per prediction of a 1344x768 image, so it is always off. The CPU
    arena is a plain trade (measured 2026-11-23, 2 cores, u2netp at 1024²): on, RSS holds at about
    540 MB and a prediction takes 0.19 s; off, about 380 MB and 0.23 s. It is off by default (the
    scenes pipeline keeps its whole run under 1 GB) and on for `reelforge cutout` batches, where
    cut-outs are the whole job."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = bool(_settings["arena"])
    options.enable_mem_pattern = False
    if _settings["threads"]:
        options.intra_op_num_threads = _settings["threads"]
    # idle worker threads sleep instead of spinning: the spin steals the core keying runs on
    # while the model works, and wastes it in a -j 2 batch
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _network_size(sess: Any) -> tuple[int, int] | None:
    """(width, height) the network takes when its input shape is fixed (u2netp: 320x320)."""
    inputs: list[Any] = getattr(getattr(sess, "inner_session", None), "get_inputs", lambda: [])()
    shape = inputs[0].shape if inputs else []
    if len(shape) == 4 and all(isinstance(v, int) for v in shape[2:]):
        return int(shape[3]), int(shape[2])
    return None


def predict_mask(rgb8: np.ndarray, model: str = models.DEFAULT_MODEL) -> np.ndarray:
    """The model's soft subject mask, H×W float32 0..1, at the input size.

    rembg resizes to the network's fixed input and the mask back with PIL's Lanczos; scaling the
    mask up to 1024² that way costs more than it needs to. The image is handed over at the
    network's size already, shrunk exactly as rembg shrinks it (the model's answer on busy photos
    swings by several MAE points with the resampling filter), and the mask is scaled back with
    OpenCV's bicubic (same MAE as rembg's on the benchmark)."""
    sess = session(model)
    h, w = rgb8.shape[:2]
    size = _network_size(sess)
    image = Image.fromarray(rgb8, "RGB")
    if size and size != (w, h):
        image = image.resize(size, Image.Resampling.LANCZOS)
    mask = np.asarray(sess.predict(image)[0], np.float32) / 255.0
    if mask.shape != (h, w):
        mask = np.clip(cv2.resize(mask, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    return mask
