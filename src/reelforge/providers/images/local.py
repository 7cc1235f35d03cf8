"""The `local` image provider: no network, no key. A text prompt becomes a clearly marked draft
card — a gradient frame showing the prompt, the requested aspect ratio and any reference images —
so whole pipelines run offline as an animatic and layouts can be timed for $0."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from reelforge.imaging.text import PlainTextStyle, render_plain_text
from reelforge.providers.images.base import (
    GeneratedImage,
    ImageCapabilities,
    ImageRequest,
    check_request,
    exact_aspect,
    size_for_aspect,
)
from reelforge.providers.limits import Limits
from reelforge.settings import Settings

LONG_SIDE = 1024
PALETTES = (("#1d2b64", "#f8cdda"), ("#0f2027", "#2c5364"), ("#42275a", "#734b6d"), ("#134e5e", "#71b280"),
            ("#3a1c71", "#ffaf7b"), ("#232526", "#414345"), ("#614385", "#516395"), ("#283c86", "#45a247"))


@dataclass
class LocalDraftCards:
    """Draft cards rendered with Pillow. CPU-bound: the runtime runs `generate_sync` in its
    process pool (the object pickles: it holds no clients)."""

    name: str = "local"
    model: str = "draft-card-2"  # the model id is part of every step key: bump it when the card changes
    capabilities: ImageCapabilities = field(default_factory=lambda: ImageCapabilities(
        max_references=4, max_count=8, seed=True, negative_prompt=True))
    cpu_bound: bool = True

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)  # sides rounded to even pixels

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        import asyncio

        return await asyncio.to_thread(self.generate_sync, request)

    def generate_sync(self, request: ImageRequest) -> list[GeneratedImage]:
        check_request(self.name, self.capabilities, request)
        return [_card(request, request.variant + i) for i in range(request.count)]


def create(settings: Settings, limits: Limits) -> LocalDraftCards:
    return LocalDraftCards()


def _card(request: ImageRequest, variant: int) -> GeneratedImage:
    size = _size(request.aspect_ratio)
    digest = hashlib.sha256(f"{request.prompt}|{request.seed}|{variant}".encode()).digest()
    top, bottom = PALETTES[digest[0] % len(PALETTES)]
    from reelforge.imaging.stills import linear_gradient

    # A request for a white backdrop (the scenes pipeline's balanced/premium modes) gets the card
    # drawn as an object on pure white, so the offline animatic runs the real cut-out path.
    on_white = request.backdrop == "white"
    inner = (round(size[0] * 0.7), round(size[1] * 0.7)) if on_white else size
    card = linear_gradient(inner, [top, bottom], 135 + digest[1] % 90)
    _draw_frame(card, request, variant)
    _paste_references(card, request.references)
    if on_white:
        card = _on_white(card, size)
    buffer = io.BytesIO()
    card.convert("RGB").save(buffer, "PNG")
    return GeneratedImage(buffer.getvalue(), "image/png",
                          {"draft": True, "aspect_ratio": request.aspect_ratio, "size": list(size), "variant": variant})


def _on_white(card: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The card as a rounded object centred on pure white."""
    page = Image.new("RGBA", size, (255, 255, 255, 255))
    mask = Image.new("L", card.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, card.width - 1, card.height - 1), radius=min(card.size) // 12, fill=255)
    page.paste(card, ((size[0] - card.width) // 2, (size[1] - card.height) // 2), mask)
    return page


def _size(aspect: str) -> tuple[int, int]:
    w, h = size_for_aspect(aspect, pixels=LONG_SIDE * LONG_SIDE, multiple=2)
    scale = LONG_SIDE / max(w, h)
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def _draw_frame(card: Image.Image, request: ImageRequest, variant: int) -> None:
    w, h = card.size
    unit = min(w, h)
    draw = ImageDraw.Draw(card)
    margin = max(8, unit // 24)
    draw.rectangle((margin // 2, margin // 2, w - margin // 2, h - margin // 2),
                   outline=(255, 255, 255, 160), width=max(2, unit // 200))
    badge = render_plain_text("DRAFT · no generator", PlainTextStyle(size_px=max(12, unit // 22), color="#111111",
                        box_color="#ffd400", box_padding=max(4, unit // 80), box_radius=6, weight=800))
    card.alpha_composite(badge, (margin, margin))
    prompt = render_plain_text(_shown_prompt(request.prompt), PlainTextStyle(
        size_px=max(14, unit // 14), color="#ffffff", weight=700, max_width=int(w * 0.8),
        shadow_offset=(2, 2), shadow_blur=3))
    if prompt.height > h * 0.6:  # a very long prompt: scale the block down to fit
        scale = h * 0.6 / prompt.height
        prompt = prompt.resize((max(1, int(prompt.width * scale)), max(1, int(prompt.height * scale))))
    card.alpha_composite(prompt, ((w - prompt.width) // 2, (h - prompt.height) // 2))
    extra = f"  ·  seed {request.seed}" if request.seed is not None else ""
    footer = render_plain_text(f"{request.aspect_ratio}  ·  {w}x{h}  ·  variant {variant + 1}{extra}",
                         PlainTextStyle(size_px=max(10, unit // 30), color="#ffffffcc", weight=500))
    card.alpha_composite(footer, (w - footer.width - margin, h - footer.height - margin))


def _shown_prompt(prompt: str) -> str:
    """The subject of the prompt: what a pipeline appends (aspect ratio, backdrop and quality
    words) is left off the card so the animatic reads like a storyboard."""
    return re.split(r",\s*\d+:\d+ aspect ratio|,\s*isolated on a", prompt.strip(), maxsplit=1)[0]


def _paste_references(card: Image.Image, references: tuple[bytes, ...]) -> None:
    w, h = card.size
    thumb = max(16, min(w, h) // 6)
    for i, data in enumerate(references):
        with Image.open(io.BytesIO(data)) as ref:
            small = ref.convert("RGBA")
            small.thumbnail((thumb, thumb))
        card.alpha_composite(small, (thumb // 4 + i * (thumb + thumb // 8), h - small.height - thumb // 4))
