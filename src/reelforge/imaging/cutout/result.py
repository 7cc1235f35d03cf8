"""What every cut-out method returns: the RGBA image plus how it was made and how good it looks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image


@dataclass
class QAReport:
    """Checks a user would do by eye, as numbers and flags (see `imaging.cutout.qa`)."""

    coverage: float  # share of the image that is subject (alpha-weighted), 0..1
    halo: float  # mean colour error (0-255) of the edge band composited on black vs. the decontaminated edge
    flags: list[str] = field(default_factory=list)  # e.g. "empty-mask", "full-mask", "touches-border"
    leak: dict[str, Any] | None = None  # backdrop left in the cut-out, when checked against its source

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"coverage": round(self.coverage, 4), "halo": round(self.halo, 2),
                               "flags": list(self.flags)}
        if self.leak is not None:
            out["leak"] = dict(self.leak)
        return out


@dataclass
class CutoutResult:
    """An RGBA cut-out. `method` is the path actually taken, `reason` says why (for `auto`)."""

    image: Image.Image  # RGBA, same size as the input (before any --crop)
    method: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    qa: QAReport | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def mask(self) -> Image.Image:
        return self.image.getchannel("A")

    def metadata(self) -> dict[str, Any]:
        return {"method": self.method, "reason": self.reason, **self.details,
                "qa": self.qa.as_dict() if self.qa else None, "warnings": list(self.warnings)}
