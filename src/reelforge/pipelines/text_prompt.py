"""The prompt the AI text engine sends: a text style described in words an image model follows.

The template follows our research notes on text with image models: name the exact text and
ask for nothing else, give the font feel, colours as hex codes and effects concretely, say how
the text sits in the frame, and define the background precisely ("pure white (#FFFFFF), no
textures or gradients"), because `key` then cuts it out exactly.

The backdrop is pure white unless the style itself is white or near it (white letters, a white
rim): white on white cannot be cut out by anything, so such styles ask for pure black, and
styles with both near-white and near-black parts (a white caption with a black outline) for a
chroma-key green. Shadows and glows do not count: they are drawn *onto* the backdrop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reelforge.spec.common import parse_color
from reelforge.spec.text_style import Background, Fill, Style

# (words for the prompt, colour), in order of preference: white first, as the notes recommend.
BACKDROPS = (("pure white", "#FFFFFF"), ("pure black", "#000000"), ("solid chroma-key green", "#00B140"),
             ("solid chroma-key blue", "#0047BB"))
MIN_BACKDROP_DISTANCE = 0.3  # RGB distance (0..√3) between the backdrop and every colour of the style

FONT_FEEL = {
    "geometric": "geometric sans-serif (like Futura or League Spartan)",
    "condensed": "tall condensed display sans-serif (like Bebas Neue)",
    "serif": "high-contrast elegant serif (like Playfair Display)",
    "script": "flowing, connected script lettering (like Dancing Script)",
    "mono": "monospaced typewriter-style face (like JetBrains Mono)",
    "sans": "clean humanist sans-serif (like Noto Sans)",
}
NEGATIVE = ("busy background, gradient background, textured background, vignette, clutter, extra text, "
            "misspelled letters, watermark, logo, frame, border")
# Aspect ratios we ask for, as width/height; the provider's own list narrows them.
ASPECTS = {"1:1": 1.0, "5:4": 1.25, "4:3": 4 / 3, "3:2": 1.5, "16:9": 16 / 9, "21:9": 21 / 9,
           "4:5": 0.8, "3:4": 0.75, "2:3": 2 / 3, "9:16": 9 / 16}


@dataclass(frozen=True)
class TextPrompt:
    """What the image provider is asked for, and how its answer is to be cut out."""

    prompt: str
    negative_prompt: str
    aspect: str
    backdrop: str  # "#FFFFFF"
    backdrop_words: str  # "pure white"
    keep_shadow: bool  # the style has a drop shadow: keep it as semi-transparent black


def build_prompt(text: str, style: Style, aspects: tuple[str, ...] | None = None) -> TextPrompt:
    """The prompt for `text` in `style` (aspects: those the provider offers, None = any)."""
    words, backdrop = choose_backdrop(style)
    lines = [
        "A clean graphic-design image of lettering. " + _exact_text(display_text(text, style)),
        "Spell it exactly as given, letter for letter, with the same punctuation; add no other words, letters, "
        "numbers, logos or symbols.",
        f"Lettering: {_lettering(style)}.",
        f"Colours and effects: {'; '.join(_looks(style))}.",
        f"Composition: {_composition(text, style)}.",
        f"Background: {words} ({backdrop}), perfectly flat and uniform, edge to edge: no texture, gradient, "
        "vignette, floor, reflection, frame, border, props or any other element"
        + (", and no shadow on it other than the lettering's own drop shadow." if style.shadow
           else ", and no shadow on it."),
        "Sharp, crisp edges, high contrast, even studio lighting.",
    ]
    return TextPrompt("\n".join(lines), NEGATIVE, choose_aspect(text, style, aspects), backdrop, words,
                      keep_shadow=bool(style.shadow))


def display_text(text: str, style: Style) -> str:
    return text.upper() if style.uppercase else text


def _exact_text(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 1:
        return f'Render exactly this text and nothing else: "{lines[0]}"'
    numbered = " / ".join(f'line {n}: "{line}"' for n, line in enumerate(lines, 1))
    return f"Render exactly this text, on {len(lines)} lines, and nothing else: {numbered}"


# --- backdrop --------------------------------------------------------------------------------


def choose_backdrop(style: Style) -> tuple[str, str]:
    """The first backdrop far enough from every colour of the lettering and its badge; failing
    that, the one farthest from them."""
    colors = [_rgb(c) for c in style_colors(style)]
    if not colors:
        return BACKDROPS[0]
    distances = [min(_distance(_rgb(hex_), c) for c in colors) for _, hex_ in BACKDROPS]
    for backdrop, distance in zip(BACKDROPS, distances):
        if distance >= MIN_BACKDROP_DISTANCE:
            return backdrop
    return BACKDROPS[distances.index(max(distances))]


def style_colors(style: Style) -> list[str]:
    """Colours that end up opaque in the cut-out (fill, outlines, extrusion, badge)."""
    colors = _fill_colors(style.fill) + [s.color for s in style.stroke]
    if style.extrude is not None:
        colors.append(style.extrude.color)
    if style.background is not None:
        bg = style.background
        colors += _fill_colors(bg.fill) + ([bg.stroke.color] if bg.stroke else []) + \
            ([bg.accent.color] if bg.accent else [])
    return colors


def _fill_colors(fill: Fill) -> list[str]:
    return list(fill.colors) if fill.type in ("linear", "radial") or fill.colors else [fill.color]


def _hex(color: str) -> str:
    """#RRGGBB for the prompt (a model reads hex codes; alpha means nothing to it)."""
    r, g, b, _ = parse_color(color)
    return f"#{r:02X}{g:02X}{b:02X}"


