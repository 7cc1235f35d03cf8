"""What every OpenAI-compatible chat adapter (vision, writer) shares: when it is usable."""

from __future__ import annotations

from reelforge.settings import Settings


def openai_compatible_configured(settings: Settings) -> str | None:
    """None when usable: a key is set, or the base URL is a server on this machine (Ollama,
    vLLM, LM Studio need none); else why not."""
    local = settings.openai_base_url.startswith(("http://127.0.0.1", "http://localhost"))
    if settings.openai_api_key is None and not local:
        return "OPENAI_API_KEY is not set"
    return None
