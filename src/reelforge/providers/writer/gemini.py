"""Gemini as a writer: generateContent with a system instruction, `responseMimeType:
application/json` and `responseJsonSchema` from the answer's pydantic model (google-genai SDK).
A re-ask continues the conversation: the refused answer as the model's turn, the validation
error as the user's."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reelforge.errors import ProviderError
from reelforge.providers.errors import safety_error
from reelforge.providers.images.google import SAFETY_REASONS, _name, make_client, translate
from reelforge.providers.limits import Limits
from reelforge.providers.writer.base import (
    REASK,
    Exchange,
    WriterRequest,
    ask_validated,
    finish_problem,
    schema_of,
)
from reelforge.settings import Settings


class GeminiWriter:
    name = "gemini"

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self.model = settings.gemini_writer_model
        self._client = make_client(settings, settings.gemini_base_url, limits, vertex=settings.google_genai_use_vertexai)

    async def write(self, request: WriterRequest) -> BaseModel:
        return await ask_validated(self.name, request, lambda history: self._complete(request, history))

    async def _complete(self, request: WriterRequest, history: list[Exchange]) -> str:
        from google.genai import types

        contents: list[Any] = [types.Content(role="user", parts=[types.Part.from_text(text=request.prompt)])]
        for turn in history:
            contents.append(types.Content(role="model", parts=[types.Part.from_text(text=turn.answer or "(empty)")]))
            contents.append(types.Content(role="user", parts=[types.Part.from_text(text=REASK.format(error=turn.error))]))
        config = types.GenerateContentConfig(system_instruction=request.system, response_mime_type="application/json",
                                             response_json_schema=schema_of(request.response_model),
                                             temperature=request.temperature)
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=contents, config=config)
        except Exception as exc:
            raise translate(self.name, exc, "REELFORGE_GEMINI_WRITER_MODEL") from exc
        return self._text(response)

    def _text(self, response: Any) -> str:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason:
            raise safety_error(self.name, _name(feedback.block_reason), feedback.block_reason_message or "")
        if not response.candidates:
            raise ProviderError(self.name, "the answer had no candidates", reason="empty")
        candidate = response.candidates[0]
        reason = _name(candidate.finish_reason) if candidate.finish_reason else ""
        if reason in SAFETY_REASONS:
            raise safety_error(self.name, reason)
        if (problem := finish_problem(self.name, reason)) is not None:
            raise problem
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        return "".join(p.text for p in parts if getattr(p, "text", None))


def create(settings: Settings, limits: Limits) -> GeminiWriter:
    return GeminiWriter(settings, limits)
