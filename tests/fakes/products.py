"""A fake Gemini (wire format of tests/fakes/image_apis.py) that answers every prompt with a
drawn 'product shot' on pure white, deterministic per prompt — what the scenes pipeline's
balanced mode asks a real model for. Prompts containing "BLANK " get an empty white image
(fails QA); "BLANKONCE" only on its first request."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from PIL import Image, ImageDraw

from .image_apis import Call, FakeImageAPI, Reply, _json


def product_on_white(prompt: str, size: tuple[int, int] = (1344, 768)) -> bytes:
    """A deterministic 'product shot' per prompt: a coloured bottle-ish shape on #FFFFFF."""
    digest = hashlib.sha256(prompt.encode()).digest()
    colour = (40 + digest[0] % 160, 40 + digest[1] % 160, 40 + digest[2] % 160)
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    w, h = size
    half = 0.07 + digest[3] % 8 / 100  # body width and height vary per prompt too
    draw.rounded_rectangle((w * (0.5 - half), h * (0.2 + digest[4] % 10 / 100), w * (0.5 + half), h * 0.85),
                           radius=int(h * 0.05), fill=colour)
    draw.ellipse((w * 0.45, h * 0.1, w * 0.55, h * 0.3), fill=tuple(c // 2 for c in colour))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def blank_white(size: tuple[int, int] = (1344, 768)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buffer, "PNG")
    return buffer.getvalue()


class ProductAPI(FakeImageAPI):
    """Gemini wire format; prompts containing BLANK get an empty white image (fails QA), and
    BLANKONCE only on its first request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("gemini", **kwargs)
        self.seen: dict[str, int] = {}

    def _reply(self, call: Call) -> Reply:
        if call.mode != "ok":
            return super()._reply(call)
        key = call.prompt.split(",")[0]
        self.seen[key] = self.seen.get(key, 0) + 1
        blank = "BLANK " in call.prompt or ("BLANKONCE" in call.prompt and self.seen[key] == 1)
        data = blank_white() if blank else product_on_white(call.prompt)  # another prompt, another image
        return _json(200, {"candidates": [{"content": {"role": "model", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]},
            "finishReason": "STOP", "index": 0}]})
