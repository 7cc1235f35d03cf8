"""Plain text: one colour with an optional outline, drop shadow and rounded box, as a tight RGBA
image (shaping, fallback and bidi come from `layout`). Used for labels (draft cards, contact
sheets) and timeline text layers written without a `style`; the effects engine with the named
presets (`reelforge text`, overlays, `style:` on text layers) is `engine.render_styled`.

Text never goes into an ffmpeg filter string; the renderer overlays this image instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from reelforge.imaging.text.layout import Setter, wrap
from reelforge.spec.common import parse_color


@dataclass(frozen=True)
class PlainTextStyle:
    font: str = "sans"
    weight: int = 700
    size_px: int = 64
    color: str = "#ffffff"
    stroke_width: int = 0
    stroke_color: str = "#000000"
    shadow_offset: tuple[int, int] | None = None
    shadow_blur: float = 0.0
    shadow_color: str = "#000000b0"
    box_color: str | None = None
    box_padding: int = 0
    box_radius: int = 0
    align: str = "center"
    max_width: int = 10_000
    line_spacing: float = 1.2


def _setter(style: PlainTextStyle, field: str | None) -> Setter:
    return Setter(style.font, style.size_px, style.weight, field)


def _fit_size(text: str, style: PlainTextStyle, field: str | None) -> tuple[PlainTextStyle, Setter, list[str]]:
    """Shrink the font until the widest unbreakable line fits `max_width` (auto-fit)."""
    for _ in range(12):
        setter = _setter(style, field)
        lines = wrap(text, setter, style.max_width)
        widest = max((setter.width(line) for line in lines), default=0)
        if widest <= style.max_width or style.size_px <= 8:
            return style, setter, lines
        style = PlainTextStyle(**{**style.__dict__, "size_px": max(8, int(style.size_px * style.max_width / widest))})
    return style, setter, lines


def render_plain_text(text: str, style: PlainTextStyle, *, field: str | None = None) -> Image.Image:
    """Render `text` to a tight RGBA image (margins include stroke, shadow and box)."""
    style, setter, lines = _fit_size(text, style, field)
    ascent, descent = setter.metrics()
    line_h = round(style.size_px * style.line_spacing)
    widths = [setter.width(line) for line in lines]
    text_w = max(1, round(max(widths, default=1)))
    text_h = line_h * (len(lines) - 1) + ascent + descent
    pad = style.stroke_width + style.box_padding
    shadow_pad = (max(abs(v) for v in style.shadow_offset) + int(style.shadow_blur * 2)) if style.shadow_offset else 0
    margin = pad + shadow_pad + 2
    size = (text_w + 2 * margin, text_h + 2 * margin)

    def lines_layer(fill: tuple[int, int, int, int], stroke: bool) -> Image.Image:
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for i, (line, w) in enumerate(zip(lines, widths)):
            x = margin + {"left": 0, "center": (text_w - w) / 2, "right": text_w - w}[style.align]
            kw: dict[str, Any] = {"fill": fill}
            if stroke and style.stroke_width:
                kw |= {"stroke_width": style.stroke_width, "stroke_fill": parse_color(style.stroke_color)}
            setter.draw(draw, line, x, margin + ascent + i * line_h, **kw)
        return layer

    out = Image.new("RGBA", size, (0, 0, 0, 0))
    if style.box_color:
        box = Image.new("RGBA", size, (0, 0, 0, 0))
        inset = shadow_pad + 2
        ImageDraw.Draw(box).rounded_rectangle(
            (inset, inset, size[0] - inset - 1, size[1] - inset - 1),
            radius=style.box_radius, fill=parse_color(style.box_color))
        out.alpha_composite(box)
    if style.shadow_offset:
        out.alpha_composite(_shadow(lines_layer((0, 0, 0, 255), True), style))
    out.alpha_composite(lines_layer(parse_color(style.color), True))
    return out


def _shadow(glyphs: Image.Image, style: PlainTextStyle) -> Image.Image:
    assert style.shadow_offset is not None
    r, g, b, a = parse_color(style.shadow_color)
    alpha = glyphs.getchannel("A")
    if style.shadow_blur:
        alpha = alpha.filter(ImageFilter.GaussianBlur(style.shadow_blur))
    alpha = ImageChops.offset(alpha, *style.shadow_offset).point(lambda v: v * a // 255)
    shadow = Image.new("RGBA", glyphs.size, (r, g, b, 0))
    shadow.putalpha(alpha)
    return shadow
