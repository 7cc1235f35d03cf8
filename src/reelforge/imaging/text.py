"""Render styled text to a tight RGBA image: shaping (raqm/HarfBuzz), font fallback per run,
bidi line order, wrapping, stroke, shadow and a rounded box.

Text never goes into an ffmpeg filter string; the renderer overlays this image instead.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from reelforge.imaging.fonts import FontFace, face_for, fallback_chain, load_font, resolve_font
from reelforge.spec.common import parse_color


@dataclass(frozen=True)
class TextStyle:
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


@dataclass(frozen=True)
class Run:
    text: str
    face: FontFace
    level: int = 0  # bidi embedding level: odd = right-to-left


def is_rtl(text: str) -> bool:
    """Base direction from the first strong character (Unicode bidi rule P2)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def _strong_classes(line: str) -> list[str]:
    """Per character: 'L', 'R', 'E' (a digit after right-to-left text, W2) or 'N' (neutral)."""
    classes, last_strong = [], "L"
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            classes.append(last_strong := "R")
        elif kind == "L":
            classes.append(last_strong := "L")
        elif kind in ("EN", "AN"):
            classes.append("E" if last_strong == "R" else "L")
        else:
            classes.append("N")
    return classes


def bidi_levels(line: str, base_rtl: bool) -> list[int]:
    """A compact UAX #9 (rules W2, N1–N2, I1–I2) for one line without explicit embeddings."""
    classes = _strong_classes(line)
    as_dir = ["R" if c == "E" else c for c in classes]  # numbers count as R for neutrals (N1)
    base = "R" if base_rtl else "L"
    resolved = list(as_dir)
    i = 0
    while i < len(resolved):
        if resolved[i] != "N":
            i += 1
            continue
        j = i
        while j < len(resolved) and resolved[j] == "N":
            j += 1
        before = as_dir[i - 1] if i > 0 else base
        after = as_dir[j] if j < len(as_dir) else base
        resolved[i:j] = [before if before == after else base] * (j - i)
        i = j
    levels = []
    for cls, res in zip(classes, resolved):
        if base_rtl:
            levels.append(2 if cls in ("L", "E") or (cls == "N" and res == "L") else 1)
        else:
            levels.append(2 if cls == "E" else 1 if res == "R" else 0)
    return levels


def split_runs(line: str, chain: list[FontFace], base_rtl: bool | None = None) -> list[Run]:
    """Consecutive characters with the same face and bidi level form one run (logical order)."""
    levels = bidi_levels(line, is_rtl(line) if base_rtl is None else base_rtl)
    runs: list[Run] = []
    for ch, level in zip(line, levels):
        face = face_for(ch, chain)
        # Combining marks and joiners stay with the run before them (emoji ZWJ sequences, accents).
        joins = unicodedata.combining(ch) or ord(ch) in (0x200D, 0xFE0F) or 0x1F3FB <= ord(ch) <= 0x1F3FF
        if runs and ((face == runs[-1].face and level == runs[-1].level) or joins):
            runs[-1] = Run(runs[-1].text + ch, runs[-1].face, runs[-1].level)
        else:
            runs.append(Run(ch, face, level))
    return runs


def visual_order(runs: list[Run]) -> list[Run]:
    """Rule L2: from the highest level down to 1, reverse every sequence at that level or above."""
    order = list(runs)
    top = max((r.level for r in order), default=0)
    for level in range(top, 0, -1):
        i = 0
        while i < len(order):
            if order[i].level < level:
                i += 1
                continue
            j = i
            while j < len(order) and order[j].level >= level:
                j += 1
            order[i:j] = reversed(order[i:j])
            i = j
    return order


def _direction(run: Run) -> str:
    return "rtl" if run.level % 2 else "ltr"


class _Setter:
    """Measures and draws lines in one style."""

    def __init__(self, style: TextStyle, field: str | None) -> None:
        self.style = style
        self.chain = fallback_chain(resolve_font(style.font, field=field))

    def font(self, face: FontFace) -> ImageFont.FreeTypeFont:
        return load_font(face, self.style.size_px, self.style.weight)

    def width(self, line: str) -> float:
        return sum(self.font(r.face).getlength(r.text, direction=_direction(r)) for r in split_runs(line, self.chain))

    def metrics(self) -> tuple[int, int]:
        ascent, descent = self.font(self.chain[0]).getmetrics()
        return ascent, descent

    def draw(self, draw: ImageDraw.ImageDraw, line: str, x: float, baseline: float, **kw: Any) -> None:
        for run in visual_order(split_runs(line, self.chain)):
            font = self.font(run.face)
            draw.text((x, baseline), run.text, font=font, anchor="ls", direction=_direction(run), **kw)
            x += font.getlength(run.text, direction=_direction(run))


def _tokens(paragraph: str) -> list[str]:
    """Words with their trailing spaces; every CJK character is a token of its own."""
    tokens: list[str] = []
    for ch in paragraph:
        wide = unicodedata.east_asian_width(ch) in ("W", "F") and not unicodedata.category(ch).startswith("S")
        if not tokens or wide or (tokens[-1].endswith(" ") and ch != " ") or _is_wide(tokens[-1]):
            tokens.append(ch)
        else:
            tokens[-1] += ch
    return tokens


def _is_wide(token: str) -> bool:
    return len(token) == 1 and unicodedata.east_asian_width(token) in ("W", "F") \
        and not unicodedata.category(token).startswith("S")


def wrap(text: str, setter: _Setter, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for token in _tokens(paragraph):
            candidate = current + token
            if current and setter.width(candidate.rstrip()) > max_width:
                lines.append(current.rstrip())
                current = token.lstrip()
            else:
                current = candidate
        lines.append(current.rstrip())
    return lines


def _fit_size(text: str, style: TextStyle, field: str | None) -> tuple[TextStyle, _Setter, list[str]]:
    """Shrink the font until the widest unbreakable line fits `max_width` (auto-fit)."""
    for _ in range(12):
        setter = _Setter(style, field)
        lines = wrap(text, setter, style.max_width)
        widest = max((setter.width(line) for line in lines), default=0)
        if widest <= style.max_width or style.size_px <= 8:
            return style, setter, lines
        style = TextStyle(**{**style.__dict__, "size_px": max(8, int(style.size_px * style.max_width / widest))})
    return style, setter, lines


def render_text(text: str, style: TextStyle, *, field: str | None = None) -> Image.Image:
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


def _shadow(glyphs: Image.Image, style: TextStyle) -> Image.Image:
    assert style.shadow_offset is not None
    r, g, b, a = parse_color(style.shadow_color)
    alpha = glyphs.getchannel("A")
    if style.shadow_blur:
        alpha = alpha.filter(ImageFilter.GaussianBlur(style.shadow_blur))
    alpha = ImageChops.offset(alpha, *style.shadow_offset).point(lambda v: v * a // 255)
    shadow = Image.new("RGBA", glyphs.size, (r, g, b, 0))
    shadow.putalpha(alpha)
    return shadow
