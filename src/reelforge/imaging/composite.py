"""Put a cut-out subject on a background like a product shot: sized, placed, grounded by a shadow.

All blending is on premultiplied colour (colour × alpha), so whatever RGB a cut-out keeps under
its fully transparent pixels (often the white it was shot on) can never bleed into the edges:
not when resizing and not when compositing. Shadows multiply the background, so its texture
(wood grain, paper fibres) stays visible through them.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from PIL import Image

from reelforge.errors import InputError
from reelforge.spec.backgrounds import ContactShadow
from reelforge.spec.common import parse_color

Placement = Literal["center", "bottom"]
FLOOR_LINE = 0.88  # where a subject anchored at the bottom stands, as a fraction of the frame height
BASE_ROWS = 0.03  # the lowest 3 % of the subject's rows count as the base it stands on
MIN_BASE = 0.3  # a contact shadow is at least this fraction of the subject's width (round bottoms)
_EMPTY_ALPHA = 2  # 8-bit alpha at or below this is cut-out noise, not subject
_DEFAULT_SHADOW = ContactShadow()


def composite_subject(subject: Image.Image, background: Image.Image, *, scale: float = 0.8,
                      anchor: Placement = "center", offset: tuple[float, float] = (0.0, 0.0),
                      shadow: ContactShadow | None = _DEFAULT_SHADOW,
                      box: tuple[tuple[int, int], tuple[int, int]] | None = None) -> Image.Image:
    """`subject` (RGBA cut-out) over `background` (RGB), with its bounding box fitted inside
    `scale` × the frame, centred or standing on the floor line (`anchor="bottom"`), moved by
    `offset` (x, y fractions of the frame); or, with `box` = ((w, h), (row, column)), its bounding
    box drawn at exactly that size and top-left (imaging/layout.py decides it); `shadow=None`
    draws no shadow. Returns RGB."""
    frame = np.array(background.convert("RGB"))
    size = box[0] if box is not None else fit_size(subject_box(subject), background.size, scale)
    layer = resize_premultiplied(subject_pixels(subject), size)
    origin = box[1] if box is not None else placement(layer.shape[:2], background.size, anchor, offset)
    parts: list[tuple[np.ndarray, tuple[int, int], str]] = []
    if shadow is not None:
        parts += shadow_masks(layer[..., 3], origin, shadow)
    parts.append((layer, origin, "over"))
    window = _union_box([(origin, part.shape[:2]) for part, origin, _ in parts], frame.shape[:2])
    if window is None:
        return background.convert("RGB")
    (top, left), (bottom, right) = window
    pixels = frame[top:bottom, left:right].astype(np.float32)
    for part, (y, x), how in parts:
        _blend(pixels, part, (y - top, x - left), how, shadow)
    frame[top:bottom, left:right] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return Image.fromarray(frame, "RGB")


def subject_box(subject: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box (left, top, right, bottom) of the visible subject; InputError if there is none."""
    alpha = subject.convert("RGBA").getchannel("A")
    box = alpha.point(lambda a: 255 if a > _EMPTY_ALPHA else 0).getbbox()
    if box is None:
        raise InputError("the subject is fully transparent: there is nothing to composite", field="subject",
                         hint="check the cut-out (its mask is empty); try another cut-out method or the original image")
    return box


def subject_pixels(subject: Image.Image) -> np.ndarray:
    """The subject cropped to its bounding box, premultiplied float RGBA in 0..1."""
    rgba = np.asarray(subject.convert("RGBA").crop(subject_box(subject)), np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:]
    return rgba


def fit_size(box: tuple[int, int, int, int], frame: tuple[int, int], scale: float) -> tuple[int, int]:
    """(width, height) that fits the box inside `scale` × frame, keeping its aspect ratio."""
    w, h = box[2] - box[0], box[3] - box[1]
    k = min(scale * frame[0] / w, scale * frame[1] / h)
    return max(1, round(w * k)), max(1, round(h * k))


def resize_premultiplied(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """LANCZOS-resize premultiplied RGBA (float 0..1) to `size` (w, h), clipping filter ringing
    so colour never exceeds alpha (which would glow as a light fringe)."""
    if (rgba.shape[1], rgba.shape[0]) == size:
        return rgba
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(rgba[..., c]), "F")
                           .resize(size, Image.Resampling.LANCZOS)) for c in range(4)]
    out = np.maximum(np.stack(channels, axis=-1), 0.0)
    out /= np.maximum(out[..., 3:], 1.0)  # overshoot scaled back as a whole, so colour ratios stay exact
    np.minimum(out[..., :3], out[..., 3:], out=out[..., :3])
    return out


