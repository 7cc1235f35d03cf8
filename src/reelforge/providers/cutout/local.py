"""The local engine (imaging/cutout) as a `Cutout` provider: key, ml, refine, auto."""

from __future__ import annotations

import numpy as np
from PIL import Image

from reelforge.imaging.cutout import models
from reelforge.imaging.cutout.result import CutoutResult


class LocalCutout:
    """Runs on this machine, costs nothing; `ml`/`refine` need the model (`reelforge models install`)."""

    def __init__(self, name: str = "auto", *, model: str = models.DEFAULT_MODEL) -> None:
        self.name = name
        self.model = model

    def cut(self, image: Image.Image, *, keep_shadow: bool = False) -> CutoutResult:
        from reelforge.imaging.cutout.engine import cut_local

        rgb8 = np.asarray(image.convert("RGB"))
        return cut_local(rgb8, self.name, model=self.model, keep_shadow=keep_shadow)

    def availability(self) -> tuple[bool, str]:
        if self.name == "key":
            return True, "local, no model needed"
        if models.model_path(self.model).is_file():
            return True, f"local, model {self.model} installed"
        if self.name == "auto":
            return True, f"local; keys plain backdrops, needs `reelforge models install {self.model}` for others"
        return False, f"run `reelforge models install {self.model}`"


def _factory(name: str):  # type: ignore[no-untyped-def]
    def create(settings: object, limits: object) -> LocalCutout:
        return LocalCutout(name)

    return create


# registry factories ("reelforge.providers.cutout.local:create_auto", …)
create_auto = _factory("auto")
create_key = _factory("key")
create_ml = _factory("ml")
create_refine = _factory("refine")
