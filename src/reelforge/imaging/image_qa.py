"""Checks a generated image must pass before it goes into a video: it decodes, it is big enough,
its aspect is what was asked for, and it is not blank. A failure names the check, so the
pipeline can regenerate (with a new seed) and the report can say why."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from reelforge.errors import ReelforgeError


class QAFailed(ReelforgeError):
    """An image failed a check; `flags` names which (e.g. "blank", "too-small", "aspect")."""

    def __init__(self, message: str, flags: list[str]) -> None:
        super().__init__(message)
        self.flags = flags


@dataclass(frozen=True)
class ImageChecks:
    min_size: int = 256
    aspect: float | None = None  # width / height asked for
    aspect_tolerance: float = 0.05
    min_contrast: float = 4.0  # std dev of luma (0-255) below which an image is blank


@dataclass
class ImageQA:
    width: int
    height: int
    contrast: float
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"width": self.width, "height": self.height, "contrast": round(self.contrast, 2),
                "flags": list(self.flags)}


def inspect_image(data: bytes, checks: ImageChecks) -> ImageQA:
    """Measure `data` (an encoded image) against `checks`; never raises for a bad image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except Exception as exc:  # Pillow raises many types for broken data
        return ImageQA(0, 0, 0.0, ["undecodable"], [f"the image does not decode ({exc})"])
    qa = ImageQA(rgb.width, rgb.height, _luma_std(rgb))
    if min(rgb.size) < checks.min_size:
        qa.flags.append("too-small")
        qa.problems.append(f"{rgb.width}x{rgb.height} is smaller than {checks.min_size} px on its short side")
    if checks.aspect and abs(rgb.width / rgb.height / checks.aspect - 1) > checks.aspect_tolerance:
        qa.flags.append("aspect")
        qa.problems.append(f"aspect {rgb.width / rgb.height:.3f} differs from the {checks.aspect:.3f} asked for "
                           f"by more than {checks.aspect_tolerance:.0%}")
    if qa.contrast < checks.min_contrast:
        qa.flags.append("blank")
        qa.problems.append(f"the image is blank or near-uniform (contrast {qa.contrast:.1f} < {checks.min_contrast:g})")
    return qa


def check_image(data: bytes, checks: ImageChecks) -> ImageQA:
    """`inspect_image`, raising QAFailed when any check fails."""
    qa = inspect_image(data, checks)
    if qa.flags:
        raise QAFailed("; ".join(qa.problems), qa.flags)
    return qa


def _luma_std(rgb: Image.Image) -> float:
    small = rgb.copy()
    small.thumbnail((256, 256))  # the std of a thumbnail is plenty to tell blank from not
    return float(np.asarray(small.convert("L"), np.float32).std())
