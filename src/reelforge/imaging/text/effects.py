"""Pixel effects over glyph masks: fills, shadows, glows, extrusion, bevel, badges.

Every function takes masks (Pillow "L" images, 255 = inside) and pixel lengths and returns an
RGBA layer of the same size, to be alpha-composited back to front. Nothing here is random
except the gradients' ±½ LSB dither, which is seeded, so output is deterministic.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from reelforge.imaging.stills import linear_gradient, radial_gradient
from reelforge.spec.common import parse_color
from reelforge.spec.text_style import Accent, Bevel, Extrude, Fill, Glow, Shadow

Box = tuple[int, int, int, int]


def colored(mask: Image.Image, color: str, opacity: float = 1.0) -> Image.Image:
    """A solid colour whose alpha is `mask` × the colour's own alpha × `opacity`."""
    r, g, b, a = parse_color(color)
    scale = a / 255 * opacity
    layer = Image.new("RGBA", mask.size, (r, g, b, 0))
    layer.putalpha(mask if scale >= 1 else mask.point(lambda v: round(v * scale)))
    return layer


def shifted(mask: Image.Image, dx: int, dy: int) -> Image.Image:
    """`mask` moved by (dx, dy) without wrapping around (ImageChops.offset wraps)."""
    out = Image.new("L", mask.size, 0)
    out.paste(mask, (dx, dy))
    return out


def union(*masks: Image.Image) -> Image.Image:
    out = masks[0]
    for mask in masks[1:]:
        out = ImageChops.lighter(out, mask)
    return out


def _mix(color: str, towards: tuple[int, int, int], amount: float) -> str:
    r, g, b, _ = parse_color(color)
    mixed = [round(c + (t - c) * amount) for c, t in zip((r, g, b), towards)]
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def metallic_stops(base: str) -> list[str]:
    """Bands of a polished metal lit from above: bright top, dark horizon, bright kick, shade."""
    white, black = (255, 255, 255), (0, 0, 0)
    return [_mix(base, white, 0.65), _mix(base, white, 0.25), base, _mix(base, black, 0.45),
            _mix(base, white, 0.7), base, _mix(base, black, 0.3)]


def paint(fill: Fill, size: tuple[int, int]) -> Image.Image:
    """The fill as an RGBA image of `size` (the box the text or badge occupies)."""
    w, h = max(1, size[0]), max(1, size[1])
    if fill.type == "solid":
        return Image.new("RGBA", (w, h), parse_color(fill.color))
    if fill.type == "radial":
        return radial_gradient((w, h), list(fill.colors), fill.center, fill.radius)
    colors = list(fill.colors) if fill.type == "linear" or len(fill.colors) >= 2 else metallic_stops(fill.color)
    return linear_gradient((w, h), colors, fill.angle)


def painted(mask: Image.Image, fill: Fill, box: Box) -> Image.Image:
    """`fill` spread over `box` (left, top, right, bottom), visible where `mask` is."""
    layer = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    layer.paste(paint(fill, (box[2] - box[0], box[3] - box[1])), box[:2])
    alpha = ImageChops.multiply(layer.getchannel("A"), mask)
    layer.putalpha(alpha)
    return layer


def drop_shadow(mask: Image.Image, shadow: Shadow, em: float) -> Image.Image:
    alpha = shifted(mask, round(shadow.offset[0] * em), round(shadow.offset[1] * em))
    if shadow.blur:
        alpha = alpha.filter(ImageFilter.GaussianBlur(shadow.blur * em))
    return colored(alpha, shadow.color, shadow.opacity)


def dilate(mask: Image.Image, radius: float) -> Image.Image:
    """Grow a mask by `radius` pixels with a round kernel."""
    r = round(radius)
    if r < 1:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return Image.fromarray(cv2.dilate(np.asarray(mask), kernel))


def glow(mask: Image.Image, spec: Glow, em: float) -> Image.Image:
    alpha = dilate(mask, spec.spread * em).filter(ImageFilter.GaussianBlur(spec.radius * em))
    return colored(alpha, spec.color, spec.opacity)


def extrusion(mask: Image.Image, spec: Extrude, em: float) -> Image.Image:
    """Copies of the silhouette stepped back one pixel at a time along `angle`, darkening
    towards the back; drawn back to front so nearer steps cover farther ones."""
    depth = max(1, round(spec.depth * em))
    rad = math.radians(spec.angle)
    dx, dy = math.sin(rad), -math.cos(rad)
    r, g, b, _ = parse_color(spec.color)
    out = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    for step in range(depth, 0, -1):
        shade = 1.0 - spec.shading * step / depth
        color = (round(r * shade), round(g * shade), round(b * shade))
        layer = Image.new("RGBA", mask.size, (*color, 0))
        layer.putalpha(shifted(mask, round(step * dx), round(step * dy)))
        out.alpha_composite(layer)
    return out


def bevel(layer: Image.Image, mask: Image.Image, spec: Bevel, em: float) -> Image.Image:
    """Light the painted glyphs as if their edges were chamfered: a height map rises over `size`
    pixels from the edge; its slope facing the light brightens, the slope away darkens."""
    width = max(1.0, spec.size * em)
    inside = (np.asarray(mask) > 127).astype(np.uint8)
    height = np.clip(cv2.distanceTransform(inside, cv2.DIST_L2, 5) / width, 0.0, 1.0)
    height = cv2.GaussianBlur(height.astype(np.float32), (0, 0), max(0.6, width / 4))
    gy, gx = np.gradient(height)
    rad = math.radians(spec.angle)
    towards_light = (math.sin(rad), -math.cos(rad))
    # Uphill points into the glyph; an edge faces the light when uphill points away from it.
    shade = -(gx * towards_light[0] + gy * towards_light[1]) * width
    shade = np.clip(shade, -1.0, 1.0) * spec.strength * (np.asarray(mask) / 255.0)
    rgba = np.asarray(layer).astype(np.float32)
    light, dark = np.clip(shade, 0, 1)[..., None], np.clip(-shade, 0, 1)[..., None]
    rgb = rgba[..., :3] * (1 - light) + 255.0 * light
    rgba[..., :3] = rgb * (1 - dark)
    return Image.fromarray(np.clip(np.rint(rgba), 0, 255).astype(np.uint8), "RGBA")


def badge_mask(size: tuple[int, int], box: Box, shape: str, radius: float) -> Image.Image:
    """A rectangle, rounded rectangle or pill over `box`, 4× supersampled for smooth corners."""
    ss = 4
    big = Image.new("L", (size[0] * ss, size[1] * ss), 0)
    x0, y0, x1, y1 = (v * ss for v in box)
    corner = {"rect": 0.0, "rounded": radius, "pill": (box[3] - box[1]) / 2}[shape]
    ImageDraw.Draw(big).rounded_rectangle((x0, y0, x1 - 1, y1 - 1), radius=corner * ss, fill=255)
    return big.resize(size, Image.Resampling.BOX)


def accent_box(box: Box, accent: Accent, em: float) -> Box:
    """The bar's rectangle, outside the badge on the given side."""
    t = max(1, round(accent.width * em))
    x0, y0, x1, y1 = box
    return {"left": (x0 - t, y0, x0, y1), "right": (x1, y0, x1 + t, y1),
            "top": (x0, y0 - t, x1, y0), "bottom": (x0, y1, x1, y1 + t)}[accent.side]
