"""What every cloud background remover shares: one multipart POST of a PNG, an RGBA PNG back.

A provider module (`removebg`, `photoroom`, `clipdrop`) declares its endpoint, auth header, form
fields, error-body shape and credit headers; `CloudCutout` does the rest the same way for all.
An adapter makes exactly ONE request per `cut()`: it is an async client (httpx.AsyncClient) run
as a runtime step, and the runtime owns the gate, the timeout (cancelling the task closes the
request: nothing keeps running, nothing is billed twice) and the one retry layer. The adapter's
job is to classify what the service answered into a `ProviderError` with a `reason` (and the
Retry-After it asked for) using `reelforge.providers.errors`, and to hand back a cut-out the
size of the input. Keys and base URLs come from the settings, never from `os.environ`."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.imaging.cutout.result import CutoutResult
from reelforge.providers.errors import retry_after_from, status_error
from reelforge.providers.limits import Limits
from reelforge.settings import Settings


class CloudCutout:
    """Base of the cloud cut-out adapters; subclasses fill in the class attributes and hooks."""

    name: str = ""  # registry name, also `CutoutResult.method`
    label: str = ""  # how the service calls itself, first word of every error message
    key_env: str = ""  # environment variable holding the API key (Settings.<name>_api_key)
    key_header: str = ""  # request header carrying the key
    path: str = ""  # endpoint path below the base URL
    key_url: str = ""  # where a user gets or checks a key
    top_up_url: str = ""  # where a user buys credits

    def __init__(self, settings: Settings, limits: Limits | None = None) -> None:
        secret = getattr(settings, f"{self.name}_api_key", None)
        self._api_key = secret.get_secret_value().strip() if secret is not None else ""
        self.base_url = str(getattr(settings, f"{self.name}_base_url")).rstrip("/")
        # The runtime's timeout (limits.timeout_s) cancels the call first; httpx's own is a backstop.
        self.timeout = (limits or Limits()).timeout_s + 5.0
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def endpoint(self) -> str:
        return self.base_url + self.path

    # -- hooks a provider overrides ---------------------------------------------------------------

    def form_fields(self, keep_shadow: bool) -> dict[str, str]:
        """Text fields sent next to `image_file`."""
        return {}

    def shadow_details(self, keep_shadow: bool) -> dict[str, Any]:
        """What became of `keep_shadow` (providers without a shadow option say it was ignored)."""
        return {"keep_shadow": f"ignored: {self.label} has no shadow option"} if keep_shadow else {}

    def error_detail(self, body: Any) -> str | None:
        """The human part of a JSON error body, in the provider's documented shape."""
        return None

    def response_details(self, headers: httpx.Headers) -> dict[str, Any]:
        """Credits charged / remaining and other facts the provider reports in headers."""
        return {}

    # -- the adapter ------------------------------------------------------------------------------

    def availability(self) -> tuple[bool, str]:
        """(usable, why) without any request: is a key configured?"""
        if self._api_key:
            return True, f"{self.key_env} is set; endpoint {self.endpoint}"
        return False, f"set {self.key_env} (get a key at {self.key_url})"

    async def cut(self, image: Image.Image, *, keep_shadow: bool = False) -> CutoutResult:
        """One request: `image` in, its RGBA cut-out (the input's size) out; `ProviderError` with a
        `reason` for anything else. Never retries — the runtime decides that."""
        key = self._require_key()
        png = await asyncio.to_thread(png_bytes, image)
        response = await self._post(key, png, self.form_fields(keep_shadow))
        cutout, warnings = await asyncio.to_thread(self._decode, response, image.size)
        details = {"provider": self.name, **self.response_details(response.headers),
                   **self.shadow_details(keep_shadow)}
        return CutoutResult(image=cutout, method=self.name, reason="requested", details=details,
                            warnings=warnings)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- internals --------------------------------------------------------------------------------

    def _require_key(self) -> str:
        if not self._api_key:
            raise ProviderUnavailable(f"{self.label}: no API key",
                                      hint=f"set {self.key_env} (get a key at {self.key_url})")
        return self._api_key

    def _client_here(self) -> httpx.AsyncClient:
        """The adapter's client, bound to the running loop (a context may outlive one `asyncio.run`;
        a client's connections belong to the loop that opened them)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
            self._loop = loop
        return self._client

    async def _post(self, key: str, png: bytes, fields: dict[str, str]) -> httpx.Response:
        try:
            response = await self._client_here().post(
                self.endpoint, data=fields, files={"image_file": ("image.png", png, "image/png")},
                headers={self.key_header: key, "Accept": "image/png"})
        except httpx.UnsupportedProtocol as exc:
            raise ProviderError(self.label, f"bad endpoint {self.endpoint!r}: {exc}", reason="bad_request",
                                hint=f"check REELFORGE_{self.name.upper()}_BASE_URL") from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(self.label, f"no answer within {self.timeout:g} s ({type(exc).__name__})",
                                retryable=True, reason="timeout") from exc
        except httpx.TransportError as exc:
            raise ProviderError(self.label, f"could not reach {self.base_url} ({type(exc).__name__}: {exc})",
                                retryable=True, reason="connection",
                                hint="check the network and the base URL") from exc
        if response.status_code == 200:
            return response
        raise self._status_error(response)

    def _status_error(self, response: httpx.Response) -> ProviderError:
        status, detail = response.status_code, self._detail(response)
        if status == 402:
            return ProviderError(self.label, f"out of credits (402): top up at {self.top_up_url} ({detail})",
                                 status=status, reason="payment_required", hint=f"buy credits at {self.top_up_url}")
        if status in (401, 403):
            return ProviderError(self.label, f"{self.key_env} is rejected ({status}): {detail}; check the key "
                                             f"at {self.key_url}", status=status, reason="auth",
                                 hint=f"set a valid key in {self.key_env}")
        if 400 <= status < 500 and status not in (404, 408, 409, 425, 429):
            return ProviderError(self.label, f"request rejected ({status}): {detail}", status=status,
                                 reason="bad_request", hint="check the input image (format, size, content)")
        return status_error(self.label, status, detail, key_env=self.key_env,
                            retry_after=retry_after_from(response.headers))

    def _detail(self, response: httpx.Response) -> str:
        try:
            detail = self.error_detail(response.json())
        except ValueError:
            detail = None
        return detail or response.text.strip()[:200] or response.reason_phrase or "no details"

    def _decode(self, response: httpx.Response, size: tuple[int, int]) -> tuple[Image.Image, list[str]]:
        image = self._open_image(response)
        warnings = []
        if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
            warnings.append(f"{self.label} returned a {image.mode} image without transparency")
        rgba = image.convert("RGBA")
        if rgba.size != size:
            warnings.append(f"{self.label} returned {rgba.width}x{rgba.height}; "
                            f"resized to the input's {size[0]}x{size[1]}")
            rgba = rgba.resize(size, Image.Resampling.LANCZOS)  # Pillow premultiplies alpha here
        return rgba, warnings

    def _open_image(self, response: httpx.Response) -> Image.Image:
        try:
            with Image.open(io.BytesIO(response.content)) as image:
                image.load()
                return image.copy()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            # Not retryable: a 200 may already have been charged.
            preview = response.content[:60]
            raise ProviderError(self.label, f"the response was not an image (HTTP 200, content-type "
                                            f"{response.headers.get('content-type')!r}, "
                                            f"{len(response.content)} bytes: {preview!r})",
                                status=200, reason="malformed",
                                hint="check the base URL points at the real API (a proxy may answer instead)") from exc


def png_bytes(image: Image.Image) -> bytes:
    """`image` as PNG (RGBA if it has transparency, else RGB), leaving `image` untouched."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    buffer = io.BytesIO()
    image.convert("RGBA" if has_alpha else "RGB").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric response header (credits etc.), or None when absent or not a number."""
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None
