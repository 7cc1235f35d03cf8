"""`openai`: the Images API (gpt-image-1, dall-e-3, dall-e-2) through the official openai SDK —
generations for text, edits for reference images. The base URL also serves OpenAI-compatible
gateways."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from reelforge.errors import ProviderError
from reelforge.providers.errors import (
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
    parse_aspect,
    prompt_text,
    sniff_media_type,
)
from reelforge.providers.limits import Limits
from reelforge.settings import Settings, secret

KEY_ENV = "OPENAI_API_KEY"
SAFETY_CODES = frozenset({"content_policy_violation", "moderation_blocked"})
# sizes per model family: (square, landscape, portrait)
SIZES = {"dall-e-3": ("1024x1024", "1792x1024", "1024x1792"), "dall-e-2": ("1024x1024",) * 3}
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")


def openai_configured(settings: Settings) -> str | None:
    return None if secret(settings.openai_api_key) else f"{KEY_ENV} is not set"


def size_for(model: str, aspect: str) -> str:
    """The model's size closest to the requested orientation (the API takes fixed sizes)."""
    square, landscape, portrait = SIZES.get(model, GPT_IMAGE_SIZES)
    w, h = parse_aspect(aspect)
    ratio = w / h
    return square if 0.8 <= ratio <= 1.25 else landscape if ratio > 1 else portrait


class OpenAIImages:
    name = "openai"
    capabilities = ImageCapabilities(max_references=16, max_count=10)
    cpu_bound = False

    def delivered_aspect(self, aspect: str) -> float:
        """Width / height of what the API returns for `aspect` (it only makes fixed sizes)."""
        w, h = (int(v) for v in size_for(self.model, aspect).split("x"))
        return w / h

    def __init__(self, settings: Settings, limits: Limits) -> None:
        from openai import AsyncOpenAI

        self.model = settings.openai_model
        # max_retries=0: retries, pacing and breakers belong to the runtime
        self._client = AsyncOpenAI(api_key=secret(settings.openai_api_key), base_url=settings.openai_base_url,
                                   max_retries=0, timeout=limits.timeout_s + 1)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        check_request(self.name, self.capabilities, request)
        size = size_for(self.model, request.aspect_ratio)
        # dall-e models answer with URLs unless asked for base64; gpt-image models always send base64
        extra: dict[str, Any] = {"response_format": "b64_json"} if self.model.startswith("dall-e") else {}
        try:
            if request.references:
                files = [(f"ref{i}.png", ref, sniff_media_type(ref) or "image/png") for i, ref in enumerate(request.references)]
                response = await self._client.images.edit(model=self.model, prompt=prompt_text(request), image=files,
                                                          n=request.count, size=size, **extra)
            else:
                response = await self._client.images.generate(model=self.model, prompt=prompt_text(request),
                                                              n=request.count, size=size, **extra)
        except Exception as exc:
            raise self._translate(exc) from exc
        return self._images(response, request, size)

    def _images(self, response: Any, request: ImageRequest, size: str) -> list[GeneratedImage]:
        images = []
        for item in response.data or []:
            if not item.b64_json:
                continue
            try:
                data = base64.b64decode(item.b64_json, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise malformed_error(self.name, f"b64_json is not base64 ({exc})") from None
            images.append(GeneratedImage(data, sniff_media_type(data) or "image/png",
                                         {"aspect_ratio": request.aspect_ratio, "size": size, "model": self.model,
                                          "revised_prompt": item.revised_prompt}))
        if not images:
            raise no_image_error(self.name, "no b64_json in data")
        return images

    def _translate(self, exc: Exception) -> ProviderError:
        import openai

        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error") if isinstance(body.get("error"), dict) else body  # the SDK unwraps "error"
            code = str(error.get("code") or "")
            message = str(error.get("message") or exc.message)
            if code in SAFETY_CODES:
                return safety_error(self.name, code, message)
            if "insufficient_quota" in (code, str(error.get("type") or "")):  # a 429 that waiting won't fix
                return quota_error(self.name, message, status=exc.status_code)
            return status_error(self.name, exc.status_code, message, key_env=KEY_ENV,
                                retry_after=retry_after_from(exc.response.headers), model_env="REELFORGE_OPENAI_MODEL")
        if isinstance(exc, openai.APIConnectionError):  # also APITimeoutError
            return transport_error(self.name, exc)
        if isinstance(exc, openai.APIResponseValidationError | ValueError):
            return malformed_error(self.name, str(exc))
        raise exc


def create(settings: Settings, limits: Limits) -> OpenAIImages:
    return OpenAIImages(settings, limits)
