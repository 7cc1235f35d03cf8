"""Image generators by name: `IMAGE_GENERATORS.create("gemini", settings)`."""

from __future__ import annotations

from reelforge.providers.images.base import ImageGenerator
from reelforge.providers.limits import Limits
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.settings import Settings


def _gemini_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.google import google_configured

    return google_configured(settings)


def _imagen_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.google import imagen_configured

    return imagen_configured(settings)


def _openai_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.openai_images import openai_configured

    return openai_configured(settings)


def _flux_configured(settings: Settings) -> str | None:
    from reelforge.providers.images.flux import flux_configured

    return flux_configured(settings)


def _sdwebui_answers(settings: Settings) -> str | None:
    from reelforge.providers.images.sdwebui import server_answers

    return server_answers(settings)


IMAGE_GENERATORS: Registry[ImageGenerator] = Registry("image")

_GOOGLE_ENV = (
    ("GEMINI_API_KEY", "Gemini API key (GOOGLE_API_KEY also works)"),
    ("GOOGLE_GENAI_USE_VERTEXAI", "true to use Vertex AI instead (with GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION "
                                  "and application-default credentials, or GOOGLE_API_KEY in express mode)"),
)

for _entry in (
    ProviderEntry("local", "draft cards rendered on this machine (no network, no key)",
                  "reelforge.providers.images.local:create", paid=False,
                  limits=Limits(max_concurrency=8, timeout_s=60, max_attempts=1)),
    ProviderEntry("gemini", "Gemini 2.5 Flash Image (Nano Banana): text and reference images → image",
                  "reelforge.providers.images.google:create_gemini", sdk="google.genai", package="google-genai",
                  configured=_gemini_configured,
                  env=(*_GOOGLE_ENV, ("REELFORGE_GEMINI_MODEL", "model id (default gemini-2.5-flash-image)"),
                       ("REELFORGE_GEMINI_BASE_URL", "API base URL (proxy, gateway)")),
                  limits=Limits(max_concurrency=4, rpm=10, rpd=1500)),
    ProviderEntry("imagen", "Imagen 4 on Vertex AI (express-mode API key or a project): text → up to 4 images",
                  "reelforge.providers.images.google:create_imagen", sdk="google.genai", package="google-genai",
                  configured=_imagen_configured,
                  env=(("GOOGLE_API_KEY", "Vertex AI express-mode API key"),
                       ("GOOGLE_CLOUD_PROJECT", "or a project (with GOOGLE_CLOUD_LOCATION and application-default "
                                                "credentials)"),
                       ("REELFORGE_IMAGEN_MODEL", "model id (default imagen-4.0-generate-001)"),
                       ("REELFORGE_IMAGEN_BASE_URL", "API base URL (proxy, gateway)")),
                  limits=Limits(max_concurrency=4, rpm=10)),
    ProviderEntry("openai", "OpenAI Images API (gpt-image-1, dall-e-3) or an OpenAI-compatible gateway",
                  "reelforge.providers.images.openai_images:create", sdk="openai", package="openai",
                  configured=_openai_configured,
                  env=(("OPENAI_API_KEY", "API key"),
                       ("REELFORGE_OPENAI_MODEL", "model id (default gpt-image-1)"),
                       ("REELFORGE_OPENAI_BASE_URL", "base URL incl. /v1, e.g. a gateway such as OpenRouter")),
                  limits=Limits(max_concurrency=4, rpm=5)),
    ProviderEntry("flux", "FLUX on Hugging Face Inference (huggingface_hub)",
                  "reelforge.providers.images.flux:create", sdk="huggingface_hub", package="huggingface_hub",
                  configured=_flux_configured,
                  env=(("HF_TOKEN", "Hugging Face access token"),
                       ("REELFORGE_FLUX_MODEL", "model id (default black-forest-labs/FLUX.1-schnell)"),
                       ("REELFORGE_FLUX_BASE_URL", "inference base URL; requests go to <base>/models/<model>")),
                  limits=Limits(max_concurrency=2)),
    ProviderEntry("sdwebui", "your AUTOMATIC1111 / Forge server (txt2img, img2img)",
                  "reelforge.providers.images.sdwebui:create", paid=False, reachable=_sdwebui_answers,
                  env=(("REELFORGE_SDWEBUI_BASE_URL", "server URL (default http://127.0.0.1:7860, started with --api)"),
                       ("REELFORGE_SDWEBUI_MODEL", "checkpoint to use (optional)"),
                       ("REELFORGE_SDWEBUI_AUTH", "user:password when the server uses --api-auth")),
                  limits=Limits(max_concurrency=1, timeout_s=300)),
):
    IMAGE_GENERATORS.register(_entry)

__all__ = ["IMAGE_GENERATORS"]
