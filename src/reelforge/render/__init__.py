"""The renderer: timeline → RenderPlan (prepare) → filter graph (graph) → ffmpeg (api); see
docs/renderer.md.

`reelforge.render` is both this package and the public `reelforge.render(spec, output)`: once
any `reelforge.render.*` module is imported, Python binds the package to that name on `reelforge`,
hiding the lazily imported function — so the package itself is callable and renders."""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from reelforge.render.api import render

        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
