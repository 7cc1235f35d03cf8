"""OpenAI-compatible chat completions with image inputs as a vision provider: OpenAI itself, or a
local server (Ollama, vLLM, LM Studio) through REELFORGE_OPENAI_BASE_URL — a real offline path
for users who run a local vision model. Images go as `image_url` parts (data URLs); the answer
is asked for with `response_format: json_schema` and validated by the pydantic model."""

from __future__ import annotations

import base64
from typing import Any, cast

from pydantic import BaseModel

from reelforge.errors import ProviderError
from reelforge.providers.errors import safety_error
from reelforge.providers.images.base import sniff_media_type
from reelforge.providers.images.openai_images import OpenAIImages
from reelforge.providers.limits import Limits
from reelforge.providers.vision.base import (
    ProductsAnswer,
    VisionRequest,
    check_indices,
    json_schema,
    parse_answer,
)
from reelforge.settings import Settings, secret


class OpenAIChatVision:
    name = "openai"

    def __init__(self, settings: Settings, limits: Limits) -> None:
        from openai import AsyncOpenAI

        self.model = settings.openai_vision_model
        # a local server needs no key, but the SDK insists on one
        self._client = AsyncOpenAI(api_key=secret(settings.openai_api_key) or "not-needed",
                                   base_url=settings.openai_base_url, max_retries=0, timeout=limits.timeout_s + 1)

    async def ask(self, request: VisionRequest) -> BaseModel:
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
        for img in request.images:
            url = f"data:{sniff_media_type(img) or 'image/jpeg'};base64,{base64.b64encode(img).decode()}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        response_format = {"type": "json_schema", "json_schema": {
            "name": request.response_model.__name__, "schema": json_schema(request.response_model)}}
        try:
            messages: Any = [{"role": "user", "content": content}]
            response = await self._client.chat.completions.create(
                model=self.model, messages=messages, response_format=cast(Any, response_format), temperature=0)
        except Exception as exc:
            raise OpenAIImages._translate(self, exc) from exc  # type: ignore[arg-type]
        if not response.choices:
            raise ProviderError(self.name, "the answer had no choices", reason="empty")
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise safety_error(self.name, "refusal", choice.message.refusal or "")
        if choice.finish_reason == "content_filter":
            raise safety_error(self.name, "content_filter")
        if choice.finish_reason == "length":
            raise ProviderError(self.name, "the answer was cut off (length)", reason="malformed",
                                hint="send fewer images per call")
        answer = parse_answer(self.name, choice.message.content, request.response_model)
        if isinstance(answer, ProductsAnswer):
            check_indices(self.name, answer, len(request.images))
        return answer

    async def aclose(self) -> None:
        await self._client.close()


def create(settings: Settings, limits: Limits) -> OpenAIChatVision:
    return OpenAIChatVision(settings, limits)
