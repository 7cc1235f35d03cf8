"""The Writer capability: an LLM that answers with JSON validated against a pydantic model (the
same model gives the JSON Schema the service is held to). Shared by the story pipeline (scripts)
and anything else that needs structured text.

A malformed answer — not JSON, JSON that does not fit the model, or an answer the caller's own
`check` refuses (a wrong number of segments) — is asked again *once*, with the validation error
in the conversation; a second malformed answer is a `ProviderError` with reason "malformed" (not
retried by the runtime: both calls were billed and a third would likely fail the same way)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from reelforge.errors import ProviderError
from reelforge.providers.errors import malformed_error

REASK = ("Your previous answer could not be used: {error}\n"
         "Answer again with one JSON object that fits the schema exactly, and nothing else.")


@dataclass(frozen=True)
class WriterRequest:
    """A system instruction, the user's prompt and the pydantic model the answer must fit.
    `check(answer)` may raise ValueError for what the schema cannot say (e.g. "7 segments"); the
    message goes back to the model in the re-ask. `hints` carries structured inputs that a
    model ignores and the offline draft writer uses (idea, format, segment count, …)."""

    system: str
    prompt: str
    response_model: type[BaseModel]
    check: Callable[[Any], None] | None = None
    hints: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.7


@runtime_checkable
class Writer(Protocol):
    name: str
    model: str

    async def write(self, request: WriterRequest) -> BaseModel: ...


@dataclass
class Exchange:
    """One turn of the conversation the adapter keeps for a re-ask."""

    answer: str
    error: str


def parse(provider: str, text: str | None, request: WriterRequest) -> BaseModel:
    """The model's text as a validated (and checked) answer; ValueError with the reason otherwise."""
    if not text or not text.strip():
        raise ValueError("the answer was empty")
    body = text.strip()
    if body.startswith("```"):  # some OpenAI-compatible servers fence JSON even when asked not to
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from None
    try:
        answer = request.response_model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:8])
        raise ValueError(f"the answer does not fit {request.response_model.__name__}: {problems}") from None
    if request.check is not None:
        request.check(answer)
    return answer


async def ask_validated(provider: str, request: WriterRequest,
                        complete: Callable[[list[Exchange]], Awaitable[str | None]]) -> BaseModel:
    """Call `complete(history)` (history: earlier answers and why they were refused); re-ask once."""
    history: list[Exchange] = []
    for _ in range(2):
        text = await complete(history)
        try:
            return parse(provider, text, request)
        except ValueError as exc:
            history.append(Exchange(text or "", str(exc)))
    raise malformed_error(provider, f"asked twice, the answer still did not validate: {history[-1].error}")


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The plain JSON Schema of the answer model (Gemini's responseJsonSchema, OpenAI's json_schema)."""
    return model.model_json_schema()


def finish_problem(provider: str, reason: str) -> ProviderError | None:
    """A stop reason that no re-ask can fix (cut off): the caller raises it."""
    if reason in ("MAX_TOKENS", "length"):
        return ProviderError(provider, f"the answer was cut off ({reason})", reason="malformed",
                             hint="ask for fewer segments, or raise the model's output limit")
    return None
