"""The effects engine and presets: golden images per preset, each effect doing what it says,
auto-fit, letter spacing, scripts, validation errors, and the `reelforge text` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.errors import SpecError
from reelforge.imaging.text.engine import layout, render_styled
from reelforge.pipelines.text import text_image
from reelforge.spec.loader import validate_model
from reelforge.spec.text_presets import get_style, preset_names, presets
from reelforge.spec.text_style import Style

from .conftest import cli
from .test_text import compare_golden

PRESET_TEXT = {
    "sale-badge": "Sale 50% off", "neon": "Open late", "gold-3d": "Premium", "subscribe-cta": "Subscribe",
    "lower-third": "Jane Doe\nHead of Design", "bold-outline": "Wait for it…", "chrome": "Turbo",
    "soft-caption": "A caption that wraps onto a second line because it is long",
}
REQUIRED_PRESETS = {"sale-badge", "neon", "gold-3d", "subscribe-cta", "lower-third"}


def alpha(img: Image.Image) -> np.ndarray:
    return np.asarray(img.getchannel("A"), np.int32)


def plain(**fields: object) -> Style:
    return Style.model_validate({"font": "sans", "size": 80, "fill": "#ffffff", "margin": 0, **fields})


def test_every_required_preset_exists_and_has_a_golden_text() -> None:
    assert set(preset_names()) >= REQUIRED_PRESETS
    assert set(preset_names()) == set(PRESET_TEXT)
    assert all(style.description for style in presets().values())


@pytest.mark.parametrize("name", sorted(PRESET_TEXT))
def test_preset_golden(name: str, tmp_path: Path) -> None:
    style = presets()[name]
    image = render_styled(PRESET_TEXT[name], get_style(name, {"size": style.size / 2}))  # half size: small goldens
    assert image.mode == "RGBA"
    compare_golden(f"preset-{name}", image, tmp_path)


def test_same_input_same_bytes() -> None:
    style = presets()["gold-3d"]
    assert render_styled("Gold", style).tobytes() == render_styled("Gold", style).tobytes()


def test_tight_crop_leaves_exactly_the_margin() -> None:
    image = render_styled("Hi", plain(margin=0.1))  # 8 px at size 80
    a = alpha(image)
    assert a[:8].max() == 0 and a[-8:].max() == 0 and a[:, :8].max() == 0 and a[:, -8:].max() == 0
    assert a[8].max() > 0 or a[:, 8].max() > 0  # ink touches the margin on some side
    assert a[8:-8, 8:-8].max() == 255


def test_stroke_grows_the_ink_and_is_painted_in_its_colour() -> None:
    bare = render_styled("O", plain())
    outlined = render_styled("O", plain(stroke={"width": 0.1, "color": "#ff0000"}))
    assert outlined.width >= bare.width + 14  # 8 px of outline on each side, minus rounding
    rgb = np.asarray(outlined)[..., :3].reshape(-1, 3)
    solid = alpha(outlined).reshape(-1) == 255
    reds = (rgb[:, 0] > 200) & (rgb[:, 1] < 40) & solid
    whites = (rgb.min(axis=1) > 230) & solid
    assert reds.sum() > 500 and whites.sum() > 500


def test_drop_shadow_falls_right_and_down() -> None:
    style = plain(shadow={"offset": [0.2, 0.3], "blur": 0, "color": "#000000", "opacity": 1.0})
    image = np.asarray(render_styled("I", style))
    opaque = image[..., 3] == 255
    white = opaque & (image[..., :3].min(axis=2) > 200)
    black = opaque & (image[..., :3].max(axis=2) < 30)
    wy, wx = np.argwhere(white).mean(axis=0)
    by, bx = np.argwhere(black).mean(axis=0)
    assert bx - wx == pytest.approx(16, abs=4) and by - wy == pytest.approx(24, abs=4)


def test_glow_reaches_far_beyond_the_glyphs_and_fades() -> None:
    bare = render_styled("I", plain())
    glowing = render_styled("I", plain(glow={"radius": 0.3, "color": "#00ffff", "opacity": 1.0}))
    assert glowing.width > bare.width + 40
    a = alpha(glowing)
    row = a[a.shape[0] // 2]
    assert 0 < row[3] < row[len(row) // 2 - 20] < 255  # rises towards the glyph


def test_extrusion_extends_along_its_angle_and_darkens() -> None:
    right = render_styled("I", plain(extrude={"depth": 0.25, "angle": 90, "color": "#808080", "shading": 0.8}))
    down = render_styled("I", plain(extrude={"depth": 0.25, "angle": 180, "color": "#808080", "shading": 0.8}))
    bare = render_styled("I", plain())
    assert right.width - bare.width == pytest.approx(20, abs=2) and right.height == bare.height
    assert down.height - bare.height == pytest.approx(20, abs=2) and down.width == bare.width
    row = np.asarray(right)[right.height // 2]
    face_end = int(np.argwhere(row[:, :3].min(axis=1) > 230).max())
    assert row[face_end + 2, 0] > row[right.width - 3, 0]  # the back of the extrusion is darker


def test_bevel_lights_one_side_and_shades_the_other() -> None:
    image = np.asarray(render_styled("O", plain(size=200, fill="#808080",
                                                bevel={"size": 0.08, "angle": 270, "strength": 1.0})))
    y = image.shape[0] // 2
    xs = np.argwhere(image[y, :, 3] == 255).ravel()
    left, right = image[y, xs.min() + 4, 0], image[y, xs.max() - 4, 0]
    assert left > 150 and right < 90  # light from the left (270°)


def test_gradient_and_metallic_fills_vary_across_the_text() -> None:
    linear = np.asarray(render_styled("H", plain(size=200, fill={"type": "linear", "colors": ["#ff0000", "#0000ff"]})))
    opaque = linear[..., 3] == 255
    rows = np.argwhere(opaque)[:, 0]
    top, bottom = linear[rows.min() + 2], linear[rows.max() - 2]
    assert top[top[:, 3] == 255, 0].mean() > 200 and bottom[bottom[:, 3] == 255, 2].mean() > 200
    metal = np.asarray(render_styled("H", plain(size=200, fill={"type": "metallic", "color": "#c0a040"})))
    column = metal[:, metal.shape[1] // 5]
    lum = column[column[:, 3] == 255, :3].mean(axis=1)
    assert lum.max() - lum.min() > 80  # bright and dark bands


def test_letter_spacing_widens_latin_but_leaves_arabic_joined() -> None:
    tight = render_styled("SPACE", plain())
    wide = render_styled("SPACE", plain(letter_spacing=0.5))
    # 4 gaps of 40 px; letters set one by one lose their pair kerning (a few px)
    assert wide.width - tight.width == pytest.approx(4 * 40, abs=10)
    arabic = render_styled("مرحبا", plain())
    assert render_styled("مرحبا", plain(letter_spacing=0.5)).size == arabic.size


def test_box_fit_shrinks_and_fill_grows_to_the_largest_size_that_fits() -> None:
    shrunk, size = layout("A long headline to fit", plain(size=200, box=(400, 150)))
    assert size < 200 and shrunk.width <= 400 and shrunk.height <= 150
    grown, big = layout("Hi", plain(size=20, box=(400, 150), fit="fill"))
    assert big > 60 and grown.width <= 400 and grown.height <= 150
    bigger, _ = layout("Hi", plain(size=big + 1, margin=0))  # one pixel larger no longer fits
    assert bigger.width > 400 or bigger.height > 150


@pytest.mark.parametrize("name", preset_names())
def test_a_styled_text_with_its_effects_fits_the_box_it_was_given(name: str) -> None:
    """`--width 400 --height 120` with a glow, a shadow or a badge drew 527x214: the layout fitted
    the glyphs only. The finished image is what has to fit — and still fill most of the box."""
    style = get_style(name, {"box": (400, 120)})
    image = render_styled("Hello World", style)
    assert image.width <= 400 and image.height <= 120, image.size
    assert image.width >= 0.5 * 400 or image.height >= 0.5 * 120, image.size  # not shrunk to a speck


def test_wrapping_alignment_and_line_height() -> None:
    one = render_styled("word word word", plain())
    three = render_styled("word word word", plain(max_width=250))
    assert three.height > 2.5 * one.height and three.width < one.width
    loose = render_styled("a\nb", plain(line_height=2.0))
    tight = render_styled("a\nb", plain(line_height=1.0))
    assert loose.height - tight.height == pytest.approx(80, abs=2)
    left = alpha(render_styled("iiiiiiii\nW", plain(align="left")))
    right = alpha(render_styled("iiiiiiii\nW", plain(align="right")))
    bottom = slice(left.shape[0] // 2 + 10, None)
    assert np.argwhere(left[bottom])[:, 1].mean() < np.argwhere(right[bottom])[:, 1].mean()


def test_badge_sits_behind_and_around_the_text() -> None:
    image = np.asarray(render_styled("OK", plain(background={"shape": "rect", "fill": "#0000ff",
                                                             "padding": [0.5, 0.25]})))
    assert (image[2:-2, 2:-2, 3] == 255).all()  # a rect badge fills the whole crop
    blue = (image[..., 2] > 200) & (image[..., 0] < 50)
    white = image[..., :3].min(axis=2) > 230
    assert blue.sum() > white.sum() > 500


@pytest.mark.parametrize("text", ["مرحبا بالعالم", "你好，世界", "🎬🔥✨", "it's 50%: [a,b]; c\\d", "שלום 123"])
def test_every_script_and_special_character_renders(text: str) -> None:
    image = render_styled(text, presets()["subscribe-cta"])
    a = alpha(image)
    white = (np.asarray(image)[..., :3].min(axis=2) > 230) & (a == 255)
    assert white.sum() > 300  # the glyphs are drawn, not empty boxes behind the badge


def test_rotation_turns_the_image() -> None:
    flat = render_styled("LONG WORD", plain())
    tilted = render_styled("LONG WORD", plain(rotate=30))
    assert tilted.height > flat.height * 2


def test_preset_errors_name_the_preset_and_field() -> None:
    with pytest.raises(SpecError) as info:
        validate_model(Style, {"stroke": [{"width": -1}], "fill": {"type": "linear", "colors": ["#fff"]}},
                       what="text style", prefix=("my-style",))
    message = str(info.value)
    assert "my-style.stroke[0].width" in message and "my-style.fill" in message and "two" in message


def test_overrides_are_validated_and_unknown_styles_list_the_choices() -> None:
    assert get_style("neon", {"size": 40}).size == 40
    with pytest.raises(SpecError, match="size"):
        get_style("neon", {"size": -5})
    with pytest.raises(SpecError, match="unknown text style 'nope'") as info:
        get_style("nope")
    assert "sale-badge" in (info.value.hint or "")


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(SpecError) as info:
        text_image("SALE", "sale-badge", engine="magic")
    assert "local, ai" in (info.value.hint or "")


def test_text_command_writes_an_rgba_png(tmp_path: Path) -> None:
    out = tmp_path / "sale.png"
    result = cli("text", "SALE 50% OFF", "--style", "sale-badge", "--size", "90", "--color", "#00ff00", "-o", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        assert img.mode == "RGBA" and img.getchannel("A").getextrema() == (0, 255)
        green = np.asarray(img.convert("RGBA"))
        assert ((green[..., 1] > 200) & (green[..., 0] < 60) & (green[..., 3] == 255)).sum() > 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sale.png"]


def test_text_command_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    for args, expected in [(["--style", "nope"], "unknown text style"), (["--size", "-3"], "size"),
                           (["--font", "Nope"], "unknown font"), (["--engine", "magic"], "unknown text engine"),
                           (["--color", "blurple"], "fill.color")]:
        result = cli("text", "hi", *args, "-o", str(out))
        assert result.returncode == 2 and expected in result.stderr, (args, result.stderr)
    result = cli("text", "hi", "-o", str(tmp_path / "x.jpg"))
    assert result.returncode == 2 and ".png" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["text", "overlay"])
def test_reference_docs_are_generated_from_the_schema(name: str) -> None:
    from reelforge.spec.docs import render_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / f"{name}.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(name), f"run `make docs` to regenerate {docs.name}"
