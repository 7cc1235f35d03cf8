"""Backgrounds a cut-out subject is composited onto, and the contact shadow that grounds it.

A background is one of four types, told apart by `type`: a flat `color`, a linear `gradient`,
an `image` file, or a procedural `texture` (wood, marble, concrete, paper, studio sweep).
Shorthands are expanded here, once: a plain colour string (`"#223344"`, `"navy"`) is a colour
background and a texture name (`"marble"`) is that texture with its default look.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from reelforge.spec.common import Color, parse_color

TEXTURE_NAMES = ("wood", "marble", "concrete", "paper", "studio")
TextureName = Literal["wood", "marble", "concrete", "paper", "studio"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently do nothing."""

    model_config = ConfigDict(extra="forbid")


class ColorBackground(Strict):
    """One flat colour."""

    type: Literal["color"] = Field("color", description="Which kind of background this is.")
    color: Color = Field(description="Fill colour: a name (white), #rrggbb or #rgb.")


class GradientBackground(Strict):
    """A linear gradient through evenly spaced colour stops (dithered, so no banding after encoding)."""

    type: Literal["gradient"] = Field("gradient", description="Which kind of background this is.")
    stops: list[Color] = Field(min_length=2, description="Two or more colours, from the start of the gradient to its end.")
    angle: float = Field(180, description="Direction in degrees, CSS style: 180 = top→bottom, 90 = left→right.")


class ImageBackground(Strict):
    """A picture file filling the frame."""

    type: Literal["image"] = Field("image", description="Which kind of background this is.")
    path: str = Field(description="Image file (PNG, JPEG, WebP, …); relative to the spec file, or `sample:NAME`.")
    fit: Literal["cover", "contain-blur"] = Field(
        "cover", description="cover = fill the frame, cropping the overflow; contain-blur = whole image "
                             "over a blurred, darkened copy of itself.")
    blur: float | None = Field(None, ge=0, le=200, description="Gaussian blur radius in pixels at 1080p (scaled "
                                                               "with the frame), to push a busy photo out of focus.")


class TextureBackground(Strict):
    """A procedural surface, drawn locally (no generator needed); the same seed and size give the same pixels."""

    type: Literal["texture"] = Field("texture", description="Which kind of background this is.")
    name: TextureName = Field(description="wood = planks with rings and grain; marble = white stone with thin "
                                          "veins; concrete = mottled grey with speckle and pores; paper = warm "
                                          "off-white fibres; studio = seamless wall-to-floor sweep with soft light.")
    color: Color | None = Field(None, description="Base colour of the material (tints it); default: its natural colour.")
    seed: int = Field(0, ge=0, description="Random seed: another seed gives another piece of the same material.")
    scale: float = Field(1.0, gt=0, le=10, description="Size of the features (grain, veins, mottling): 2 = twice "
                                                       "as large. Relative to the frame, so 1080p and 4K look alike.")


def expand_background(value: Any) -> Any:
    """`"marble"` → a marble texture; `"#223344"` → a colour background; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.strip().lower() in TEXTURE_NAMES:
        return {"type": "texture", "name": value.strip().lower()}
    try:
        parse_color(value)
    except ValueError:
        raise ValueError(f"unknown background {value!r}: use a colour (#rrggbb or a name) or a texture: "
                         f"{', '.join(TEXTURE_NAMES)}") from None
    return {"type": "color", "color": value}


BackgroundSpec = ColorBackground | GradientBackground | ImageBackground | TextureBackground
Background = Annotated[
    ColorBackground | GradientBackground | ImageBackground | TextureBackground,
    Field(discriminator="type"),
    BeforeValidator(expand_background),
]
_BACKGROUND = TypeAdapter(Background)


def parse_background(value: Any) -> BackgroundSpec:
    """Validate a background given as a dict, a shorthand string or a model (raises ValidationError)."""
    return _BACKGROUND.validate_python(value)


def background_json_schema() -> dict[str, Any]:
    return _BACKGROUND.json_schema()


class ContactShadow(Strict):
    """A soft dark ellipse under the subject's base, multiplied onto the background (its texture
    shows through), plus an optional faint drop shadow cast by the subject's own silhouette."""

    opacity: float = Field(0.45, ge=0, le=1, description="Darkness at the ellipse's centre: 0 = none, 1 = full colour.")
    width: float = Field(1.1, gt=0, le=4, description="Ellipse width as a multiple of the subject's base (the "
                                                      "opaque columns of its lowest rows).")
    flatten: float = Field(0.1, gt=0, le=1, description="Ellipse height as a fraction of its width (small = flat).")
    blur: float = Field(0.6, ge=0, le=5, description="Softness: Gaussian sigma as a fraction of the ellipse's height.")
    offset: tuple[float, float] = Field((0.0, 0.0), description="Shift (x, y) of the ellipse, fractions of the "
                                                                "subject's height; +y moves it down.")
    color: Color = Field("#000000", description="Shadow colour; multiplied, so black darkens and a tint colours.")
    drop_opacity: float = Field(0.0, ge=0, le=1, description="Strength of a drop shadow from the subject's "
                                                             "silhouette (0 = off; 0.15–0.25 looks natural).")
    drop_offset: tuple[float, float] = Field((0.0, 0.03), description="Shift (x, y) of the drop shadow, fractions "
                                                                      "of the subject's height.")
    drop_blur: float = Field(0.04, ge=0, le=1, description="Drop shadow softness: Gaussian sigma as a fraction of "
                                                           "the subject's height.")
