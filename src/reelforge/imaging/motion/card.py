"""Text-to-video offline: an animated draft card (the prompt on a slowly drifting gradient, with
a progress bar), so a pipeline can be laid out and timed before any paid call."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw

from reelforge.imaging.motion.kenburns import kenburns


def card_image(prompt: str, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A gradient card with the prompt wrapped on it (RGB)."""
    from reelforge.imaging.fonts import load_font, shipped_face

    w, h = size
    rng = np.random.default_rng(seed or abs(hash(prompt)) % 2**32)
    top, bottom = rng.integers(20, 120, 3), rng.integers(90, 200, 3)
    ramp = np.linspace(0, 1, h)[:, None, None]
    image = Image.fromarray((top * (1 - ramp) + bottom * ramp).repeat(w, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = load_font(shipped_face("geometric", 700), max(14, h // 18), 700)
    lines = textwrap.wrap(prompt, width=max(12, int(w / (h / 18) * 1.6)))[:6]
    y = h // 2 - len(lines) * h // 36
    for line in lines:
        draw.text((w // 2, y), line, font=font, fill=(255, 255, 255), anchor="mt")
        y += h // 16
    draw.text((w // 2, h - h // 10), "draft · local", font=font.font_variant(size=max(10, h // 30)),
              fill=(230, 230, 230), anchor="mm")
    return np.asarray(image)


def card(prompt: str, size: tuple[int, int], frames: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The card with a slow zoom and a progress bar along the bottom edge."""
    w, h = size
    for n, frame in enumerate(kenburns(card_image(prompt, size, seed), size, frames, zoom=1.08, pan=(0.02, 0.0))):
        frame = frame.copy()
        frame[h - max(4, h // 120):, : int(w * (n + 1) / frames)] = (255, 255, 255)
        yield frame
