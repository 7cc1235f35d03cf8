"""OpenAI-compatible chat completions as a writer: OpenAI itself, or a local server (Ollama, vLLM,
LM Studio) through REELFORGE_OPENAI_BASE_URL. The answer is asked for with `response_format:
json_schema`; a re-ask appends the refused answer and the validation error to the messages."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel

from reelforge.errors import ProviderError
from reelforge.providers.errors import safety_error
from reelforge.providers.images.openai_images import OpenAIImages
from reelforge.providers.limits import Limits
from reelforge.providers.writer.base import (
    REASK,
    Exchange,
    WriterRequest,
    ask_validated,
    finish_problem,
    schema_of,
)
from reelforge.settings import Settings, secret


class OpenAIChatWriter:
    name = "openai"

    def __init__(self, settings: Settings, limits: Limits) -> None:
        from openai import AsyncOpenAI

        self.model = settings.openai_writer_model
        # a local server needs no key, but the SDK insists on one
        self._client = AsyncOpenAI(api_key=secret(settings.openai_api_key) or "not-needed",
                                   base_url=settings.openai_base_url, max_retries=0, timeout=limits.timeout_s + 1)

    async def write(self, request: WriterRequest) -> BaseModel:
        return await ask_validated(self.name, request, lambda history: self._complete(request, history))

    async def _complete(self, request: WriterRequest, history: list[Exchange]) -> str | None:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system},
                                          {"role": "user", "content": request.prompt}]
        for turn in history:
            messages.append({"role": "assistant", "content": turn.answer or "(empty)"})
            messages.append({"role": "user", "content": REASK.format(error=turn.error)})
        response_format = {"type": "json_schema", "json_schema": {
            "name": request.response_model.__name__, "schema": schema_of(request.response_model)}}
        try:
            response = await self._client.chat.completions.create(
                model=self.model, messages=cast(Any, messages), response_format=cast(Any, response_format),
                temperature=request.temperature)
        except Exception as exc:
            raise OpenAIImages._translate(self, exc) from exc  # type: ignore[arg-type]
        if not response.choices:
            raise ProviderError(self.name, "the answer had no choices", reason="empty")
        choice = response.choices[0]
        if getattr(choice.message, "refusal", None):
            raise safety_error(self.name, "refusal", choice.message.refusal or "")
        if choice.finish_reason == "content_filter":
            raise safety_error(self.name, "content_filter")
        if (problem := finish_problem(self.name, choice.finish_reason or "")) is not None:
            raise problem
        return choice.message.content

    async def aclose(self) -> None:
        await self._client.close()


def create(settings: Settings, limits: Limits) -> OpenAIChatWriter:
    return OpenAIChatWriter(settings, limits)
