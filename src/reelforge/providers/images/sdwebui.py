"""`sdwebui`: a user's AUTOMATIC1111 / Forge server through its REST API (`--api`):
POST /sdapi/v1/txt2img for text, /sdapi/v1/img2img with the first reference as init image."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from reelforge.providers.errors import (
    malformed_error,
    no_image_error,
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
    sniff_media_type,
)
from reelforge.providers.limits import Limits
from reelforge.settings import Settings, secret

DEFAULT_URL = "http://127.0.0.1:7860"


def server_answers(settings: Settings, timeout_s: float = 2.0) -> str | None:
    """None when an HTTP server answers at the configured URL, else why not (for `reelforge providers`)."""
    base = (settings.sdwebui_base_url or DEFAULT_URL).rstrip("/")
    try:
        httpx.get(f"{base}/internal/ping", timeout=timeout_s)
    except httpx.HTTPError as exc:
        return (f"no server answers at {base} ({type(exc).__name__}); start AUTOMATIC1111/Forge with --api "
                f"or set REELFORGE_SDWEBUI_BASE_URL")
    return None


class SDWebUIImages:
    name = "sdwebui"
    capabilities = ImageCapabilities(max_references=1, max_count=8, seed=True, negative_prompt=True)
    cpu_bound = False

    def delivered_aspect(self, aspect: str) -> float:
        return exact_aspect(aspect)  # width/height are rounded to multiples of 64

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self.base_url = (settings.sdwebui_base_url or DEFAULT_URL).rstrip("/")
        self.model = settings.sdwebui_model or "server-default"
        self._checkpoint = settings.sdwebui_model
        user, _, password = (secret(settings.sdwebui_auth) or "").partition(":")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=limits.timeout_s + 1,
                                         auth=(user, password) if user else None)

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        check_request(self.name, self.capabilities, request)
        width, height = size_for_aspect(request.aspect_ratio, pixels=768 * 768, multiple=64)
        payload: dict[str, Any] = {
            "prompt": prompt_text(request), "negative_prompt": request.negative_prompt or "",
            "seed": -1 if request.seed is None else request.seed, "batch_size": request.count, "n_iter": 1,
            "width": width, "height": height, "steps": 25,
        }
        if self._checkpoint:
            payload["override_settings"] = {"sd_model_checkpoint": self._checkpoint}
        path = "/sdapi/v1/txt2img"
        if request.references:
            path = "/sdapi/v1/img2img"
            payload |= {"init_images": [base64.b64encode(request.references[0]).decode()], "denoising_strength": 0.6}
        body = await self._post(path, payload)
        return self._images(body, request, (width, height))

    async def _post(self, path: str, payload: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(path, json=payload)
        except httpx.TransportError as exc:
            raise transport_error(self.name, exc) from exc
        if response.status_code != 200:
            raise status_error(self.name, response.status_code, _detail(response), key_env="REELFORGE_SDWEBUI_AUTH",
                               retry_after=retry_after_from(response.headers))
        try:
            return response.json()
        except ValueError as exc:
            raise malformed_error(self.name, f"not JSON ({exc})") from None

    def _images(self, body: Any, request: ImageRequest, size: tuple[int, int]) -> list[GeneratedImage]:
        if not isinstance(body, dict):
            raise malformed_error(self.name, "expected a JSON object")
        images = []
        for encoded in body.get("images") or []:
            data = _decode(self.name, encoded)
            images.append(GeneratedImage(data, sniff_media_type(data) or "image/png",
                                         {"aspect_ratio": request.aspect_ratio, "size": list(size), "model": self.model}))
        if not images:
            raise no_image_error(self.name, "images is empty")
        return images[: request.count]  # some scripts append extra images (grids, masks)


def _decode(provider: str, encoded: Any) -> bytes:
    try:
        text = str(encoded).split(",", 1)[-1]  # tolerate a data: URL prefix
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed_error(provider, f"an image is not base64 ({exc})") from None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error") or body)
    return str(body)


def create(settings: Settings, limits: Limits) -> SDWebUIImages:
    return SDWebUIImages(settings, limits)


