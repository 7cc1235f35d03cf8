"""Vision adapters against strict local fakes (127.0.0.1): structured answers validated by the
pydantic model, malformed answers failing without a retry, 429s and safety blocks classified."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image

from reelforge.errors import ProviderError
from reelforge.providers.vision import VISION
from reelforge.providers.vision.base import ProductsAnswer, products_request
from reelforge.settings import Settings
from tests.fakes.vision_apis import TEST_KEY, FakeGeminiVision, FakeOpenAIChat


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


IMAGES = [_jpeg((200, 40, 40)), _jpeg((40, 40, 200))]


def _gemini(fake: FakeGeminiVision) -> Any:
    settings = Settings(gemini_api_key=TEST_KEY, gemini_base_url=fake.url, _env_file=None)  # type: ignore[call-arg]
    return VISION.create("gemini", settings)


def _openai(fake: FakeOpenAIChat) -> Any:
    settings = Settings(openai_api_key=TEST_KEY, openai_base_url=fake.url, _env_file=None)  # type: ignore[call-arg]
    return VISION.create("openai", settings)


def _ask(adapter: Any) -> Any:
    return asyncio.run(adapter.ask(products_request(IMAGES)))


def test_gemini_answer_is_validated_and_images_are_batched() -> None:
    with FakeGeminiVision() as fake:
        answer = _ask(_gemini(fake))
        assert isinstance(answer, ProductsAnswer)
        assert answer.products[0].boxes[0].box_2d == [100, 200, 800, 500]
        assert fake.images_sent() == 2  # both frames in one call
        config = fake.calls[-1].body["generationConfig"]
        assert config["responseJsonSchema"]["properties"]["products"]


@pytest.mark.parametrize(("mode", "reason"), [("badjson", "malformed"), ("badschema", "malformed"),
                                              ("badindex", "malformed"), ("truncated", "malformed"),
                                              ("safety", "blocked"), ("blocked", "blocked"),
                                              ("429", "rate_limited"), ("500", "server")])
def test_gemini_failures(mode: str, reason: str) -> None:
    with FakeGeminiVision(retry_after="1") as fake:
        fake.script = [mode]
        with pytest.raises(ProviderError) as info:
            _ask(_gemini(fake))
        assert info.value.reason == reason
        assert info.value.retryable == (reason in ("rate_limited", "server"))


def test_gemini_wrong_key_is_auth() -> None:
    with FakeGeminiVision(key="other") as fake:
        with pytest.raises(ProviderError) as info:
            _ask(_gemini(fake))
        assert info.value.reason == "auth"


def test_openai_compatible_chat_with_image_parts() -> None:
    with FakeOpenAIChat() as fake:
        answer = _ask(_openai(fake))
        assert isinstance(answer, ProductsAnswer) and answer.products[0].name == "bottle 0"
        assert fake.images_sent() == 2
        assert fake.calls[-1]["response_format"]["json_schema"]["schema"]["type"] == "object"


@pytest.mark.parametrize(("mode", "reason"), [("badjson", "malformed"), ("badschema", "malformed"),
                                              ("truncated", "malformed"), ("safety", "blocked"),
                                              ("429", "rate_limited"), ("500", "server")])
def test_openai_failures(mode: str, reason: str) -> None:
    with FakeOpenAIChat() as fake:
        fake.script = [mode]
        with pytest.raises(ProviderError) as info:
            _ask(_openai(fake))
        assert info.value.reason == reason


def test_local_needs_no_key_and_refuses_other_questions() -> None:
    from pydantic import BaseModel

    from reelforge.providers.vision.base import VisionRequest

    adapter = VISION.create("local", Settings(_env_file=None))  # type: ignore[call-arg]

    class Caption(BaseModel):
        text: str

    with pytest.raises(ProviderError) as info:
        asyncio.run(adapter.ask(VisionRequest(tuple(IMAGES), "describe", Caption)))
    assert info.value.reason == "bad_request"


def test_unconfigured_gemini_says_which_key() -> None:
    status = VISION.check("gemini", Settings(_env_file=None))  # type: ignore[call-arg]
    assert not status.available and "GEMINI_API_KEY" in (status.reason or "")
