"""`gemini` (Gemini 2.5 Flash Image, "Nano Banana", generateContent) and `imagen` (Imagen,
generateImages / :predict) through the official google-genai SDK — Gemini API key or Vertex AI."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

from reelforge.errors import ProviderError
from reelforge.providers.errors import (
    is_transport_error,
    malformed_error,
    no_image_error,
    quota_error,
    retry_after_from,
    safety_error,
    status_error,
    transport_error,
)
from reelforge.providers.images.base import (
    GeneratedImage,
    ImageCapabilities,
    ImageRequest,
    check_request,
    exact_aspect,
    prompt_text,
    sniff_media_type,
)
from reelforge.providers.limits import Limits
from reelforge.settings import Settings, secret

KEY_ENV = "GEMINI_API_KEY"
IMAGEN_KEY_ENV = "GOOGLE_API_KEY"
GEMINI_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGEN_ASPECTS = ("1:1", "3:4", "4:3", "9:16", "16:9")
# finishReason values that mean a safety/policy stop rather than a technical one
SAFETY_REASONS = frozenset({"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT",
                            "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION"})


def gemini_key(settings: Settings) -> str | None:
    """The Gemini API key: GEMINI_API_KEY, else GOOGLE_API_KEY."""
    return secret(settings.gemini_api_key) or secret(settings.google_api_key)


def vertex_key(settings: Settings) -> str | None:
    """The Vertex AI express-mode key: GOOGLE_API_KEY, else GEMINI_API_KEY."""
    return secret(settings.google_api_key) or secret(settings.gemini_api_key)


def google_configured(settings: Settings) -> str | None:
    if settings.google_genai_use_vertexai:
        if settings.google_cloud_project or vertex_key(settings):
            return None
        return "GOOGLE_CLOUD_PROJECT or GOOGLE_API_KEY (express mode) is not set (Vertex AI)"
    return None if gemini_key(settings) else "GEMINI_API_KEY is not set"


def imagen_configured(settings: Settings) -> str | None:
    if settings.google_cloud_project or vertex_key(settings):
        return None
    return "GOOGLE_API_KEY (Vertex AI express mode) or GOOGLE_CLOUD_PROJECT is not set"


def make_client(settings: Settings, base_url: str | None, limits: Limits, *, vertex: bool,
                credentials: Any = None) -> Any:
    """A genai.Client without SDK retries (the runtime retries) and with the call timeout. Every
    value is passed explicitly from `settings`, so the SDK's own reading of the environment
    (GOOGLE_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT, …) decides nothing.
    Vertex AI: with a project (application-default credentials, or `credentials`), else
    express mode with an API key."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=base_url, timeout=int(limits.timeout_s * 1000) + 1000)
    if not vertex:
        return genai.Client(vertexai=False, api_key=gemini_key(settings), http_options=options)
    if settings.google_cloud_project:
        return genai.Client(vertexai=True, project=settings.google_cloud_project, credentials=credentials,
                            location=settings.google_cloud_location or "us-central1", http_options=options)
    return genai.Client(vertexai=True, api_key=vertex_key(settings), http_options=options)


def translate(provider: str, exc: Exception, model_env: str, key_env: str = KEY_ENV) -> ProviderError:
    """google-genai's exceptions → ProviderError with its reason and the user's next step."""
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        response = getattr(exc, "response", None)
        details = _error_details(exc.details)
        message = str(exc.message or exc.status or "")
        code = int(exc.code or 0)
        if code == 429 and (daily := _daily_quota(details)):
            return quota_error(provider, f"{message} (daily quota {daily})")
        wait = retry_after_from(getattr(response, "headers", None)) or _retry_delay(details)
        if code == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in details):  # how Google rejects a key
            code = 401
        return status_error(provider, code, message, key_env=key_env, retry_after=wait, model_env=model_env)
    if isinstance(exc, errors.UnknownApiResponseError | json.JSONDecodeError):
        return malformed_error(provider, str(exc))
    if is_transport_error(exc):
        return transport_error(provider, exc)
    raise exc


