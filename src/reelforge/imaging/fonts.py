"""Bundled fonts and per-character fallback.

Noto Sans, its script companions, Noto Emoji and Noto Sans CJK come from PyPI wheels; five
display families (geometric sans, condensed, serif, script, monospace) ship inside the package
(`imaging/text/fonts/`, each with its OFL licence). Pillow shapes one font at a time, so a line
mixing Latin, emoji, Arabic and CJK is split into runs, each set in the first font of the
fallback chain whose character map covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from reelforge.errors import InputError


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int = 0


def _package_dir(module: str) -> Path | None:
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return Path(mod.__file__).parent  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def bundled_families() -> dict[str, FontFace]:
    """Family name → face. Script families are named by script (`arabic`, `devanagari`, …)."""
    families: dict[str, FontFace] = {}
    latin = _package_dir("manimgx_fonts")
    if latin is not None:
        for f in sorted(latin.glob("*.ttf")):
            stem = f.name.split("[")[0]  # NotoSansArabic[wght].ttf -> NotoSansArabic
            name = {"NotoSans": "sans", "NotoSans-Italic": "sans-italic", "NotoEmoji": "emoji",
                    "NotoSansSymbols": "symbols"}.get(stem, stem.removeprefix("NotoSans").lower())
            families[name] = FontFace(str(f))
    cjk = _package_dir("manimgx_fonts_cjk")
    if cjk is not None:
        ttc = next(iter(sorted(cjk.glob("*.tt[cf]"))), None)
        if ttc is not None:
            families["cjk"] = FontFace(str(ttc), 0)
    return families


SHIPPED_DIR = Path(__file__).parent / "text" / "fonts"
# Shipped static families: folder → {weight: file}. Role names alias them for presets and users
# who think "a condensed face" rather than "Bebas Neue".
SHIPPED: dict[str, dict[int, str]] = {
    "league-spartan": {400: "LeagueSpartan-Regular.otf", 700: "LeagueSpartan-Bold.otf", 900: "LeagueSpartan-Black.otf"},
    "bebas-neue": {400: "BebasNeue-Regular.otf", 700: "BebasNeue-Bold.otf"},
    "playfair-display": {400: "PlayfairDisplay-Regular.ttf", 700: "PlayfairDisplay-Bold.ttf",
                         900: "PlayfairDisplay-Black.ttf"},
    "dancing-script": {400: "DancingScript-Regular.otf", 700: "DancingScript-Bold.otf"},
    "jetbrains-mono": {400: "JetBrainsMono-Regular.ttf", 700: "JetBrainsMono-Bold.ttf"},
}
ROLES = {"geometric": "league-spartan", "condensed": "bebas-neue", "serif": "playfair-display",
         "script": "dancing-script", "mono": "jetbrains-mono"}


def shipped_face(family: str, weight: int) -> FontFace:
    """The file of a shipped static family closest to `weight` (ties go to the bolder one)."""
    weights = SHIPPED[ROLES.get(family, family)]
    best = min(weights, key=lambda w: (abs(w - weight), -w))
    return FontFace(str(SHIPPED_DIR / ROLES.get(family, family) / weights[best]))


def family_names() -> list[str]:
    """Every name `font:` accepts besides a file path."""
    return sorted({*bundled_families(), *SHIPPED, *ROLES})


def resolve_font(name: str, *, field: str | None = None, weight: int = 700) -> FontFace:
    """A family name (`family_names()`) or a path to a font file. Shipped static families pick
    the file nearest to `weight`; variable fonts get the weight later, in `load_font`."""
    families = bundled_families()
    if name in families:
        return families[name]
    if name in SHIPPED or name in ROLES:
        return shipped_face(name, weight)
    p = Path(name)
    if p.suffix.lower() in (".ttf", ".otf", ".ttc"):
        if not p.is_file():
            raise InputError(f"font file not found: {p}", field=field, hint="check the path to the .ttf/.otf file")
        return FontFace(str(p))
    raise InputError(f"unknown font {name!r}", field=field,
                     hint=f"use a bundled family ({', '.join(family_names())}) or a path to a .ttf/.otf file")


def fallback_chain(primary: FontFace) -> list[FontFace]:
    """The primary face, then sans, the script faces, symbols, emoji and CJK."""
    families = bundled_families()
    order = ["sans"] + sorted(k for k in families if k not in ("sans", "sans-italic", "symbols", "emoji", "cjk"))
    order += ["symbols", "emoji", "cjk"]
    chain = [primary] + [families[k] for k in order if k in families]
    return list(dict.fromkeys(chain))


@lru_cache(maxsize=32)
def coverage(face: FontFace) -> frozenset[int]:
    """Code points the face has glyphs for (read once per face with fontTools)."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(face.path, fontNumber=face.index, lazy=True)
        cmap = font.getBestCmap() or {}
        font.close()
    except Exception as exc:  # fontTools raises many types for broken files
        raise InputError(f"cannot read font {face.path}: {exc}", hint="use a valid .ttf/.otf file") from None
    return frozenset(cmap)


# Characters that never need a glyph of their own (joiners, variation selectors, spaces).
_INVISIBLE = {0x200D, 0xFE0F, 0xFE0E, 0x200C, 0x20}


def face_for(char: str, chain: list[FontFace]) -> FontFace:
    code = ord(char)
    if code in _INVISIBLE:
        return chain[0]
    for face in chain:
        if code in coverage(face):
            return face
    return chain[0]


@lru_cache(maxsize=128)
def load_font(face: FontFace, size: int, weight: int) -> ImageFont.FreeTypeFont:
    try:
        font = ImageFont.truetype(face.path, size, index=face.index, layout_engine=ImageFont.Layout.RAQM)
    except OSError as exc:
        if "pixel size" in str(exc):  # FreeType refuses the size, not the file
            raise InputError(f"font size {size} px is more than {face.path.rsplit('/', 1)[-1]} can draw",
                             hint="use a text size of at most 2000 px (or ≤ 1: a fraction of the height)") from None
        raise InputError(f"cannot load font {face.path}: {exc}", hint="use a valid .ttf/.otf file") from None
    _set_weight(font, weight)
    return font


def _set_weight(font: ImageFont.FreeTypeFont, weight: int) -> None:
    try:
        axes = font.get_variation_axes()
    except OSError:
        return  # not a variable font
    values: list[float] = []
    for axis in axes:
        raw = axis.get("name", b"")
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        low, high, default = (float(axis.get(k) or 0) for k in ("minimum", "maximum", "default"))  # type: ignore[arg-type]
        values.append(min(max(weight, low), high) if name.lower() in ("weight", "wght") else default)
    font.set_variation_by_axes(values)
