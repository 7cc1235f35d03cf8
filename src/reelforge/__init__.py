"""reelforge: turn specs, images and clips into finished videos.

The top-level names are imported lazily so `reelforge --version` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "clip", "cutout", "cutout_files", "load_timeline", "probe", "render", "render_frame",
           "story"]

if TYPE_CHECKING:  # pragma: no cover
    from reelforge.ffmpeg.probe import probe
    from reelforge.pipelines.clip import clip
    from reelforge.pipelines.cutout import cutout, cutout_files
    from reelforge.pipelines.story import story
    from reelforge.render.api import render, render_frame
    from reelforge.spec.loader import load_timeline

_LAZY = {
    "load_timeline": "reelforge.spec.loader",
    "render": "reelforge.render.api",
    "render_frame": "reelforge.render.api",
    "probe": "reelforge.ffmpeg.probe",
    "cutout": "reelforge.pipelines.cutout",
    "clip": "reelforge.pipelines.clip",
    "cutout_files": "reelforge.pipelines.cutout",
    "story": "reelforge.pipelines.story",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        if name != "render":  # `render` stays the (callable) subpackage Python binds here anyway
            globals()[name] = value
        return value
    raise AttributeError(f"module 'reelforge' has no attribute {name!r}")
