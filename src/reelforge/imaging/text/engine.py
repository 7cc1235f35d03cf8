"""The effects engine: a `Style` (spec/text_style.py) and a string → a tight RGBA image.

Order of work: lay the text out (wrap, letter spacing, auto-fit to a box), draw glyph and
outline masks once on a canvas padded for every effect's reach, build the layers from those
masks back to front, crop to the ink plus a margin, and rotate last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from reelforge.imaging.text import effects as fx
from reelforge.imaging.text.layout import Setter, wrap
from reelforge.spec.text_style import Background, Style

MIN_SIZE = 6


@dataclass(frozen=True)
class Block:
    """Laid-out lines in one size: measures and draws masks."""

    setter: Setter
    lines: list[str]
    widths: list[float]
    line_h: int
    ascent: int
    descent: int
    align: str

    @property
    def width(self) -> int:
        return max(1, math.ceil(max(self.widths, default=1)))

    @property
    def height(self) -> int:
        return self.line_h * (len(self.lines) - 1) + self.ascent + self.descent

    def mask(self, size: tuple[int, int], origin: tuple[int, int], stroke: float = 0.0) -> Image.Image:
        """Glyphs (grown by `stroke` px when given) as an L image; `origin` is the block's top-left."""
        out = Image.new("L", size, 0)
        draw = ImageDraw.Draw(out)
        for i, (line, w) in enumerate(zip(self.lines, self.widths)):
            x = origin[0] + {"left": 0.0, "center": (self.width - w) / 2, "right": self.width - w}[self.align]
            baseline = origin[1] + self.ascent + i * self.line_h
            self.setter.draw(draw, line, x, baseline, fill=255, stroke_width=stroke, stroke_fill=255)
        return out


def _block(text: str, style: Style, size: int, field: str | None) -> Block:
    setter = Setter(style.font, size, style.weight, field, letter_spacing=style.letter_spacing * size)
    limits = [v for v in (style.max_width, style.box[0] if style.box else None) if v]
    lines = wrap(text, setter, min(limits)) if limits else text.split("\n")
    ascent, descent = setter.metrics()
    return Block(setter, lines, [setter.width(line) for line in lines], round(size * style.line_height),
                 ascent, descent, style.align)


def _fits(block: Block, style: Style, size: int) -> bool:
    outline = 2 * max((s.width * size for s in style.stroke), default=0.0)
    if style.box is not None:
        return block.width + outline <= style.box[0] and block.height + outline <= style.box[1]
    return style.max_width is None or block.width <= style.max_width


def layout(text: str, style: Style, field: str | None = None) -> tuple[Block, int]:
    """The block and the font size actually used: the style's size, or the largest that fits
    `box` (never larger than the style's size unless `fit: fill`), or that fits `max_width` when a
    single word is wider than it."""
    size = max(MIN_SIZE, round(style.size))
    block = _block(text, style, size, field)
    if _fits(block, style, size) and not (style.box is not None and style.fit == "fill"):
        return block, size
    # A glyph box is taller than its em, so no size above twice the box height can fit it.
    low, high = MIN_SIZE, size if style.fit == "shrink" or style.box is None else max(size, 2 * style.box[1])
    best = _block(text, style, low, field)
    while low < high:  # binary search for the largest size that fits
        mid = (low + high + 1) // 2
        candidate = _block(text, style, mid, field)
        if _fits(candidate, style, mid):
            low, best = mid, candidate
        else:
            high = mid - 1
    return best, low


def _reach(style: Style, em: float) -> int:
    """How far any effect can paint outside the text block, in pixels."""
    reach = [max((s.width for s in style.stroke), default=0.0)]
    reach += [max(abs(s.offset[0]), abs(s.offset[1])) + 3 * s.blur for s in style.shadow]
    reach += [g.spread + 3 * g.radius for g in style.glow]
    reach += [style.extrude.depth] if style.extrude else []
    if style.background is not None:
        bg = style.background
        extra = (bg.stroke.width if bg.stroke else 0) + (bg.accent.width if bg.accent else 0)
        shadow = max(abs(v) for v in bg.shadow.offset) + 3 * bg.shadow.blur if bg.shadow else 0
        reach.append(max(bg.padding) + extra + shadow)
    return math.ceil(max(reach) * em) + 4


def _ink_box(mask: Image.Image) -> tuple[int, int, int, int]:
    box = mask.getbbox()
    return box if box else (0, 0, 1, 1)


