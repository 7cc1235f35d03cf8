"""Gemini as a vision provider: generateContent with the images as inline parts, the prompt, and
`responseJsonSchema` from the answer's pydantic model (`responseMimeType: application/json`).
The answer text is validated by that model; safety blocks, truncation and empty answers are
errors with their reason (none retried)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reelforge.errors import ProviderError
from reelforge.providers.errors import safety_error
from reelforge.providers.images.base import sniff_media_type
from reelforge.providers.images.google import SAFETY_REASONS, _name, make_client, translate
from reelforge.providers.limits import Limits
from reelforge.providers.vision.base import (
    ProductsAnswer,
    VisionRequest,
    check_indices,
    json_schema,
    parse_answer,
)
from reelforge.settings import Settings


class GeminiVision:
    name = "gemini"

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self.model = settings.gemini_vision_model
        self._client = make_client(settings, settings.gemini_base_url, limits, vertex=settings.google_genai_use_vertexai)

    async def ask(self, request: VisionRequest) -> BaseModel:
        from google.genai import types

        parts: list[Any] = [types.Part.from_bytes(data=img, mime_type=sniff_media_type(img) or "image/jpeg")
                            for img in request.images]
        config = types.GenerateContentConfig(response_mime_type="application/json",
                                             response_json_schema=json_schema(request.response_model), temperature=0)
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=[*parts, request.prompt], config=config)
        except Exception as exc:
            raise translate(self.name, exc, "REELFORGE_GEMINI_VISION_MODEL") from exc
        answer = parse_answer(self.name, self._text(response), request.response_model)
        if isinstance(answer, ProductsAnswer):
            check_indices(self.name, answer, len(request.images))
        return answer

    def _text(self, response: Any) -> str:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason:
            raise safety_error(self.name, _name(feedback.block_reason), feedback.block_reason_message or "")
        if not response.candidates:
            raise ProviderError(self.name, "the answer had no candidates", reason="empty")
        candidate = response.candidates[0]
        reason = _name(candidate.finish_reason) if candidate.finish_reason else ""
        if reason in SAFETY_REASONS or reason in ("SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT"):
            raise safety_error(self.name, reason)
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        text = "".join(p.text for p in parts if getattr(p, "text", None))
        if reason == "MAX_TOKENS":
            raise ProviderError(self.name, "the answer was cut off (MAX_TOKENS)", reason="malformed",
                                hint="send fewer images per call")
        return text



def create(settings: Settings, limits: Limits) -> GeminiVision:
    return GeminiVision(settings, limits)
