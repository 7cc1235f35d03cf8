"""Gemini through Vertex AI with google-genai (`vertexai=True`) against the local fake: express
mode (an API key in `x-goog-api-key`) and project mode (an OAuth bearer token from injected
credentials, so nothing reaches Google's token endpoints). The paths asserted are what
google-genai 3.x sends: `/v1beta1/publishers/google/models/{m}:generateContent` (express) and
`/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent` (project)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.errors import ProviderError
from reelforge.providers.images import IMAGE_GENERATORS
from reelforge.providers.images.base import ImageRequest
from reelforge.providers.images.google import GeminiImages
from reelforge.providers.limits import Limits
from reelforge.settings import Settings

from .fakes.image_apis import TEST_KEY, FakeImageAPI

GOOGLE_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT",
               "GOOGLE_CLOUD_LOCATION", "REELFORGE_GEMINI_BASE_URL")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeImageAPI]:
    for name in GOOGLE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with FakeImageAPI("gemini") as api:
        yield api


def test_vertex_express_mode_sends_the_key_to_the_vertex_path(fake: FakeImageAPI,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
    monkeypatch.setenv("REELFORGE_GEMINI_BASE_URL", fake.url)
    settings = Settings()
    assert IMAGE_GENERATORS.check("gemini", settings).available
    generator = IMAGE_GENERATORS.create("gemini", settings, Limits(timeout_s=5))
    [image] = asyncio.run(generator.generate(ImageRequest("a red fox", "16:9")))
    assert image.media_type == "image/png"
    [call] = fake.calls
    assert call.status == 200
    assert call.path == "/v1beta1/publishers/google/models/gemini-2.5-flash-image:generateContent"
    assert call.headers["x-goog-api-key"] == TEST_KEY and "authorization" not in call.headers


def test_vertex_project_mode_sends_the_bearer_token_to_the_project_path(fake: FakeImageAPI) -> None:
    from google.oauth2.credentials import Credentials

    settings = Settings(google_genai_use_vertexai=True, google_cloud_project="my-proj",
                        google_cloud_location="europe-west4", gemini_base_url=fake.url)
    generator = GeminiImages(settings, Limits(timeout_s=5), credentials=Credentials(token=fake.oauth_token))
    asyncio.run(generator.generate(ImageRequest("a red fox", "1:1")))
    [call] = fake.calls
    assert call.status == 200
    assert call.path == ("/v1beta1/projects/my-proj/locations/europe-west4/publishers/google/models/"
                         "gemini-2.5-flash-image:generateContent")
    assert call.headers["authorization"] == f"Bearer {fake.oauth_token}" and "x-goog-api-key" not in call.headers

    expired = GeminiImages(settings, Limits(timeout_s=5), credentials=Credentials(token="revoked"))
    with pytest.raises(ProviderError) as caught:
        asyncio.run(expired.generate(ImageRequest("a red fox", "1:1")))
    assert caught.value.reason == "auth" and caught.value.status == 401 and fake.calls[-1].status == 401


def test_vertex_without_a_project_or_key_is_unavailable(fake: FakeImageAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "1")
    availability = IMAGE_GENERATORS.check("gemini", Settings())
    assert not availability.available and "GOOGLE_CLOUD_PROJECT" in str(availability.reason)
    assert fake.calls == []
