"""The `Cutout` capability: image in, RGBA cut-out out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PIL import Image

from reelforge.imaging.cutout.result import CutoutResult


@runtime_checkable
class Cutout(Protocol):
    """A background remover. Implementations must not modify `image`.

    `cut` returns an RGBA image the same size as the input (cloud APIs that crop or scale are
    asked not to, and their output is resized back if needed). Errors: `ProviderUnavailable`
    for a missing key/SDK/model (before any call), `ProviderError` for a failed call
    (`retryable` says whether trying again can help).
    """

    name: str

    def cut(self, image: Image.Image, *, keep_shadow: bool = False) -> CutoutResult: ...
