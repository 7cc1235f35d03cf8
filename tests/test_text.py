"""The text engine: shaping and fallback across scripts, wrapping, auto-fit, golden images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.errors import InputError
from reelforge.imaging.fonts import (
    bundled_families,
    coverage,
    face_for,
    fallback_chain,
    resolve_font,
)
from reelforge.imaging.text import (
    PlainTextStyle,
    bidi_levels,
    is_rtl,
    render_plain_text,
    split_runs,
    visual_order,
)

GOLDEN = Path(__file__).parent / "golden"

STYLES = {
    "plain": ("Hello, reelforge!", PlainTextStyle(size_px=48)),
    "stroke-shadow": ("SALE 50% OFF", PlainTextStyle(size_px=56, weight=900, color="#ffd400", stroke_width=4,
                                                shadow_offset=(4, 5), shadow_blur=4)),
    "box-wrap-left": ("A caption that wraps onto a second line", PlainTextStyle(size_px=32, weight=500, align="left",
                                                                         max_width=360, box_color="#102030d0",
                                                                         box_padding=12, box_radius=10)),
    "scripts": ("Hi 世界 مرحبا שלום 🎬✨", PlainTextStyle(size_px=44)),
}


def compare_golden(name: str, image: Image.Image, tmp_path: Path) -> None:
    """Pixel comparison with tolerance; on mismatch write actual and expected next to each other."""
    path = GOLDEN / f"{name}.png"
    if os.environ.get("REELFORGE_UPDATE_GOLDEN") == "1":
        image.save(path)
    assert path.is_file(), f"missing golden {path}; run with REELFORGE_UPDATE_GOLDEN=1 once and look at it"
    expected = Image.open(path).convert("RGBA")
    if expected.size != image.size:
        image.save(tmp_path / f"{name}.actual.png")
        pytest.fail(f"{name}: size {image.size} != golden {expected.size}; actual in {tmp_path}")
    diff = np.abs(np.asarray(image, np.int16) - np.asarray(expected, np.int16))
    if diff.mean() > 1.0 or (diff.max(axis=2) > 64).mean() > 0.005:
        image.save(tmp_path / f"{name}.actual.png")
        expected.save(tmp_path / f"{name}.expected.png")
        pytest.fail(f"{name}: differs from golden (mean {diff.mean():.2f}); see {tmp_path}")


@pytest.mark.parametrize("name", sorted(STYLES))
def test_golden_text_renders(name: str, tmp_path: Path) -> None:
    text, style = STYLES[name]
    compare_golden(name, render_plain_text(text, style), tmp_path)


def test_rendering_is_deterministic() -> None:
    text, style = STYLES["scripts"]
    assert render_plain_text(text, style).tobytes() == render_plain_text(text, style).tobytes()


@pytest.mark.parametrize(("char", "family"), [
    ("A", "sans"), ("世", "cjk"), ("あ", "cjk"), ("한", "cjk"), ("م", "arabic"), ("ש", "hebrew"),
    ("क", "devanagari"), ("🎬", "emoji"), ("ก", "thai"),
])
def test_every_script_finds_a_face_that_has_the_glyph(char: str, family: str) -> None:
    chain = fallback_chain(resolve_font("sans"))
    face = face_for(char, chain)
    assert face == bundled_families()[family]
    assert ord(char) in coverage(face)


def test_runs_split_by_face_and_keep_emoji_sequences_together() -> None:
    chain = fallback_chain(resolve_font("sans"))
    runs = split_runs("ab世界👍🏽c", chain)
    assert [r.text for r in runs] == ["ab", "世界", "👍🏽", "c"]
    family = split_runs("👨‍👩‍👧", chain)
    assert len(family) == 1  # a ZWJ family is one run, shaped as one


def test_base_direction() -> None:
    assert is_rtl("مرحبا world") and is_rtl("  שלום") and not is_rtl("hello مرحبا") and not is_rtl("123")


def test_bidi_visual_order_of_mixed_lines() -> None:
    chain = fallback_chain(resolve_font("sans"))
    ltr = [r.text.strip() for r in visual_order(split_runs("Hi مرحبا שלום ok", chain)) if r.text.strip()]
    assert ltr == ["Hi", "שלום", "مرحبا", "ok"]  # adjacent right-to-left words swap places
    rtl = [r.text.strip() for r in visual_order(split_runs("مرحبا 123 world", chain)) if r.text.strip()]
    assert rtl == ["world", "123", "مرحبا"]  # a right-to-left paragraph reads from the right
    assert bidi_levels("abc", base_rtl=False) == [0, 0, 0]
    assert bidi_levels("א 1", base_rtl=True) == [1, 1, 2]


def test_arabic_is_shaped_not_isolated_letters() -> None:
    """Joined (shaped) Arabic is narrower than the same letters set one by one."""
    style = PlainTextStyle(size_px=48)
    joined = render_plain_text("مرحبا", style)
    isolated = render_plain_text(" ".join("مرحبا"), style)
    assert joined.width < isolated.width * 0.8


def test_wrapping_keeps_lines_inside_the_width() -> None:
    img = render_plain_text("one two three four five six seven eight nine ten", PlainTextStyle(size_px=40, max_width=300))
    assert img.width <= 300 + 20 and img.height > 3 * 40


def test_cjk_wraps_between_characters() -> None:
    img = render_plain_text("日本語のテキストは単語の間に空白がありません", PlainTextStyle(size_px=40, max_width=300))
    assert img.width <= 320 and img.height > 2 * 40


def test_a_word_too_long_for_the_box_is_shrunk_to_fit() -> None:
    img = render_plain_text("Supercalifragilisticexpialidocious", PlainTextStyle(size_px=80, max_width=400))
    assert img.width <= 400 + 20


def test_unknown_font_names_the_choices() -> None:
    with pytest.raises(InputError, match="unknown font 'Nope'") as info:
        resolve_font("Nope", field="clips[0].layers[0].font")
    assert "clips[0].layers[0].font" in str(info.value) and "sans" in (info.value.hint or "")


def test_a_font_file_path_works() -> None:
    path = bundled_families()["sans-italic"].path
    assert render_plain_text("italic", PlainTextStyle(font=path, size_px=40)).width > 50


def test_an_emoji_never_wraps_alone_onto_a_line() -> None:
    from reelforge.imaging.text.layout import Setter, wrap

    setter = Setter("sans", 40, 700, None)
    width = setter.width("Big sale today") + 4  # the words fit; the emoji after them does not
    assert setter.width("Big sale today 🔥") > width
    lines = wrap("Big sale today 🔥", setter, width)
    assert lines[-1] != "🔥" and "today 🔥" in lines[-1], lines
    leading = wrap("🔥 Hot deals inside", setter, setter.width("🔥 Hot") + 4)
    assert leading[0] == "🔥 Hot", leading
