"""Cut-out test images with exact ground-truth alpha (used by bench/bench_cutout.py and tests).

Subjects are drawn here (licence-clean): a mug with a handle hole and a white rim, headphones
whose band encloses a hole, a light sneaker with white parts, a bottle with a semi-transparent
glass body, bold text with thin strokes, a plant with hair-thin stems, and a photo patch from
scikit-image with a feathered edge. Each is drawn at 4× and downscaled (anti-aliased edges), then
feathered slightly (soft edges), and composited over four backdrops:

  a  pure white
  b  off-white with noise and a soft drop shadow (the shadow is backdrop: alpha 0)
  c  light grey gradient/vignette, saved as JPEG q85
  d  natural photos from scikit-image
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SPLITS = ("a", "b", "c", "d")
SUBJECTS = ("mug", "headphones", "sneaker", "bottle", "text", "plant", "photo")
SS = 4  # supersampling factor


@dataclass
class Sample:
    split: str
    name: str
    image: np.ndarray  # H×W×3 uint8, what the user hands us
    alpha: np.ndarray  # H×W float32 0..1, ground truth
    foreground: np.ndarray  # H×W×3 float32 0..1, ground-truth subject colour


def _canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (size * SS, size * SS), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _s(v: float, size: int) -> int:
    return round(v * size * SS)


def _mug(size: int, rng: np.random.Generator) -> Image.Image:
    img, d = _canvas(size)
    s = lambda v: _s(v, size)  # noqa: E731
    d.ellipse([s(0.58), s(0.35), s(0.86), s(0.68)], fill=(150, 30, 40, 255))  # handle ring
    d.ellipse([s(0.64), s(0.42), s(0.80), s(0.61)], fill=(0, 0, 0, 0))  # its hole
    d.rounded_rectangle([s(0.18), s(0.25), s(0.68), s(0.82)], radius=s(0.05), fill=(170, 35, 45, 255))
    d.rectangle([s(0.18), s(0.25), s(0.68), s(0.31)], fill=(244, 244, 242, 255))  # white rim band
    d.ellipse([s(0.26), s(0.40), s(0.36), s(0.70)], fill=(230, 120, 125, 255))  # highlight
    return img


def _headphones(size: int, rng: np.random.Generator) -> Image.Image:
    img, d = _canvas(size)
    s = lambda v: _s(v, size)  # noqa: E731
    d.arc([s(0.2), s(0.12), s(0.8), s(0.78)], 180, 360, fill=(40, 40, 46, 255), width=s(0.05))
    d.line([s(0.2), s(0.45), s(0.2), s(0.62)], fill=(40, 40, 46, 255), width=s(0.05))
    d.line([s(0.8), s(0.45), s(0.8), s(0.62)], fill=(40, 40, 46, 255), width=s(0.05))
    for x in (0.2, 0.8):
        d.rounded_rectangle([s(x - 0.09), s(0.55), s(x + 0.09), s(0.85)], radius=s(0.04), fill=(25, 25, 28, 255))
        d.rounded_rectangle([s(x - 0.06), s(0.58), s(x + 0.06), s(0.82)], radius=s(0.03), fill=(205, 205, 210, 255))
    return img


def _sneaker(size: int, rng: np.random.Generator) -> Image.Image:
    img, d = _canvas(size)
    s = lambda v: _s(v, size)  # noqa: E731
    d.polygon([(s(0.1), s(0.7)), (s(0.15), s(0.45)), (s(0.45), s(0.38)), (s(0.6), s(0.5)),
               (s(0.88), s(0.58)), (s(0.9), s(0.7))], fill=(236, 234, 230, 255))  # light upper
    d.rounded_rectangle([s(0.08), s(0.68), s(0.92), s(0.76)], radius=s(0.02), fill=(250, 250, 250, 255))  # white sole
    d.line([s(0.08), s(0.765), s(0.92), s(0.765)], fill=(60, 60, 60, 255), width=s(0.012))  # sole line
    for i in range(4):
        x = 0.32 + i * 0.05
        d.line([s(x), s(0.42), s(x + 0.04), s(0.52)], fill=(30, 60, 140, 255), width=s(0.008))  # laces
    d.ellipse([s(0.66), s(0.58), s(0.74), s(0.64)], fill=(200, 40, 40, 255))  # logo
    return img


def _bottle(size: int, rng: np.random.Generator) -> Image.Image:
    img, d = _canvas(size)
    s = lambda v: _s(v, size)  # noqa: E731
    d.rounded_rectangle([s(0.35), s(0.3), s(0.65), s(0.88)], radius=s(0.06), fill=(60, 140, 90, 150))  # glass
    d.rectangle([s(0.44), s(0.12), s(0.56), s(0.32)], fill=(60, 140, 90, 170))  # neck
    d.rectangle([s(0.43), s(0.09), s(0.57), s(0.14)], fill=(190, 160, 60, 255))  # cap
    d.rectangle([s(0.37), s(0.5), s(0.63), s(0.68)], fill=(245, 240, 225, 255))  # cream label
    return img


def _text(size: int, rng: np.random.Generator) -> Image.Image:
    from reelforge.imaging.fonts import load_font, resolve_font

    img, d = _canvas(size)
    font = load_font(resolve_font("sans"), _s(0.2, size), 800)
    d.text((_s(0.5, size), _s(0.4, size)), "SALE", font=font, anchor="mm", fill=(220, 30, 60, 255),
           stroke_width=_s(0.008, size), stroke_fill=(20, 20, 20, 255))
    d.text((_s(0.5, size), _s(0.62, size)), "50% off", font=font.font_variant(size=_s(0.1, size)),
           anchor="mm", fill=(20, 20, 20, 255))
    return img


def _plant(size: int, rng: np.random.Generator) -> Image.Image:
    img, d = _canvas(size)
    s = lambda v: _s(v, size)  # noqa: E731
    d.polygon([(s(0.38), s(0.68)), (s(0.62), s(0.68)), (s(0.58), s(0.9)), (s(0.42), s(0.9))], fill=(190, 110, 70, 255))
    for _ in range(14):
        end = (0.5 + rng.uniform(-0.35, 0.35), rng.uniform(0.08, 0.4))
        d.line([s(0.5), s(0.68), s(end[0]), s(end[1])], fill=(50, 120, 40, 255), width=max(2, s(0.0025)))
        d.ellipse([s(end[0] - 0.03), s(end[1] - 0.015), s(end[0] + 0.03), s(end[1] + 0.015)], fill=(70, 150, 50, 255))
    return img


def _photo(size: int, rng: np.random.Generator) -> Image.Image:
    from skimage import data

    patch = Image.fromarray(data.chelsea()).convert("RGBA").resize((size * SS * 3 // 5, size * SS * 3 // 5))
    img, _ = _canvas(size)
    mask = Image.new("L", patch.size, 0)
    ImageDraw.Draw(mask).ellipse([0, 0, patch.size[0] - 1, patch.size[1] - 1], fill=255)
    patch.putalpha(mask.filter(ImageFilter.GaussianBlur(SS * 3)))
    img.alpha_composite(patch, (size * SS // 5, size * SS // 5))
    return img


DRAW = {"mug": _mug, "headphones": _headphones, "sneaker": _sneaker, "bottle": _bottle,
        "text": _text, "plant": _plant, "photo": _photo}


def subject(name: str, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(alpha H×W, straight colour H×W×3), both float32 0..1, anti-aliased and slightly feathered."""
    big = DRAW[name](size, np.random.default_rng(seed))
    arr = np.asarray(big, np.float32) / 255.0
    a = arr[..., 3:4]
    premult = np.concatenate([arr[..., :3] * a, a], axis=2)
    # downscale premultiplied colour and alpha together (box filter = exact coverage)
    h = w = size
    pm = premult.reshape(h, SS, w, SS, 4).mean(axis=(1, 3))
    alpha = pm[..., 3]
    # a light feather: real photos are never perfectly crisp
    feather = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)),
                         np.float32) / 255.0
    with np.errstate(invalid="ignore", divide="ignore"):
        colour = np.where(alpha[..., None] > 1e-4, pm[..., :3] / alpha[..., None], 0.0)
    colour = _spread_colour(colour, alpha)
    return feather.astype(np.float32), np.clip(colour, 0, 1).astype(np.float32)


