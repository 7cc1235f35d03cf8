"""Studio shots composited from the REAL product pixels (the cut-out of a video frame): a white
studio sweep with a soft contact shadow and a faint floor reflection, a wooden desk, a
brand-colour gradient — or any background spec / AI-generated empty scene. Nothing here invents
a product: the only product pixels in a shot are the cut-out's, resized and (mildly) harmonised
to the backdrop's light."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from reelforge.imaging.backgrounds import render_background
from reelforge.imaging.composite import composite_subject
from reelforge.spec.backgrounds import ContactShadow
from reelforge.spec.common import parse_color

SHOT_STYLES = ("studio", "desk", "gradient")
ASPECTS = {"1:1": (1, 1), "4:5": (4, 5), "9:16": (9, 16), "16:9": (16, 9)}
HARMONISE = 0.12  # how far the product's overall colour moves towards the backdrop's light (0 = not at all)
MAX_GAIN = 0.04  # and never by more than ±4 % per channel


@dataclass(frozen=True)
class ShotSpec:
    style: str
    background: Any  # a background spec (str/dict) or an RGB image (AI background)
    floor_reflection: float = 0.0
    shadow: ContactShadow = field(default_factory=ContactShadow)
    scale: float = 0.62
    anchor: str = "bottom"


def frame_size(aspect: str, long_side: int) -> tuple[int, int]:
    w, h = ASPECTS[aspect]
    k = long_side / max(w, h)
    return round(w * k) // 2 * 2, round(h * k) // 2 * 2


def spec_for(style: str, brand_color: str = "#3b5bdb", background: Any = None) -> ShotSpec:
    if style == "studio":
        return ShotSpec("studio", {"type": "gradient", "stops": ["#ffffff", "#f1f1f1", "#dedede"], "angle": 180},
                        floor_reflection=0.18, shadow=ContactShadow(opacity=0.5, drop_opacity=0.12))
    if style == "desk":
        return ShotSpec("desk", {"type": "texture", "name": "wood", "seed": 7},
                        shadow=ContactShadow(opacity=0.6, drop_opacity=0.18))
    if style == "gradient":
        r, g, b = parse_color(brand_color)[:3]
        light = "#{:02x}{:02x}{:02x}".format(*(min(255, c + (255 - c) // 2) for c in (r, g, b)))
        dark = "#{:02x}{:02x}{:02x}".format(*(c * 2 // 3 for c in (r, g, b)))
        return ShotSpec("gradient", {"type": "gradient", "stops": [light, dark], "angle": 160},
                        floor_reflection=0.1, shadow=ContactShadow(opacity=0.45), anchor="center", scale=0.6)
    if style == "custom":
        return ShotSpec("custom", background, shadow=ContactShadow(opacity=0.5, drop_opacity=0.12))
    raise ValueError(f"unknown shot style {style!r}; use one of {', '.join(SHOT_STYLES)}")


def harmonise(cutout: Image.Image, backdrop: Image.Image) -> Image.Image:
    """A gentle per-channel gain towards the colour of the backdrop's light (a warm desk warms the
    product a little, a white sweep leaves it as shot). It depends on the backdrop only — never on
    the product's own colour, which must stay true. Alpha is untouched."""
    rgba = np.asarray(cutout.convert("RGBA"), np.float32)
    light = np.asarray(backdrop.convert("RGB").resize((64, 64)), np.float32).reshape(-1, 3).mean(axis=0)
    cast = light / max(float(light.mean()), 1.0)
    gain = np.clip(cast ** HARMONISE, 1 - MAX_GAIN, 1 + MAX_GAIN)
    rgba[..., :3] = np.clip(rgba[..., :3] * gain, 0, 255)
    return Image.fromarray((rgba + 0.5).astype(np.uint8), "RGBA")


def render_shot(cutout: Image.Image, spec: ShotSpec, size: tuple[int, int]) -> Image.Image:
    """One shot: backdrop, the product standing on it with its shadows, a floor reflection."""
    if isinstance(spec.background, Image.Image):
        from reelforge.imaging.stills import fit_image

        backdrop = fit_image(spec.background.convert("RGBA"), size, "cover").convert("RGB")
    else:
        backdrop = render_background(spec.background, size)
    product = harmonise(cutout, backdrop)
    if spec.floor_reflection > 0 and spec.anchor == "bottom":
        backdrop = _with_reflection(product, backdrop, spec)
    return composite_subject(product, backdrop, scale=spec.scale, anchor=spec.anchor,  # type: ignore[arg-type]
                             shadow=spec.shadow)


def _with_reflection(product: Image.Image, backdrop: Image.Image, spec: ShotSpec) -> Image.Image:
    """The product mirrored below the floor line, faded out downwards, at low opacity — composited
    first so the product and its contact shadow sit on top."""
    from reelforge.imaging.composite import FLOOR_LINE, fit_size, resize_rgba, subject_box

    box = subject_box(product)
    w, h = fit_size(box, backdrop.size, spec.scale)
    mirrored = resize_rgba(product.crop(box), (w, h)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    rgba = np.asarray(mirrored, np.float32)
    fade = np.linspace(spec.floor_reflection, 0.0, h, dtype=np.float32) ** 1.5
    rgba[..., 3] *= np.clip(fade, 0, 1)[:, None]
    layer = Image.fromarray(rgba.astype(np.uint8), "RGBA")
    out = backdrop.convert("RGBA")
    top = round(backdrop.height * FLOOR_LINE)
    out.alpha_composite(layer, ((backdrop.width - w) // 2, min(top, backdrop.height - 1)))
    return out.convert("RGB")