def resize_rgba(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An RGBA image resized on premultiplied colour, returned straight (un-premultiplied) again."""
    rgba = np.asarray(image.convert("RGBA"), np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:]
    out = resize_premultiplied(rgba, size)
    alpha = out[..., 3:]
    out[..., :3] = np.divide(out[..., :3], alpha, out=np.zeros_like(out[..., :3]), where=alpha > 1e-6)
    return Image.fromarray(np.clip(np.rint(out * 255), 0, 255).astype(np.uint8), "RGBA")


def placement(shape: tuple[int, int], frame: tuple[int, int], anchor: Placement,
              offset: tuple[float, float]) -> tuple[int, int]:
    """Top-left (row, column) of an (h, w) subject: centred, or standing on the floor line."""
    (h, w), (fw, fh) = shape, frame
    top = fh * FLOOR_LINE - h if anchor == "bottom" else (fh - h) / 2
    return round(top + offset[1] * fh), round((fw - w) / 2 + offset[0] * fw)


def shadow_masks(alpha: np.ndarray, origin: tuple[int, int],
                 shadow: ContactShadow) -> list[tuple[np.ndarray, tuple[int, int], str]]:
    """The contact ellipse (and the drop shadow, if on) as masks in 0..1 with their frame origins."""
    masks = [(*contact_ellipse(alpha, shadow), "contact")]
    if shadow.drop_opacity > 0:
        masks.insert(0, (*drop_shadow(alpha, shadow), "drop"))
    return [(mask, (origin[0] + dy, origin[1] + dx), how) for mask, (dy, dx), how in masks]


def base_columns(alpha: np.ndarray) -> tuple[float, float]:
    """Left and right edge of what the subject stands on: opaque columns of its lowest rows."""
    h, w = alpha.shape
    rows = alpha[-max(2, round(h * BASE_ROWS)):].max(axis=0)
    cols = np.flatnonzero(rows > 0.5)
    if cols.size == 0:
        cols = np.flatnonzero(rows > 0)
    left, right = float(cols[0]), float(cols[-1] + 1)
    extra = max(0.0, MIN_BASE * w - (right - left)) / 2
    return left - extra, right + extra


def contact_ellipse(alpha: np.ndarray, shadow: ContactShadow) -> tuple[np.ndarray, tuple[int, int]]:
    """A flat blurred ellipse centred on the base line, peak 1; origin relative to the subject."""
    h = alpha.shape[0]
    left, right = base_columns(alpha)
    half_w = (right - left) * shadow.width / 2
    half_h = max(half_w * shadow.flatten, 0.5)
    sigma = shadow.blur * 2 * half_h
    pad = int(np.ceil(3 * sigma)) + 2
    mask: np.ndarray = np.zeros((int(2 * (half_h + pad)), int(2 * (half_w + pad))), np.float32)
    centre = (mask.shape[1] / 2, mask.shape[0] / 2)
    cv2.ellipse(mask, (round(centre[0] * 16), round(centre[1] * 16)), (round(half_w * 16), round(half_h * 16)),
                0, 0, 360, 1.0, -1, cv2.LINE_AA, shift=4)
    if sigma > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask /= max(float(mask.max()), 1e-6)
    cx = (left + right) / 2 + shadow.offset[0] * h
    cy = h + shadow.offset[1] * h
    return mask, (round(cy - centre[1]), round(cx - centre[0]))


def drop_shadow(alpha: np.ndarray, shadow: ContactShadow) -> tuple[np.ndarray, tuple[int, int]]:
    """The subject's silhouette, blurred and shifted; origin relative to the subject."""
    h = alpha.shape[0]
    sigma = shadow.drop_blur * h
    pad = int(np.ceil(3 * sigma))
    mask = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    if sigma > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return mask, (round(shadow.drop_offset[1] * h) - pad, round(shadow.drop_offset[0] * h) - pad)


def _blend(pixels: np.ndarray, part: np.ndarray, origin: tuple[int, int], how: str,
           shadow: ContactShadow | None) -> None:
    """Blend one part into the float window in place: the subject "over", shadows multiplied."""
    region = _overlap(pixels.shape[:2], origin, part.shape[:2])
    if region is None:
        return
    target, source = region
    if how == "over":
        layer = part[source]
        pixels[target] = layer[..., :3] * 255.0 + pixels[target] * (1.0 - layer[..., 3:])
        return
    assert shadow is not None
    opacity = shadow.opacity if how == "contact" else shadow.drop_opacity
    ink = 1.0 - np.array(parse_color(shadow.color)[:3], np.float32) / 255.0
    pixels[target] *= 1.0 - (opacity * part[source])[..., None] * ink


def _overlap(canvas: tuple[int, int], origin: tuple[int, int],
             shape: tuple[int, int]) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Slices of the canvas and of an item at `origin` (row, col) where the two overlap."""
    y0, x0 = max(origin[0], 0), max(origin[1], 0)
    y1, x1 = min(origin[0] + shape[0], canvas[0]), min(origin[1] + shape[1], canvas[1])
    if y1 <= y0 or x1 <= x0:
        return None
    return ((slice(y0, y1), slice(x0, x1)),
            (slice(y0 - origin[0], y1 - origin[0]), slice(x0 - origin[1], x1 - origin[1])))


def _union_box(items: list[tuple[tuple[int, int], tuple[int, int]]],
               frame: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The part of the frame any item touches, as ((top, left), (bottom, right)); None if off-frame."""
    top = max(0, min(y for (y, _), _ in items))
    left = max(0, min(x for (_, x), _ in items))
    bottom = min(frame[0], max(y + h for (y, _), (h, _) in items))
    right = min(frame[1], max(x + w for (_, x), (_, w) in items))
    return None if bottom <= top or right <= left else ((top, left), (bottom, right))
