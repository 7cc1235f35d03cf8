"""Backgrounds and subject compositing, checked the way a person looks at a product shot."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

from reelforge.errors import InputError
from reelforge.imaging.backgrounds import render_background
from reelforge.imaging.composite import FLOOR_LINE, composite_subject, resize_rgba
from reelforge.spec.backgrounds import (
    TEXTURE_NAMES,
    ColorBackground,
    ContactShadow,
    TextureBackground,
    parse_background,
)

SIZE = (640, 360)


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(np.float64)


def luma(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L")).astype(np.float64)


# --- backgrounds -------------------------------------------------------------------------------

ALL_SPECS = ["#223344", {"type": "gradient", "stops": ["red", "blue"]}, *TEXTURE_NAMES]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=str)
def test_every_background_renders_rgb_at_the_requested_size(spec: object) -> None:
    img = render_background(spec, (333, 211))  # type: ignore[arg-type]
    assert img.mode == "RGB" and img.size == (333, 211)


def test_shorthands_expand_to_colour_and_texture() -> None:
    assert parse_background("#223344") == ColorBackground(color="#223344")
    assert parse_background("marble") == TextureBackground(name="marble")
    assert pixels(render_background("#223344", (8, 8)))[4, 4].tolist() == [0x22, 0x33, 0x44]


def test_unknown_texture_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as err:
        parse_background({"type": "texture", "name": "granite"})
    assert all(name in str(err.value) for name in TEXTURE_NAMES)
    with pytest.raises(ValidationError) as err:
        parse_background("granit")
    assert "granit" in str(err.value) and all(name in str(err.value) for name in TEXTURE_NAMES)


@pytest.mark.parametrize("name", TEXTURE_NAMES)
def test_textures_are_deterministic_per_seed_and_differ_between_seeds(name: str) -> None:
    first = pixels(render_background({"type": "texture", "name": name, "seed": 3}, SIZE))
    again = pixels(render_background({"type": "texture", "name": name, "seed": 3}, SIZE))
    other = pixels(render_background({"type": "texture", "name": name, "seed": 4}, SIZE))
    assert np.array_equal(first, again)
    assert np.abs(first - other).mean() > 0.5


@pytest.mark.parametrize("name", TEXTURE_NAMES)
def test_textures_are_not_flat(name: str) -> None:
    assert luma(render_background(name, SIZE)).std() > 1.5


def test_wood_varies_more_across_the_grain_than_along_it() -> None:
    wood = luma(render_background("wood", SIZE))
    across = np.abs(np.diff(wood, axis=0)).mean()  # grain runs horizontally
    along = np.abs(np.diff(wood, axis=1)).mean()
    assert across > 2 * along


def test_studio_sweep_is_lit_at_the_top_centre_and_falls_off_to_the_bottom_corners() -> None:
    studio = luma(render_background("studio", SIZE))
    h, w = studio.shape
    top_centre = studio[: h // 8, w * 3 // 8: w * 5 // 8].mean()
    corners = (studio[-h // 8:, : w // 8].mean() + studio[-h // 8:, -w // 8:].mean()) / 2
    assert top_centre > corners + 25


def test_marble_has_thin_veins() -> None:
    marble = luma(render_background("marble", (1280, 720)))
    veins = marble < np.median(marble) - 20
    assert 0.002 < veins.mean() < 0.15  # some veins, mostly body
    # Thin: opening with a 9 px square removes nearly all of them (blobs would survive).
    opened = cv2.morphologyEx(veins.astype(np.uint8), cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
    assert opened.sum() < 0.1 * veins.sum()


def test_paper_is_near_white_and_low_contrast() -> None:
    paper = pixels(render_background("paper", SIZE))
    assert paper.mean() > 225 and luma(render_background("paper", SIZE)).std() < 8
    assert paper[..., 0].mean() > paper[..., 2].mean()  # warm, not blue-white


def test_concrete_is_grey_and_mottled() -> None:
    concrete = pixels(render_background("concrete", SIZE))
    r, g, b = (concrete[..., c].mean() for c in range(3))
    assert max(r, g, b) - min(r, g, b) < 15
    blurred = cv2.GaussianBlur(luma(render_background("concrete", SIZE)), (0, 0), 20)
    assert blurred.std() > 2  # large-scale mottling, not only fine noise


def test_texture_tint_changes_the_colour_not_the_structure() -> None:
    plain = luma(render_background({"type": "texture", "name": "wood"}, SIZE))
    tinted = pixels(render_background({"type": "texture", "name": "wood", "color": "#4060a0"}, SIZE))
    assert tinted[..., 2].mean() > tinted[..., 0].mean()
    assert np.corrcoef(plain.ravel(), tinted.mean(axis=2).ravel())[0, 1] > 0.9


def test_texture_looks_the_same_at_1080p_and_4k_scaled_down() -> None:
    small = luma(render_background({"type": "texture", "name": "concrete", "seed": 1}, (480, 270)))
    large = render_background({"type": "texture", "name": "concrete", "seed": 1}, (960, 540))
    large_down = luma(large.resize((480, 270), Image.Resampling.BOX))
    assert abs(small.mean() - large_down.mean()) < 3


def test_gradient_corners_match_its_stops() -> None:
    img = pixels(render_background({"type": "gradient", "stops": ["#ff0000", "#0000ff"], "angle": 135}, SIZE))
    assert np.allclose(img[0, 0], [255, 0, 0], atol=2)
    assert np.allclose(img[-1, -1], [0, 0, 255], atol=2)


def test_image_background_covers_the_frame(tmp_path: Path) -> None:
    photo = tmp_path / "tall.png"
    Image.new("RGB", (100, 300), (10, 200, 30)).save(photo)
    img = pixels(render_background({"type": "image", "path": str(photo)}, SIZE))
    assert np.allclose(img, [10, 200, 30], atol=1)
    blurred = render_background({"type": "image", "path": "tall.png", "fit": "contain-blur", "blur": 4}, SIZE,
                                base_dir=tmp_path)
    assert blurred.size == SIZE and blurred.mode == "RGB"


def test_image_background_with_a_bad_path_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"background\.path.*not found"):
        render_background({"type": "image", "path": str(tmp_path / "missing.jpg")}, SIZE)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"background\.path"):
        render_background({"type": "image", "path": str(broken)}, SIZE)


# --- compositing -------------------------------------------------------------------------------

def square_subject(size: int = 200, colour: tuple[int, int, int] = (200, 30, 30)) -> Image.Image:
    """A solid square in the middle of a larger transparent canvas (as a cut-out would be)."""
    img = Image.new("RGBA", (size * 2, size * 2), (255, 255, 255, 0))
    ImageDraw.Draw(img).rectangle((size // 2, size // 2, size * 3 // 2 - 1, size * 3 // 2 - 1), fill=(*colour, 255))
    return img


def subject_mask(out: Image.Image, colour: tuple[int, int, int] = (200, 30, 30)) -> np.ndarray:
    return np.abs(pixels(out) - np.array(colour)).sum(axis=2) < 30


def test_subject_is_centred_and_sized_to_the_scale() -> None:
    bg = render_background("#808080", SIZE)
    out = composite_subject(square_subject(), bg, scale=0.5, shadow=None)
    ys, xs = np.nonzero(subject_mask(out))
    assert abs(xs.mean() - SIZE[0] / 2) < 1.5 and abs(ys.mean() - SIZE[1] / 2) < 1.5
    assert abs((ys.max() - ys.min() + 1) - 0.5 * SIZE[1]) <= 2  # a square is limited by the height


def test_bottom_anchor_stands_the_subject_on_the_floor_line_with_offset() -> None:
    bg = render_background("#808080", SIZE)
    out = composite_subject(square_subject(), bg, scale=0.4, anchor="bottom", offset=(0.1, 0.0), shadow=None)
    ys, xs = np.nonzero(subject_mask(out))
    assert abs(ys.max() + 1 - FLOOR_LINE * SIZE[1]) <= 1.5
    assert abs(xs.mean() - 0.6 * SIZE[0]) < 1.5


def test_background_is_untouched_far_from_the_subject() -> None:
    bg = render_background("marble", SIZE)
    out = composite_subject(square_subject(), bg, scale=0.3, anchor="bottom")
    assert np.array_equal(pixels(out)[:40], pixels(bg)[:40])
    assert np.array_equal(pixels(out)[:, :100], pixels(bg)[:, :100])


def test_contact_shadow_darkens_just_below_the_base_and_nothing_above_the_subject() -> None:
    bg = render_background("#c0c0c0", SIZE)
    with_shadow = luma(composite_subject(square_subject(), bg, scale=0.4, anchor="bottom"))
    without = luma(composite_subject(square_subject(), bg, scale=0.4, anchor="bottom", shadow=None))
    base = round(FLOOR_LINE * SIZE[1])
    below = slice(base + 1, base + 4), slice(SIZE[0] // 2 - 20, SIZE[0] // 2 + 20)
    assert with_shadow[below].mean() < 0xC0 - 15
    assert np.all(without[below] == 0xC0)  # no shadow asked, nothing darkens
    top = base - round(0.4 * SIZE[1])
    assert np.array_equal(with_shadow[:top], without[:top])


def test_shadow_multiplies_so_the_texture_shows_through() -> None:
    bg = render_background("wood", SIZE)
    out = luma(composite_subject(square_subject(), bg, scale=0.4, anchor="bottom",
                                 shadow=ContactShadow(opacity=0.5, drop_opacity=0.2)))
    base = round(FLOOR_LINE * SIZE[1])
    patch = slice(base + 1, base + 6), slice(SIZE[0] // 2 - 60, SIZE[0] // 2 + 60)
    ratio = out[patch] / np.maximum(luma(bg)[patch], 1)
    assert ratio.max() < 0.95 and np.std(out[patch]) > 0.5 * np.std(luma(bg)[patch]) * ratio.mean()


def test_decontaminated_subject_shows_no_light_halo_over_black() -> None:
    """A cut-out from white: exact colour at the soft edge, white left under alpha 0."""
    colour = np.array([40.0, 60.0, 160.0])
    hi = Image.new("L", (1600, 1600), 0)
    ImageDraw.Draw(hi).ellipse((200, 200, 1400, 1400), fill=255)
    alpha = np.asarray(hi.resize((400, 400), Image.Resampling.LANCZOS))
    rgb = np.where(alpha[..., None] > 0, colour, 255.0).astype(np.uint8)
    subject = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    out = pixels(composite_subject(subject, Image.new("RGB", SIZE, (0, 0, 0)), scale=0.37, shadow=None))
    lit = out.sum(axis=2) > 0
    edge = lit & (cv2.erode(lit.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0)
    assert edge.sum() > 100
    # Over black each edge pixel is alpha × colour: never brighter than the colour itself.
    assert (out[edge] - colour).max() <= 2
    assert np.all(out[edge][:, 0] <= out[edge][:, 2])  # blue stays blue, no white mixed in


def test_resize_rgba_keeps_edge_colours_exact() -> None:
    img = Image.new("RGBA", (100, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).ellipse((10, 10, 90, 90), fill=(40, 60, 160, 255))
    small = np.asarray(resize_rgba(img, (33, 33))).astype(int)
    soft = (small[..., 3] > 20) & (small[..., 3] < 235)
    assert soft.any() and np.abs(small[soft][:, :3] - [40, 60, 160]).max() <= 3


def test_fully_transparent_subject_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="transparent") as err:
        composite_subject(Image.new("RGBA", (50, 50), (255, 255, 255, 0)), Image.new("RGB", SIZE))
    assert err.value.field == "subject" and err.value.exit_code == 2


def test_backgrounds_reference_is_generated_from_the_schema() -> None:
    from reelforge.spec.docs import render_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "backgrounds.md"
    assert docs.read_text(encoding="utf-8") == render_markdown("backgrounds"), "run `make docs` to regenerate it"