def _error_details(body: Any) -> list[dict[str, Any]]:
    """`error.details[]` of a google.rpc.Status error body (RetryInfo, QuotaFailure, ErrorInfo, …)."""
    error = body.get("error", body) if isinstance(body, dict) else {}
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _retry_delay(details: list[dict[str, Any]]) -> float | None:
    """google.rpc.RetryInfo.retryDelay ("23s", a protobuf Duration) — Gemini's 429s carry the
    wait there, in the body, not in a Retry-After header."""
    for item in details:
        if not str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = item.get("retryDelay")
        if isinstance(delay, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", delay.strip())):
            return float(match.group(1))
    return None


def _daily_quota(details: list[dict[str, Any]]) -> str | None:
    """The quotaId of a google.rpc.QuotaFailure violation that is a per-day quota
    (e.g. GenerateRequestsPerDayPerProjectPerModel-FreeTier): waiting seconds will not help,
    although the same body also carries a RetryInfo."""
    for item in details:
        if not str(item.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            continue
        for violation in item.get("violations") or []:
            quota_id = str(violation.get("quotaId", "")) if isinstance(violation, dict) else ""
            if "PerDay" in quota_id:
                return quota_id
    return None


class GeminiImages:
    """generateContent with IMAGE output; the aspect ratio goes in imageConfig, references as
    inline image parts before the prompt."""

    name = "gemini"
    capabilities = ImageCapabilities(max_references=3, max_count=1, seed=True, aspect_ratios=GEMINI_ASPECTS)
    cpu_bound = False

    def __init__(self, settings: Settings, limits: Limits, *, credentials: Any = None) -> None:
        self.model = settings.gemini_model
        self._client = make_client(settings, settings.gemini_base_url, limits,
                                   vertex=settings.google_genai_use_vertexai, credentials=credentials)

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        check_request(self.name, self.capabilities, request)
        images: list[GeneratedImage] = []
        for _ in range(request.count):  # one image per generateContent call
            images.extend(await self._one(request))
        return images

    async def _one(self, request: ImageRequest) -> list[GeneratedImage]:
        from google.genai import types

        parts: list[Any] = [types.Part.from_bytes(data=ref, mime_type=sniff_media_type(ref) or "image/png")
                            for ref in request.references]
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"], seed=request.seed,
            image_config=types.ImageConfig(aspect_ratio=request.aspect_ratio))
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=[*parts, prompt_text(request)], config=config)
        except Exception as exc:
            raise translate(self.name, exc, "REELFORGE_GEMINI_MODEL") from exc
        return self._images(response, request)

    def _images(self, response: Any, request: ImageRequest) -> list[GeneratedImage]:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason:
            raise safety_error(self.name, _name(feedback.block_reason), feedback.block_reason_message or "prompt blocked")
        if not response.candidates:
            raise no_image_error(self.name, "no candidates")
        candidate = response.candidates[0]
        reason = _name(candidate.finish_reason) if candidate.finish_reason else ""
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        text = " ".join(p.text for p in parts if getattr(p, "text", None))
        images = [GeneratedImage(p.inline_data.data, p.inline_data.mime_type or "image/png",
                                 {"aspect_ratio": request.aspect_ratio, "model": self.model, "text": text})
                  for p in parts if getattr(p, "inline_data", None) and p.inline_data.data]
        if reason in SAFETY_REASONS and not images:
            raise safety_error(self.name, reason, text)
        if not images:
            raise no_image_error(self.name, f"finish reason {reason or 'unknown'}" + (f"; model said: {text}" if text else ""))
        return images


class ImagenImages:
    """generate_images (Imagen :predict on Vertex AI — google-genai offers it only there):
    several images per call, aspect ratio, negative prompt and seed as API parameters."""

    name = "imagen"
    capabilities = ImageCapabilities(max_references=0, max_count=4, seed=True, negative_prompt=True,
                                     aspect_ratios=IMAGEN_ASPECTS)
    cpu_bound = False

    def __init__(self, settings: Settings, limits: Limits, *, credentials: Any = None) -> None:
        self.model = settings.imagen_model
        self._client = make_client(settings, settings.imagen_base_url, limits, vertex=True, credentials=credentials)

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        from google.genai import types

        check_request(self.name, self.capabilities, request)
        config = types.GenerateImagesConfig(
            number_of_images=request.count, aspect_ratio=request.aspect_ratio, seed=request.seed,
            negative_prompt=request.negative_prompt, include_rai_reason=True,
            add_watermark=False if request.seed is not None else None)  # Vertex needs it off for seeds
        try:
            with warnings.catch_warnings():
                # google-genai marks generate_images deprecated (not before 2027); it is still the
                # documented Imagen call, and the warning would reach every user's terminal.
                warnings.filterwarnings("ignore", message="The generate_images method is deprecated")
                call = self._client.aio.models.generate_images(model=self.model, prompt=prompt_text(request), config=config)
            response = await call
        except Exception as exc:
            raise translate(self.name, exc, "REELFORGE_IMAGEN_MODEL", IMAGEN_KEY_ENV) from exc
        return self._images(response, request)

    def _images(self, response: Any, request: ImageRequest) -> list[GeneratedImage]:
        generated = response.generated_images or []
        images = [GeneratedImage(g.image.image_bytes, g.image.mime_type or "image/png",
                                 {"aspect_ratio": request.aspect_ratio, "model": self.model})
                  for g in generated if g.image is not None and g.image.image_bytes]
        if images:
            return images
        reasons = [g.rai_filtered_reason for g in generated if g.rai_filtered_reason]
        if reasons:
            raise safety_error(self.name, "raiFilteredReason", reasons[0])
        raise no_image_error(self.name, "no predictions")


def create_gemini(settings: Settings, limits: Limits) -> GeminiImages:
    return GeminiImages(settings, limits)


def create_imagen(settings: Settings, limits: Limits) -> ImagenImages:
    return ImagenImages(settings, limits)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")
