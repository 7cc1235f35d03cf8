"""Opt-in live checks: one tiny real call per cloud image provider, against the real API.

Skipped unless `REELFORGE_LIVE=1` and the provider's key is set (environment or `.env`); each
call costs real money (a few cents at most). Run with
`REELFORGE_LIVE=1 pytest -m live tests/test_live_providers.py`. They are written against the
documented APIs but have not been run from this repository's CI (no keys there)."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from PIL import Image

from reelforge.providers.images import IMAGE_GENERATORS
from reelforge.providers.images.base import ImageRequest, sniff_media_type
from reelforge.settings import Settings

pytestmark = pytest.mark.live

# provider → what must be configured for it
LIVE = {
    "gemini": "GEMINI_API_KEY or GOOGLE_API_KEY (or Vertex AI settings)",
    "imagen": "GOOGLE_API_KEY (Vertex AI express mode) or GOOGLE_CLOUD_PROJECT",
    "openai": "OPENAI_API_KEY",
    "flux": "HF_TOKEN",
}


@pytest.mark.parametrize("provider", sorted(LIVE))
def test_one_tiny_real_call(provider: str) -> None:
    if os.environ.get("REELFORGE_LIVE") != "1":
        pytest.skip("live provider calls are opt-in: set REELFORGE_LIVE=1")
    settings = Settings()
    availability = IMAGE_GENERATORS.check(provider, settings)
    if not availability.available:
        pytest.skip(f"{provider}: {availability.reason} (needs {LIVE[provider]})")
    generator = IMAGE_GENERATORS.create(provider, settings)
    images = asyncio.run(generator.generate(ImageRequest("a single red apple on a white table", "1:1")))
    assert len(images) == 1
    data = images[0].data
    assert sniff_media_type(data) in ("image/png", "image/jpeg", "image/webp")
    with Image.open(io.BytesIO(data)) as image:
        assert min(image.size) >= 256
