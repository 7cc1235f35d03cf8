"""Writers by name: `WRITERS.create("gemini", settings)` (capability "writer").

`local` writes a clearly marked draft from templates (no model, no network, $0), so the whole
story pipeline runs offline; `gemini` and `openai` (any OpenAI-compatible server) write real
scripts held to the answer's JSON Schema."""

from __future__ import annotations

from reelforge.providers.limits import Limits
from reelforge.providers.openai_compat import openai_compatible_configured
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.providers.writer.base import Writer
from reelforge.settings import Settings


def _gemini_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.google import google_configured

    return google_configured(settings)


WRITERS: Registry[Writer] = Registry("writer")

for _entry in (
    ProviderEntry("local", "a draft from templates on this machine (marked draft; no model, no network)",
                  "reelforge.providers.writer.local:create", paid=False,
                  limits=Limits(max_concurrency=4, timeout_s=30, max_attempts=1)),
    ProviderEntry("gemini", "Gemini (generateContent with a JSON response schema)",
                  "reelforge.providers.writer.gemini:create", sdk="google.genai", package="google-genai",
                  configured=_gemini_configured,
                  env=(("GEMINI_API_KEY", "Gemini API key (GOOGLE_API_KEY also works)"),
                       ("REELFORGE_GEMINI_WRITER_MODEL", "model id (default gemini-2.5-flash)"),
                       ("REELFORGE_GEMINI_BASE_URL", "API base URL (proxy, gateway)")),
                  limits=Limits(max_concurrency=2, rpm=10, rpd=1500, timeout_s=120)),
    ProviderEntry("openai", "OpenAI-compatible chat completions with a json_schema response format (OpenAI, or "
                            "Ollama/vLLM/LM Studio through REELFORGE_OPENAI_BASE_URL)",
                  "reelforge.providers.writer.openai_chat:create", sdk="openai", package="openai",
                  configured=openai_compatible_configured,
                  env=(("OPENAI_API_KEY", "API key (not needed for a server on 127.0.0.1/localhost)"),
                       ("REELFORGE_OPENAI_WRITER_MODEL", "model id (default gpt-4o-mini; e.g. qwen2.5 for Ollama)"),
                       ("REELFORGE_OPENAI_BASE_URL", "base URL incl. /v1, e.g. http://127.0.0.1:11434/v1")),
                  limits=Limits(max_concurrency=2, rpm=10, timeout_s=180)),
):
    WRITERS.register(_entry)

__all__ = ["WRITERS"]
