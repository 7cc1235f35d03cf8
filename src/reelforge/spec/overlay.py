"""The overlay job: what to burn onto each video (images or styled text), where, how big, how
opaque and when; and how the result is encoded. `reelforge overlay --spec FILE` reads it; the
command's flags build the same document with one overlay."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelforge.spec.common import ANCHORS, Anchor
from reelforge.spec.text_style import Style

_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|px)?\s*$")
OutputFormat = Literal["auto", "mp4", "mov", "mkv", "webm", "webm-alpha", "mov-prores"]
Codec = Literal["auto", "h264", "h265", "vp9", "av1", "prores"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_length(value: Any) -> tuple[float, bool]:
    """`24`, `"24px"` → (24, False); `"5%"` → (5, True)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), False
    match = _LENGTH.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a length: use pixels (24) or a percentage (5%)")
    return float(match.group(1)), match.group(2) == "%"


def _check_length(value: Any) -> Any:
    number, percent = parse_length(value)
    if percent and number > 50:
        raise ValueError(f"{value!r}: a margin over 50% leaves no room")
    return value


def _position(value: Any) -> Any:
    """`"top-left"`, `"120,40"`, `"10%,5%"` or `[120, 40]` → an anchor name or an [x, y] pair."""
    if isinstance(value, str) and value not in ANCHORS and "," in value:
        return [part.strip() for part in value.split(",")]
    return value


class Overlay(Strict):
    """One image or text burned onto the video."""

    image: str | None = Field(None, description="A picture file (PNG with transparency, JPEG, WebP, …).")
    text: str | None = Field(None, description="Text to render with `style` (never passed to ffmpeg as text).")
    style: str | Style | None = Field(None, description="Text style: a preset name (`reelforge text --list`) or a "
                                                        "full style object (docs/text.md).")
    engine: Literal["local", "ai"] = Field("local", description="Who draws `text`: `local` (the typographic "
                                                               "engine) or `ai` (an image provider, cut out with key; "
                                                               "generated once, cached, scaled per frame size).")
    provider: str | None = Field(None, description="With `engine: ai`: the image provider (gemini, openai, imagen, "
                                                   "flux, sdwebui, local); default REELFORGE_IMAGE_PROVIDER.")
    position: Anchor | tuple[str | float, str | float] = Field(
        "bottom-right", description="An anchor (top-left … bottom-right) or the overlay's top-left corner as "
                                    "x,y in pixels or percentages of the frame (`10%,5%`).")
    margin: str | float = Field("5%", description="Distance from the frame edge at an anchor: pixels, or a "
                                                  "percentage of the frame's shorter side.")
    scale: float | None = Field(None, gt=0, le=4, description="Overlay width as a fraction of the video width. "
                                                              "Default: images 0.3; text at its style's size for "
                                                              "1080p, scaled with the frame.")
    opacity: float = Field(1.0, ge=0, le=1, description="0 = invisible, 1 = as drawn.")
    start: float = Field(0.0, ge=0, description="Seconds into the video when the overlay appears.")
    end: float | None = Field(None, gt=0, description="Seconds when it disappears (default: the end).")
    fade: float = Field(0.0, ge=0, le=30, description="Seconds of fade-in and of fade-out.")

    _position = field_validator("position", mode="before")(classmethod(lambda cls, v: _position(v)))
    _margin = field_validator("margin")(classmethod(lambda cls, v: _check_length(v)))

    @field_validator("position")
    @classmethod
    def _xy(cls, value: Any) -> Any:
        if isinstance(value, tuple):
            for part in value:
                if parse_length(part)[0] < 0:
                    raise ValueError("x and y must not be negative")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Overlay:
        if (self.image is None) == (self.text is None):
            raise ValueError("give exactly one of `image` or `text`")
        if self.text is not None and not self.text.strip():
            raise ValueError("`text` is empty")
        if self.text is None and (self.style is not None or self.engine != "local" or self.provider is not None):
            raise ValueError("`style`, `engine` and `provider` apply to `text` overlays only")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"`end` ({self.end}) must be after `start` ({self.start})")
        if self.end is not None and self.fade * 2 > self.end - self.start:
            raise ValueError("the fade-in and fade-out together are longer than the overlay's window")
        return self


class Encoding(Strict):
    """How the result is encoded. `auto` matches the input: same codec, pixel format (10-bit
    stays 10-bit) and bitrate, same container."""

    format: OutputFormat = Field("auto", description="Container: `auto` keeps the input's; `webm-alpha` (VP9 with "
                                                     "alpha) and `mov-prores` (ProRes 4444) keep transparency.")
    codec: Codec = Field("auto", description="Video codec; `auto` matches the input's.")
    crf: int | None = Field(None, ge=0, le=63, description="Constant quality instead of the input's bitrate "
                                                           "(x264/x265: 18 ≈ visually lossless; VP9/AV1: 30).")
    preset: str = Field("medium", pattern=r"^[a-z]+$", description="x264/x265 speed preset (ultrafast … veryslow).")


class OverlayJob(Strict):
    """A spec file for `reelforge overlay --spec`: overlays applied to every input video."""

    overlays: list[Overlay] = Field(min_length=1, description="Overlays, bottom first.")
    encoding: Encoding = Field(default_factory=Encoding, description="Output encoding.")
