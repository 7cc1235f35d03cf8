"""Render a background spec (colour, gradient, image or procedural texture) to an RGB frame.

Scenes in `balanced` and `premium` mode composite a cut-out subject onto one of these; they are
pure functions of (spec, size), so a step's cache key can be built from the spec alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from reelforge.imaging.load import load_image
from reelforge.imaging.stills import fit_image, linear_gradient
from reelforge.imaging.textures import DEFAULT_COLORS, TEXTURES
from reelforge.spec.backgrounds import (
    BackgroundSpec,
    ColorBackground,
    GradientBackground,
    ImageBackground,
    TextureBackground,
    parse_background,
)
from reelforge.spec.common import parse_color

Size = tuple[int, int]  # (width, height)


def render_background(spec: BackgroundSpec | str | dict[str, Any], size: Size, *,
                      base_dir: Path | None = None) -> Image.Image:
    """The background at `size` (width, height) as an RGB image.

    `spec` may be a model, a dict or a shorthand string ("#223344", "marble"); relative image
    paths are taken from `base_dir` (default: the working directory).
    """
    bg = spec if isinstance(spec, (ColorBackground, GradientBackground, ImageBackground, TextureBackground)) \
        else parse_background(spec)
    if isinstance(bg, ColorBackground):
        return Image.new("RGB", size, parse_color(bg.color)[:3])
    if isinstance(bg, GradientBackground):
        return linear_gradient(size, list(bg.stops), bg.angle).convert("RGB")
    if isinstance(bg, ImageBackground):
        return image_background(bg, size, base_dir or Path.cwd())
    return texture_background(bg, size)


def image_background(bg: ImageBackground, size: Size, base_dir: Path) -> Image.Image:
    """The picture fitted to the frame, optionally blurred; transparent parts show black."""
    from reelforge.spec.loader import resolve_path

    picture = load_image(resolve_path(bg.path, base_dir), field="background.path")
    fitted = fit_image(picture, size, bg.fit)
    flat = Image.new("RGB", size, (0, 0, 0))
    flat.paste(fitted, mask=fitted.getchannel("A"))
    if bg.blur:
        flat = flat.filter(ImageFilter.GaussianBlur(bg.blur * min(size) / 1080))
    return flat


def texture_background(bg: TextureBackground, size: Size) -> Image.Image:
    """A procedural material; lengths scale with the frame's short side (1 unit = 1 px at 1080p)."""
    w, h = size
    base = np.array(parse_color(bg.color)[:3] if bg.color else DEFAULT_COLORS[bg.name], np.float32)
    unit = min(w, h) / 1080 * bg.scale
    rgb = TEXTURES[bg.name]((h, w), base, bg.seed, unit)
    return Image.fromarray(_to_uint8(rgb, bg.seed), "RGB")


def _to_uint8(rgb: np.ndarray, seed: int) -> np.ndarray:
    """Round with ±0.5 LSB of dither, so smooth light falloffs don't band after encoding."""
    dither = np.random.default_rng([seed, 99]).random(rgb.shape[:2], dtype=np.float32)[..., None]
    return np.clip(rgb + dither, 0, 255).astype(np.uint8)
