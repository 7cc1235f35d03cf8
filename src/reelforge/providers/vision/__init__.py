"""Vision providers by name: `VISION.create("gemini", settings)` (capability "vision").

`local` finds products without any model of products: the salient subject of each frame (the
clean-plate difference a still camera gives, else the u2netp mask), grouped across frames by
colour and shape. It names what it sees ("red tall object"), nothing more."""

from __future__ import annotations

from reelforge.providers.limits import Limits
from reelforge.providers.openai_compat import openai_compatible_configured
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.providers.vision.base import Vision
from reelforge.settings import Settings


def _gemini_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.google import google_configured

    return google_configured(settings)


VISION: Registry[Vision] = Registry("vision")

for _entry in (
    ProviderEntry("local", "salient objects found on this machine (clean plate / u2netp mask, grouped by "
                           "colour and shape); no model of products, no network",
                  "reelforge.providers.vision.local:create", paid=False,
                  limits=Limits(max_concurrency=1, timeout_s=300, max_attempts=1)),
    ProviderEntry("gemini", "Gemini (generateContent with a JSON response schema): products, boxes, best frame",
                  "reelforge.providers.vision.gemini:create", sdk="google.genai", package="google-genai",
                  configured=_gemini_configured,
                  env=(("GEMINI_API_KEY", "Gemini API key (GOOGLE_API_KEY also works)"),
                       ("REELFORGE_GEMINI_VISION_MODEL", "model id (default gemini-2.5-flash)"),
                       ("REELFORGE_GEMINI_BASE_URL", "API base URL (proxy, gateway)")),
                  limits=Limits(max_concurrency=2, rpm=10, rpd=1500, timeout_s=120)),
    ProviderEntry("openai", "OpenAI-compatible chat completions with image inputs (OpenAI, or Ollama/vLLM/"
                            "LM Studio through REELFORGE_OPENAI_BASE_URL)",
                  "reelforge.providers.vision.openai_chat:create", sdk="openai", package="openai",
                  configured=openai_compatible_configured,
                  env=(("OPENAI_API_KEY", "API key (not needed for a server on 127.0.0.1/localhost)"),
                       ("REELFORGE_OPENAI_VISION_MODEL", "model id (default gpt-4o-mini; e.g. qwen2.5vl for Ollama)"),
                       ("REELFORGE_OPENAI_BASE_URL", "base URL incl. /v1, e.g. http://127.0.0.1:11434/v1")),
                  limits=Limits(max_concurrency=2, rpm=10, timeout_s=180)),
):
    VISION.register(_entry)

__all__ = ["VISION"]
