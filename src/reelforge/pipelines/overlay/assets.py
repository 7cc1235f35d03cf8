"""Overlay pictures prepared for one frame size: scaled, faded to their opacity, placed, timed.

Text is rendered to an RGBA image here (at the size it will be shown, so it stays crisp), so no
user text ever reaches an ffmpeg filter string. A batch shares one `AssetCache`: each source
image is decoded once and each (overlay, frame size) pair is prepared once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from reelforge.errors import InputError
from reelforge.imaging.load import load_image
from reelforge.imaging.stills import with_opacity
from reelforge.pipelines.text import text_image
from reelforge.spec.common import anchor_xy
from reelforge.spec.overlay import Overlay, parse_length
from reelforge.spec.text_presets import get_style
from reelforge.spec.text_style import Style

DEFAULT_IMAGE_SCALE = 0.3
DEFAULT_TEXT_STYLE = "bold-outline"
REFERENCE_SHORT_SIDE = 1080  # text styles are sized for 1080p frames
Size = tuple[int, int]


@dataclass(frozen=True)
class PlacedOverlay:
    """An overlay ready for the graph: its PNG, top-left corner and time window in seconds."""

    png: Path
    size: Size
    x: int
    y: int
    start: float
    end: float | None  # None: until the video ends
    fade: float


def _margin_px(item: Overlay, frame: Size) -> int:
    value, percent = parse_length(item.margin)
    return round(value / 100 * min(frame)) if percent else round(value)


def _resize_to_width(image: Image.Image, width: int) -> Image.Image:
    width = max(1, width)
    height = max(1, round(image.height * width / image.width))
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.LANCZOS)


def _scaled(style: Style, factor: float) -> dict[str, Any]:
    """Overrides that draw `style` `factor` times larger: the size, and the pixel widths with it
    (em lengths follow the size by themselves)."""
    overrides: dict[str, Any] = {"size": style.size * factor}
    if style.max_width is not None:
        overrides["max_width"] = max(8, round(style.max_width * factor))
    if style.box is not None:
        overrides["box"] = (max(8, round(style.box[0] * factor)), max(8, round(style.box[1] * factor)))
    return overrides


def _text_picture(item: Overlay, frame: Size) -> Image.Image:
    """Rendered at its display size: the style's 1080p size scaled with the frame, or re-rendered
    at the size that makes it `scale` × the frame width."""
    assert item.text is not None
    base = item.style if isinstance(item.style, Style) else get_style(item.style or DEFAULT_TEXT_STYLE)
    natural = min(frame) / REFERENCE_SHORT_SIDE
    image = text_image(item.text, base, _scaled(base, natural))
    if item.engine == "ai":
        return _ai_text_picture(item, base, image.width if item.scale is None else round(item.scale * frame[0]))
    if item.scale is None:
        return image
    target = round(item.scale * frame[0])
    image = text_image(item.text, base, _scaled(base, natural * target / image.width))
    return _resize_to_width(image, target)


def _ai_text_picture(item: Overlay, style: Style, width: int) -> Image.Image:
    """Drawn by an image provider once (the run caches it, so other frame sizes cost no call) and
    scaled to `width`: by default the width the typographic engine gives the same text."""
    assert item.text is not None
    image = text_image(item.text, style, engine="ai", provider=item.provider)
    return _resize_to_width(image, width)


class AssetCache:
    """Source images decoded once per batch; prepared PNGs written once per frame size."""

    def __init__(self, items: list[Overlay], work_dir: Path) -> None:
        self.items, self.work_dir = items, work_dir
        self._sources: dict[int, Image.Image] = {}
        self._prepared: dict[tuple[int, Size], tuple[Path, Size, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def source(self, index: int) -> Image.Image:
        item = self.items[index]
        if index not in self._sources:
            assert item.image is not None
            self._sources[index] = load_image(item.image, field=f"overlays[{index}].image")
        return self._sources[index]

    def picture(self, index: int, frame: Size) -> tuple[Path, Size, tuple[str, ...]]:
        """The overlay's PNG for this frame size, its size, and any warnings."""
        with self._lock:  # one thread prepares a given picture; the others reuse it
            key = (index, frame)
            if key not in self._prepared:
                self._prepared[key] = self._prepare(index, frame)
            return self._prepared[key]

    def _prepare(self, index: int, frame: Size) -> tuple[Path, Size, tuple[str, ...]]:
        item = self.items[index]
        if item.text is not None:
            image = _text_picture(item, frame)
        else:
            image = _resize_to_width(self.source(index), round((item.scale or DEFAULT_IMAGE_SCALE) * frame[0]))
        image, warnings = _fit_inside(image, item, frame, index)
        image = with_opacity(image, item.opacity)
        path = self.work_dir / f"overlay-{index}-{frame[0]}x{frame[1]}.png"
        image.save(path, format="PNG", compress_level=1)  # a temp file: speed over size
        return path, image.size, warnings


def _fit_inside(image: Image.Image, item: Overlay, frame: Size, index: int) -> tuple[Image.Image, tuple[str, ...]]:
    """An overlay larger than the frame (inside its margins) is scaled down to fit, and says so."""
    margin = 2 * _margin_px(item, frame) if isinstance(item.position, str) else 0
    room = (max(2, frame[0] - margin), max(2, frame[1] - margin))
    if image.width <= room[0] and image.height <= room[1]:
        return image, ()
    factor = min(room[0] / image.width, room[1] / image.height)
    fitted = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                          Image.Resampling.LANCZOS)
    return fitted, (f"overlays[{index}] ({image.width}x{image.height}) is larger than the {frame[0]}x{frame[1]} "
                    f"frame; scaled down to {fitted.width}x{fitted.height}",)


def place(item: Overlay, size: Size, frame: Size, index: int, video: str) -> tuple[int, int]:
    """Top-left corner of the overlay in the displayed frame."""
    if isinstance(item.position, str):
        margin = _margin_px(item, frame)
        return anchor_xy(item.position, size, frame, (margin, margin))
    coords = []
    for value, extent in zip(item.position, frame):
        number, percent = parse_length(value)
        coords.append(round(number / 100 * extent) if percent else round(number))
    x, y = coords
    if x >= frame[0] or y >= frame[1]:
        raise InputError(f"{video}: overlays[{index}].position {x},{y} is outside the {frame[0]}x{frame[1]} frame",
                         hint="use coordinates inside the frame, a percentage (10%,5%) or an anchor (top-right)")
    return x, y


def window(item: Overlay, duration: float | None, index: int, video: str) -> tuple[float, float | None, float]:
    """(start, end or None for 'to the end', fade), checked against the video's duration."""
    if duration is None:
        return item.start, item.end, item.fade
    if item.start >= duration:
        raise InputError(f"{video}: overlays[{index}] starts at {item.start:g} s but the video is only "
                         f"{duration:.2f} s long", hint=f"use a --start below {duration:.2f} (or leave this video out)")
    end = item.end if item.end is not None and item.end < duration else None
    span = (end if end is not None else duration) - item.start
    return item.start, end, min(item.fade, span / 2)
