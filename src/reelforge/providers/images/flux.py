"""`flux`: FLUX text-to-image on Hugging Face Inference through huggingface_hub's
AsyncInferenceClient. The API answers with the image bytes themselves."""

from __future__ import annotations

import io
from typing import Any

from reelforge.errors import ProviderError
from reelforge.providers.errors import (
    is_transport_error,
    malformed_error,
    retry_after_from,
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
    size_for_aspect,
)
from reelforge.providers.limits import Limits
from reelforge.settings import Settings, secret

KEY_ENV = "HF_TOKEN"


def flux_configured(settings: Settings) -> str | None:
    return None if secret(settings.hf_token) else f"{KEY_ENV} is not set"


class FluxImages:
    name = "flux"
    capabilities = ImageCapabilities(max_references=0, max_count=1, seed=True, negative_prompt=True)
    cpu_bound = False

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)  # width/height are rounded to multiples of 16: within 3 %

    def __init__(self, settings: Settings, limits: Limits) -> None:
        from huggingface_hub import AsyncInferenceClient

        self.model = settings.flux_model
        # A base URL means a router or endpoint of the hf-inference wire format: the client posts
        # to <base>/models/<model id> as it does to the Hugging Face router.
        target = f"{settings.flux_base_url.rstrip('/')}/models/{self.model}" if settings.flux_base_url else self.model
        self._client = AsyncInferenceClient(model=target, provider="hf-inference", token=secret(settings.hf_token),
                                            timeout=limits.timeout_s + 1)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        check_request(self.name, self.capabilities, request)
        width, height = size_for_aspect(request.aspect_ratio, multiple=16)
        images = []
        for i in range(request.count):
            seed = None if request.seed is None else request.seed + i
            try:
                image = await self._client.text_to_image(prompt_text(request), width=width, height=height, seed=seed,
                                                         negative_prompt=request.negative_prompt)
            except Exception as exc:
                raise self._translate(exc) from exc
            images.append(GeneratedImage(_png(image), "image/png", {
                "aspect_ratio": request.aspect_ratio, "size": [width, height], "model": self.model}))
        return images

    def _translate(self, exc: Exception) -> ProviderError:
        from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

        if isinstance(exc, HfHubHTTPError) and exc.response is not None:
            response = exc.response
            return status_error(self.name, response.status_code, _detail(response), key_env=KEY_ENV,
                                retry_after=retry_after_from(response.headers), model_env="REELFORGE_FLUX_MODEL")
        if isinstance(exc, InferenceTimeoutError) or is_transport_error(exc):
            return transport_error(self.name, exc)
        if _is_unreadable_image(exc):
            return malformed_error(self.name, f"the body is not an image ({exc})")
        raise exc


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:300]
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _is_unreadable_image(exc: Exception) -> bool:
    from PIL import UnidentifiedImageError

    return isinstance(exc, UnidentifiedImageError | OSError)


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def create(settings: Settings, limits: Limits) -> FluxImages:
    return FluxImages(settings, limits)
