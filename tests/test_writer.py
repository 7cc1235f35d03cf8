"""Writer adapters through the real SDKs against strict fakes on 127.0.0.1: the request carries
the answer's JSON Schema, a malformed answer is asked again once with the validation error (and
then fails clearly), and the offline draft writer is deterministic and marked as a draft."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from reelforge.errors import ProviderError
from reelforge.pipelines.story.actions import script_request
from reelforge.providers.writer import WRITERS
from reelforge.settings import Settings
from reelforge.spec.story import StoryScript
from tests.fakes.story_apis import FakeGeminiStory, script_answer
from tests.fakes.vision_apis import TEST_KEY, FakeOpenAIChat

PARAMS = {"idea": "Floof finds a box", "character": "Floof", "description": "a round orange furball",
          "segments": 3, "format": "daily-character", "duration": 4, "durations": [4, 6, 8],
          "allow_dialogue": True, "creature_language": None, "style": ""}


def _write(provider: str, **settings: Any) -> Any:
    writer = WRITERS.create(provider, Settings(_env_file=None, **settings))  # type: ignore[call-arg]
    return asyncio.run(writer.write(script_request(PARAMS)))


def test_gemini_writer_sends_the_schema_and_a_system_instruction() -> None:
    with FakeGeminiStory() as fake:
        fake.answer = script_answer(3)
        script = _write("gemini", gemini_api_key=TEST_KEY, gemini_base_url=fake.url)
    assert isinstance(script, StoryScript) and len(script.segments) == 3
    body = fake.calls[0].body
    schema = body["generationConfig"]["responseJsonSchema"]
    assert set(schema["properties"]) >= {"title", "segments", "format", "characters"}
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "screenwriter" in body["systemInstruction"]["parts"][0]["text"]
    assert "daily-character" in fake.calls[0].prompt and "exactly 3 segments" in fake.calls[0].prompt


@pytest.mark.parametrize("first", ["badjson", "badschema", "short"])
def test_gemini_writer_asks_again_once_with_the_validation_error(first: str) -> None:
    with FakeGeminiStory() as fake:
        fake.answer = script_answer(3)
        fake.text_script = [first, "ok"]
        script = _write("gemini", gemini_api_key=TEST_KEY, gemini_base_url=fake.url)
    assert len(script.segments) == 3
    assert len(fake.calls) == 2
    turns = fake.calls[1].body["contents"]
    assert [t["role"] for t in turns] == ["user", "model", "user"]
    assert "could not be used" in turns[2]["parts"][0]["text"]
    if first == "short":
        assert "exactly 3 segments (got 2)" in turns[2]["parts"][0]["text"]


def test_gemini_writer_fails_clearly_after_two_malformed_answers() -> None:
    with FakeGeminiStory() as fake:
        fake.text_script = ["badjson", "badschema", "ok"]
        with pytest.raises(ProviderError) as err:
            _write("gemini", gemini_api_key=TEST_KEY, gemini_base_url=fake.url)
    assert err.value.reason == "malformed" and not err.value.retryable
    assert "asked twice" in str(err.value) and "title" in str(err.value)
    assert len(fake.calls) == 2


def test_openai_compatible_writer_through_a_base_url() -> None:
    with FakeOpenAIChat() as fake:
        fake.answer = script_answer(3)
        fake.script = ["badschema", "ok"]
        script = _write("openai", openai_api_key=TEST_KEY, openai_base_url=fake.url)
    assert len(script.segments) == 3 and len(fake.calls) == 2
    first, second = fake.calls
    assert first["response_format"]["type"] == "json_schema"
    assert "segments" in first["response_format"]["json_schema"]["schema"]["properties"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert "does not fit StoryScript" in second["messages"][3]["content"]


def test_openai_writer_to_a_local_server_needs_no_key() -> None:
    with FakeOpenAIChat(key="not-needed") as fake:
        fake.answer = script_answer(3)
        script = _write("openai", openai_base_url=fake.url)
    assert script.title == "Floof and the box"


def test_local_draft_writer_is_deterministic_and_marked() -> None:
    a, b = _write("local"), _write("local")
    assert a == b and a.draft and a.logline.startswith("[draft]")
    assert len(a.segments) == 3 and {s.duration for s in a.segments} == {4}
    assert all(s.dialogue for s in a.segments)  # PARAMS allow dialogue
    assert json.loads(a.model_dump_json())["format"] == "daily-character"