def _spread_colour(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Extend subject colours outward so the feathered rim has a defined colour."""
    import cv2

    known = (alpha > 0.02).astype(np.uint8)
    _, labels = cv2.distanceTransformWithLabels(1 - known, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(known)
    if len(ys) == 0:
        return colour
    return np.where(known[..., None] > 0, colour, colour[ys[labels - 1], xs[labels - 1]])


def backdrop(split: str, size: int, alpha: np.ndarray, rng: np.random.Generator, index: int) -> np.ndarray:
    """The backdrop for a split, H×W×3 float32 0..1."""
    if split == "a":
        return np.ones((size, size, 3), np.float32)
    if split == "b":
        base = np.array([246, 244, 239], np.float32) / 255.0 + rng.normal(0, 2.0 / 255, (size, size, 3)).astype(np.float32)
        shadow = Image.fromarray((alpha * 255).astype(np.uint8)).transform(
            (size, size), Image.Transform.AFFINE, (1, 0, -size * 0.04, 0, 1, -size * 0.03))
        shadow = np.asarray(shadow.filter(ImageFilter.GaussianBlur(size * 0.02)), np.float32) / 255.0
        return np.clip(base * (1 - 0.35 * shadow[..., None]), 0, 1)
    if split == "c":
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        gradient = 0.93 - 0.10 * yy
        vignette = 0.92 - 0.14 * ((xx - 0.5) ** 2 + (yy - 0.45) ** 2)
        level = gradient if index % 2 else vignette
        return np.repeat(level[..., None], 3, axis=2) * np.array([1.0, 0.99, 0.97], np.float32)
    from skimage import data

    photos = [data.coffee(), data.rocket(), data.astronaut(), data.stereo_motorcycle()[0], data.immunohistochemistry()]
    photo = Image.fromarray(photos[index % len(photos)]).convert("RGB").resize((size, size))
    return np.asarray(photo, np.float32) / 255.0


def sample(split: str, name: str, size: int = 512, seed: int = 0) -> Sample:
    index = SUBJECTS.index(name)
    rng = np.random.default_rng(seed * 100 + index)
    alpha, colour = subject(name, size, seed)
    back = backdrop(split, size, alpha, rng, index)
    comp = colour * alpha[..., None] + back * (1 - alpha[..., None])
    image = np.clip(np.round(comp * 255), 0, 255).astype(np.uint8)
    if split == "c":
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=85)
        image = np.asarray(Image.open(buf).convert("RGB"))
    return Sample(split=split, name=name, image=image, alpha=alpha, foreground=colour)


def dataset(size: int = 512, splits: tuple[str, ...] = SPLITS, subjects: tuple[str, ...] = SUBJECTS) -> list[Sample]:
    return [sample(split, name, size) for split in splits for name in subjects]
