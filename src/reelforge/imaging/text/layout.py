"""Line layout shared by every text renderer: bidi levels and visual run order, per-character
font fallback, letter spacing by cluster, and wrapping (words; CJK between characters)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from PIL import ImageDraw, ImageFont

from reelforge.imaging.fonts import FontFace, face_for, fallback_chain, load_font, resolve_font


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


def _joins(ch: str) -> bool:
    """Combining marks, joiners, variation selectors and skin tones belong to the character before."""
    return bool(unicodedata.combining(ch)) or ord(ch) in (0x200D, 0xFE0F, 0xFE0E) or 0x1F3FB <= ord(ch) <= 0x1F3FF


def clusters(text: str) -> list[str]:
    """Split into user-perceived characters (approximate grapheme clusters)."""
    out: list[str] = []
    for ch in text:
        if out and (_joins(ch) or out[-1].endswith("\u200d")):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def trackable(run: Run) -> bool:
    """Letter spacing is applied only where letters stand alone: Latin, Greek, Cyrillic, CJK,
    digits, symbols and emoji. Joined and conjunct-forming scripts (Arabic, Devanagari, Thai, …)
    would be torn apart by drawing their letters one by one, so they keep their shaping."""
    for ch in run.text:
        code = ord(ch)
        simple = code < 0x0590 or 0x1E00 <= code < 0x2C00 or _joins(ch) \
            or unicodedata.east_asian_width(ch) in ("W", "F") or unicodedata.category(ch).startswith("S")
        if not simple:
            return False
    return run.level % 2 == 0


class Setter:
    """Measures and draws lines in one font, size and weight, with optional letter spacing (px)."""

    def __init__(self, font: str, size_px: int, weight: int, field: str | None, letter_spacing: float = 0.0) -> None:
        self.size_px, self.weight, self.spacing = size_px, weight, letter_spacing
        self.chain = fallback_chain(resolve_font(font, field=field, weight=weight))

    def font(self, face: FontFace) -> ImageFont.FreeTypeFont:
        return load_font(face, self.size_px, self.weight)

    def _pieces(self, run: Run) -> list[str]:
        """The units drawn one by one: clusters when tracking applies, else the whole run."""
        return clusters(run.text) if self.spacing and trackable(run) else [run.text]

    def width(self, line: str) -> float:
        total, count = 0.0, 0
        for run in split_runs(line, self.chain):
            font = self.font(run.face)
            for piece in self._pieces(run):
                total += font.getlength(piece, direction=_direction(run))
                count += 1 if self.spacing and trackable(run) else 0
        # spacing goes between letters: none after the last one
        return total + self.spacing * max(0, count - 1)

    def metrics(self) -> tuple[int, int]:
        ascent, descent = self.font(self.chain[0]).getmetrics()
        return ascent, descent

    def draw(self, draw: ImageDraw.ImageDraw, line: str, x: float, baseline: float, **kw: Any) -> None:
        for run in visual_order(split_runs(line, self.chain)):
            font = self.font(run.face)
            for piece in self._pieces(run):
                draw.text((x, baseline), piece, font=font, anchor="ls", direction=_direction(run), **kw)
                x += font.getlength(piece, direction=_direction(run))
                x += self.spacing if self.spacing and trackable(run) else 0.0


def _tokens(paragraph: str) -> list[str]:
    """Words with their trailing spaces; every CJK character is a token of its own. An emoji
    standing apart ("Big sale today 🔥") goes with its neighbouring word, so a wrap never leaves
    it alone on a line."""
    tokens: list[str] = []
    for ch in paragraph:
        wide = unicodedata.east_asian_width(ch) in ("W", "F") and not unicodedata.category(ch).startswith("S")
        if not tokens or wide or (tokens[-1].endswith(" ") and ch != " ") or _is_wide(tokens[-1]):
            tokens.append(ch)
        else:
            tokens[-1] += ch
    return _glue_emoji(tokens)


_EMOJI_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


def _is_emoji_only(token: str) -> bool:
    marks = token.strip()
    return bool(marks) and all(unicodedata.category(c) in ("So", "Sk") or c in _EMOJI_JOINERS
                               or 0x1F3FB <= ord(c) <= 0x1F3FF for c in marks)


def _glue_emoji(tokens: list[str]) -> list[str]:
    glued: list[str] = []
    for token in tokens:
        if len(glued) > 1 and _is_emoji_only(token) and not glued[-1].strip():
            space = glued.pop()  # the space before it: both go with the word before
            glued[-1] += space
        if glued and _is_emoji_only(token):
            glued[-1] += token
        elif glued and _is_emoji_only(glued[-1]) and len(glued) == 1:
            glued[-1] += token  # a leading emoji stays with the first word
        else:
            glued.append(token)
    return glued


def _is_wide(token: str) -> bool:
    return len(token) == 1 and unicodedata.east_asian_width(token) in ("W", "F") \
        and not unicodedata.category(token).startswith("S")


def wrap(text: str, setter: Setter, max_width: float) -> list[str]:
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
