"""The text style document: font, fill, outlines, shadows, glow, 3D extrusion, bevel, layout and
an optional badge behind the text. Named presets (`spec/text_presets.yaml`) are instances.

Lengths are in **em**, multiples of the font size (0.05 at size 120 px = 6 px), so a style keeps
its proportions at any size and when auto-fit shrinks the text. `docs/text.md` is generated
from this schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelforge.spec.common import Color


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> Any:
    """`stroke: {...}` and `stroke: [{...}, ...]` both work; null means none."""
    if value is None:
        return []
    return [value] if isinstance(value, dict) else value


class Fill(Strict):
    """How glyphs (or a badge) are painted."""

    type: Literal["solid", "linear", "radial", "metallic"] = Field(
        "solid", description="`solid` colour, `linear` or `radial` gradient, or `metallic` (banded highlights "
                             "derived from `color`, or from `colors` when given).")
    color: Color = Field("#ffffff", description="Colour of a solid fill; base colour of a metallic one.")
    colors: list[Color] = Field(default_factory=list, description="Gradient stops, evenly spaced (≥ 2 for gradients).")
    angle: float = Field(180, description="Linear/metallic direction in degrees, CSS-style: 180 = top → bottom, "
                                          "90 = left → right.")
    center: tuple[float, float] = Field((0.5, 0.5), description="Radial centre as fractions of the text box.")
    radius: float = Field(0.75, gt=0, le=4, description="Radial extent as a fraction of the box diagonal.")

    @model_validator(mode="after")
    def _stops(self) -> Fill:
        if self.type in ("linear", "radial") and len(self.colors) < 2:
            raise ValueError(f"a {self.type} fill needs at least two `colors`")
        return self


def _fill_shorthand(value: Any) -> Any:
    """A plain colour string is a solid fill."""
    return {"type": "solid", "color": value} if isinstance(value, str) else value


class Stroke(Strict):
    """An outline around the glyphs; several are drawn widest first, so they nest."""

    width: float = Field(0.05, gt=0, le=1, description="Outline width from the glyph edge, em.")
    color: Color = Field("#000000", description="Outline colour.")
    opacity: float = Field(1.0, ge=0, le=1, description="0 = invisible, 1 = opaque.")


class Shadow(Strict):
    """A drop shadow of the text with its outlines and extrusion."""

    offset: tuple[float, float] = Field((0.04, 0.05), description="Shift right and down, em.")
    blur: float = Field(0.04, ge=0, le=2, description="Gaussian blur radius, em.")
    color: Color = Field("#000000", description="Shadow colour.")
    opacity: float = Field(0.6, ge=0, le=1, description="Shadow opacity.")


class Glow(Strict):
    """An outer glow (neon): the silhouette grown by `spread`, blurred by `radius`."""

    radius: float = Field(0.15, gt=0, le=2, description="Blur radius, em.")
    spread: float = Field(0.0, ge=0, le=1, description="Grow the silhouette before blurring, em.")
    color: Color = Field("#00e5ff", description="Glow colour.")
    opacity: float = Field(0.9, ge=0, le=1, description="Glow opacity.")


class Extrude(Strict):
    """3D extrusion: copies of the silhouette stepped back along `angle`, shaded towards the back."""

    depth: float = Field(0.12, gt=0, le=1, description="Extrusion depth, em.")
    angle: float = Field(135, description="Direction the extrusion goes, degrees: 90 = right, 180 = down, "
                                          "135 = down-right.")
    color: Color = Field("#8a5a00", description="Colour of the extrusion next to the face.")
    shading: float = Field(0.5, ge=0, le=1, description="How much darker the back end is (0 = flat colour).")


class Bevel(Strict):
    """A chiselled edge lit from `angle`: highlights on the lit side, shade on the other."""

    size: float = Field(0.04, gt=0, le=0.5, description="Width of the bevelled edge, em.")
    angle: float = Field(315, description="Direction the light comes from, degrees (315 = top-left).")
    strength: float = Field(0.6, ge=0, le=1, description="0 = none, 1 = full white highlights and black shade.")


class Accent(Strict):
    """A bar along one side of the background (lower thirds)."""

    color: Color = Field("#ffcc00", description="Bar colour.")
    width: float = Field(0.12, gt=0, le=2, description="Bar thickness, em.")
    side: Literal["left", "right", "top", "bottom"] = Field("left", description="Which side of the background.")


class Background(Strict):
    """A badge behind the text: rectangle, rounded rectangle or pill."""

    shape: Literal["rect", "rounded", "pill"] = Field("rounded", description="Badge shape.")
    fill: Fill = Field(default_factory=lambda: Fill(color="#e0182d"), description="Badge paint (a colour works too).")
    padding: tuple[float, float] = Field((0.3, 0.18), description="Space around the text: horizontal, vertical, em.")
    radius: float = Field(0.2, ge=0, le=4, description="Corner radius of `rounded`, em.")
    stroke: Stroke | None = Field(None, description="Outline around the badge.")
    shadow: Shadow | None = Field(None, description="Drop shadow of the badge.")
    accent: Accent | None = Field(None, description="A bar along one side.")
    opacity: float = Field(1.0, ge=0, le=1, description="Badge opacity (the text stays opaque).")

    _fill = field_validator("fill", mode="before")(classmethod(lambda cls, v: _fill_shorthand(v)))


class Style(Strict):
    """A complete text look. Every effect is optional and they compose in a fixed order, back to
    front: badge shadow, badge, text shadows, glows, extrusion, outlines, fill (with bevel)."""

    font: str = Field("sans", description="Family (`reelforge fonts`: geometric, condensed, serif, script, mono, sans, "
                                          "…) or a .ttf/.otf path.")
    weight: int = Field(700, ge=100, le=900, description="400 regular, 700 bold, 900 black (nearest file, or the "
                                                         "variable-font axis).")
    size: float = Field(120, gt=2, le=2000, description="Font size in pixels (the em).")
    fill: Fill = Field(default_factory=Fill, description="Glyph paint; a plain colour string means solid.")
    stroke: list[Stroke] = Field(default_factory=list, description="Outlines (one object or a list).")
    shadow: list[Shadow] = Field(default_factory=list, description="Drop shadows (one object or a list).")
    glow: list[Glow] = Field(default_factory=list, description="Outer glows (one object or a list).")
    extrude: Extrude | None = Field(None, description="3D extrusion.")
    bevel: Bevel | None = Field(None, description="Bevelled, lit glyph edges.")
    background: Background | None = Field(None, description="A badge behind the text.")
    uppercase: bool = Field(False, description="Set the text in capitals.")
    letter_spacing: float = Field(0.0, ge=-0.2, le=2, description="Extra space between letters, em (not applied "
                                                                  "inside joined scripts such as Arabic).")
    line_height: float = Field(1.15, ge=0.6, le=4, description="Distance between baselines, multiples of the size.")
    align: Literal["left", "center", "right"] = Field("center", description="Alignment of lines in the block.")
    max_width: int | None = Field(None, ge=8, le=20000, description="Wrap lines at this width in pixels.")
    box: tuple[int, int] | None = Field(None, description="Auto-fit: the text block (wrapped at the box width) "
                                                          "must fit this width × height in pixels.")
    fit: Literal["shrink", "fill"] = Field("shrink", description="With `box`: `shrink` only makes the size smaller; "
                                                                 "`fill` grows or shrinks to the largest that fits.")
    rotate: float = Field(0.0, ge=-180, le=180, description="Rotate the finished image, degrees counter-clockwise.")
    margin: float = Field(0.04, ge=0, le=2, description="Transparent margin around the tight crop, em.")
    description: str = Field("", description="What the style is for (shown by `reelforge text --list`).")

    _fill = field_validator("fill", mode="before")(classmethod(lambda cls, v: _fill_shorthand(v)))
    _lists = field_validator("stroke", "shadow", "glow", mode="before")(classmethod(lambda cls, v: _as_list(v)))

    @field_validator("box")
    @classmethod
    def _positive_box(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and min(value) < 8:
            raise ValueError("box width and height must be at least 8 pixels")
        return value

    def px(self, em: float) -> float:
        """An em length in pixels at this style's size."""
        return em * self.size
