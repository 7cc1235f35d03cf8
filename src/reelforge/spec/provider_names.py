"""Provider names that other layers spell out, in one dependency-free module: the spec (which
may import only the standard library and pydantic) takes its `Literal`s from here, and each
capability's registry asserts that its entries match (see providers/cutout/registry.py)."""

from __future__ import annotations

from typing import Literal, get_args

# Cut-out methods that run on this machine (imaging/cutout), free and offline.
LocalCutoutMethod = Literal["auto", "key", "ml", "refine"]
# Cloud background-removal APIs: paid, gated runtime steps that need a key.
CloudCutoutMethod = Literal["removebg", "photoroom", "clipdrop"]
CutoutMethod = Literal[LocalCutoutMethod, CloudCutoutMethod]

LOCAL_CUTOUTS: tuple[str, ...] = get_args(LocalCutoutMethod)
CLOUD_CUTOUTS: tuple[str, ...] = get_args(CloudCutoutMethod)
CUTOUT_METHODS: tuple[str, ...] = (*LOCAL_CUTOUTS, *CLOUD_CUTOUTS)

__all__ = ["CLOUD_CUTOUTS", "CUTOUT_METHODS", "LOCAL_CUTOUTS", "CloudCutoutMethod", "CutoutMethod",
           "LocalCutoutMethod"]
