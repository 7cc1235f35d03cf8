"""Small shared spec types: colours, anchors, canvas presets."""

from __future__ import annotations

from typing import Annotated, Literal

from PIL import ImageColor
from pydantic import AfterValidator

ANCHORS = (
    "top-left", "top", "top-right",
    "left", "center", "right",
    "bottom-left", "bottom", "bottom-right",
)
Anchor = Literal[
    "top-left", "top", "top-right",
    "left", "center", "right",
    "bottom-left", "bottom", "bottom-right",
]

ASPECTS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5),
    "4:3": (4, 3), "3:4": (3, 4), "21:9": (21, 9),
}
# Resolution names give the short side of the frame, as on video platforms.
RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "4k": 2160}


def parse_color(value: str) -> tuple[int, int, int, int]:
    """CSS-style colour (`#rgb`, `#rrggbb`, `#rrggbbaa`, names, `transparent`) -> RGBA."""
    text = value.strip().lower()
    if text == "transparent":
        return (0, 0, 0, 0)
    rgba = ImageColor.getcolor(text, "RGBA")
    assert isinstance(rgba, tuple)
    return (rgba[0], rgba[1], rgba[2], rgba[3])


def _check_color(value: str) -> str:
    try:
        parse_color(value)
    except ValueError:
        raise ValueError(
            f"unknown colour {value!r}: use a name (white), #rrggbb, #rrggbbaa or 'transparent'"
        ) from None
    return value


Color = Annotated[str, AfterValidator(_check_color)]


def anchor_xy(anchor: str, box: tuple[int, int], canvas: tuple[int, int], margin: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of a `box`-sized item placed at `anchor` inside `canvas` with `margin`."""
    (bw, bh), (cw, ch), (mx, my) = box, canvas, margin
    col = 0 if anchor.endswith("left") else 2 if anchor.endswith("right") else 1
    row = 0 if anchor.startswith("top") else 2 if anchor.startswith("bottom") else 1
    x = (mx, (cw - bw) // 2, cw - bw - mx)[col]
    y = (my, (ch - bh) // 2, ch - bh - my)[row]
    return x, y


def even(value: float) -> int:
    """Round to the nearest even integer (yuv420p needs even frame sizes)."""
    return max(2, int(round(value / 2.0)) * 2)