def _rgb(color: str) -> tuple[float, float, float]:
    r, g, b, _ = parse_color(color)
    return r / 255, g / 255, b / 255


def _distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5)


# --- lettering and effects -------------------------------------------------------------------


def _lettering(style: Style) -> str:
    family = style.font if style.font in FONT_FEEL else Path(style.font).stem
    feel = FONT_FEEL.get(family, f"{family} typeface")
    weight = "black (extra heavy)" if style.weight >= 800 else "bold" if style.weight >= 600 else \
        "medium" if style.weight >= 500 else "regular"
    parts = [f"{weight} {feel}"]
    if style.uppercase:
        parts.append("all capitals")
    if style.letter_spacing >= 0.05:
        parts.append("generously letter-spaced")
    return ", ".join(parts)


def _looks(style: Style) -> list[str]:
    looks = [f"letters {_paint(style.fill)}"]
    for n, stroke in enumerate(style.stroke):
        looks.append(f"{'an outer' if n == 0 and len(style.stroke) > 1 else 'a'} {_thickness(stroke.width)} "
                     f"{_hex(stroke.color)} outline" + (" inside it" if n else ""))
    if style.extrude is not None:
        looks.append(f"a solid 3D extrusion in {_hex(style.extrude.color)} going {_direction(style.extrude.angle)}, "
                     "shaded darker towards the back")
    if style.bevel is not None:
        looks.append(f"bevelled, chiselled letter edges lit from the {_direction(style.bevel.angle)}")
    for glow in style.glow:
        looks.append(f"a soft outer neon glow in {_hex(glow.color)}")
    if style.shadow:
        looks.append("a soft dark drop shadow offset down and to the right")
    if style.background is not None:
        looks.append(_badge(style.background))
    if abs(style.rotate) >= 1:
        looks.append(f"the whole design tilted about {abs(style.rotate):.0f}° "
                     f"{'counter-clockwise' if style.rotate > 0 else 'clockwise'}, like a sticker")
    return looks


def _paint(fill: Fill) -> str:
    colors = [_hex(c) for c in fill.colors]
    if fill.type == "solid":
        return f"filled with solid {_hex(fill.color)}"
    if fill.type == "metallic":
        return f"with a polished metallic finish based on {_hex(fill.color)}, with bright highlights"
    if fill.type == "radial":
        return f"filled with a radial gradient from {colors[0]} in the centre to {colors[-1]} at the edges"
    ends = {180: ("top", "bottom"), 0: ("bottom", "top"), 90: ("left", "right"), 270: ("right", "left")}
    start, end = ends.get(round(fill.angle) % 360, ("one side", "the other"))
    return f"filled with a gradient from {colors[0]} at the {start} to {colors[-1]} at the {end}"


def _badge(bg: Background) -> str:
    shape = {"rect": "rectangular", "rounded": "rounded-rectangle", "pill": "pill-shaped"}[bg.shape]
    text = f"set on a {shape} badge {_paint(bg.fill)}"
    if bg.stroke is not None:
        text += f", with a {_thickness(bg.stroke.width)} {_hex(bg.stroke.color)} rim"
    if bg.accent is not None:
        text += f" and a {_hex(bg.accent.color)} accent bar along its {bg.accent.side} side"
    return text


def _thickness(width_em: float) -> str:
    return "thin" if width_em < 0.03 else "medium" if width_em < 0.07 else "thick"


def _direction(angle: float) -> str:
    """CSS-style degrees (0 = up, 90 = right, 180 = down) in words."""
    names = ("top", "top-right", "right", "bottom-right", "bottom", "bottom-left", "left", "top-left")
    return names[round((angle % 360) / 45) % 8]


# --- composition -----------------------------------------------------------------------------


def _composition(text: str, style: Style) -> str:
    lines = len([line for line in text.splitlines() if line.strip()]) or 1
    align = f", lines aligned {style.align}" if lines > 1 and style.align != "center" else ""
    return (f"{'one line' if lines == 1 else f'{lines} lines'}{align}, centred horizontally and vertically, large "
            "and prominent, filling about 75% of the width, with generous empty margins on every side; nothing "
            "touches or crosses the edges")


def choose_aspect(text: str, style: Style, allowed: tuple[str, ...] | None = None) -> str:
    """The aspect ratio nearest to the text block's own shape (by character count), so the model
    is not asked to fill a square with one long line."""
    lines = [line for line in display_text(text, style).splitlines() if line.strip()] or [text]
    per_char = 0.45 if style.font == "condensed" else 0.6  # average advance, em
    width = max(len(line) for line in lines) * (per_char + style.letter_spacing)
    height = len(lines) * style.line_height
    ratio = max(0.5, min(width / height / 0.75, 2.4))  # the 75% fill leaves room above and below
    choices = [a for a in ASPECTS if allowed is None or a in allowed] or ["1:1"]
    return min(choices, key=lambda a: abs(ASPECTS[a] - ratio) / ASPECTS[a])