def _text_layers(block: Block, style: Style, size: tuple[int, int], origin: tuple[int, int],
                 em: float) -> Image.Image:
    """The text with its own effects, without the badge."""
    glyphs = block.mask(size, origin)
    strokes = sorted(style.stroke, key=lambda s: -s.width)
    stroke_masks = [block.mask(size, origin, stroke=s.width * em) for s in strokes]
    silhouette = fx.union(glyphs, *stroke_masks)
    extruded = fx.extrusion(silhouette, style.extrude, em) if style.extrude else None
    shape = fx.union(silhouette, extruded.getchannel("A")) if extruded else silhouette
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    for shadow in style.shadow:
        out.alpha_composite(fx.drop_shadow(shape, shadow, em))
    for glow in style.glow:
        out.alpha_composite(fx.glow(shape, glow, em))
    if extruded is not None:
        out.alpha_composite(extruded)
    for stroke, mask in zip(strokes, stroke_masks):
        out.alpha_composite(fx.colored(mask, stroke.color, stroke.opacity))
    face = fx.painted(glyphs, style.fill, _ink_box(glyphs))
    out.alpha_composite(fx.bevel(face, glyphs, style.bevel, em) if style.bevel else face)
    return out


def _badge(bg: Background, size: tuple[int, int], ink: tuple[int, int, int, int], em: float) -> Image.Image:
    """The badge behind the text, sized from the text's ink box plus padding."""
    px, py = round(bg.padding[0] * em), round(bg.padding[1] * em)
    box = (ink[0] - px, ink[1] - py, ink[2] + px, ink[3] + py)
    mask = fx.badge_mask(size, box, bg.shape, bg.radius * em)
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    outline = fx.dilate(mask, bg.stroke.width * em) if bg.stroke else mask
    if bg.accent is not None:
        outline = fx.union(outline, fx.badge_mask(size, fx.accent_box(box, bg.accent, em), "rect", 0))
    if bg.shadow is not None:
        out.alpha_composite(fx.drop_shadow(outline, bg.shadow, em))
    if bg.stroke is not None:
        out.alpha_composite(fx.colored(outline, bg.stroke.color, bg.stroke.opacity))
    if bg.accent is not None:
        bar = fx.badge_mask(size, fx.accent_box(box, bg.accent, em), "rect", 0)
        out.alpha_composite(fx.colored(bar, bg.accent.color))
    out.alpha_composite(fx.painted(mask, bg.fill, box))
    if bg.opacity < 1:
        out.putalpha(out.getchannel("A").point(lambda v: round(v * bg.opacity)))
    return out


def _crop(image: Image.Image, margin: int) -> Image.Image:
    """Crop to the visible pixels (alpha above 2/255: a blur's far tail is invisible), add `margin`."""
    box = image.getchannel("A").point(lambda v: 255 if v > 2 else 0).getbbox()
    if box is None:
        return Image.new("RGBA", (1 + 2 * margin, 1 + 2 * margin), (0, 0, 0, 0))
    crop = image.crop(box)
    out = Image.new("RGBA", (crop.width + 2 * margin, crop.height + 2 * margin), (0, 0, 0, 0))
    out.paste(crop, (margin, margin))
    return out


def render_styled(text: str, style: Style, *, field: str | None = None) -> Image.Image:
    """Render `text` in `style` to an RGBA image, tight-cropped with `style.margin`. With a
    `box`, the finished image — shadows, glow, badge, rotation and margin included — fits it:
    the layout fits the glyphs, so when the effects push past the box the text is laid out again
    in a box smaller by the overshoot (a few rounds), and a last sliver is scaled away."""
    image = _render_once(text, style, field)
    if style.box is None:
        return image
    target, inner = (round(style.box[0]), round(style.box[1])), style
    for _ in range(4):
        if image.width <= target[0] and image.height <= target[1]:
            return image
        ratio = min(target[0] / image.width, target[1] / image.height)
        assert inner.box is not None
        smaller = (max(8, math.floor(inner.box[0] * ratio)), max(8, math.floor(inner.box[1] * ratio)))
        inner = inner.model_copy(update={"box": smaller})
        image = _render_once(text, inner, field)
    if image.width > target[0] or image.height > target[1]:
        image = image.copy()
        image.thumbnail(target, Image.Resampling.LANCZOS)
    return image


def _render_once(text: str, style: Style, field: str | None) -> Image.Image:
    if style.uppercase:
        text = text.upper()
    block, size_px = layout(text, style, field)
    em = float(size_px)
    pad = _reach(style, em)
    canvas = (block.width + 2 * pad, block.height + 2 * pad)
    text_layer = _text_layers(block, style, canvas, (pad, pad), em)
    out = Image.new("RGBA", canvas, (0, 0, 0, 0))
    if style.background is not None:
        glyph_ink = _ink_box(block.mask(canvas, (pad, pad)))
        out.alpha_composite(_badge(style.background, canvas, glyph_ink, em))
    out.alpha_composite(text_layer)
    margin = round(style.margin * em)
    if style.rotate:
        out = _crop(out, 2).rotate(style.rotate, resample=Image.Resampling.BICUBIC, expand=True)
    return _crop(out, margin)
