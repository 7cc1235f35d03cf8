"""What every cloud background remover shares: one multipart POST of a PNG, an RGBA PNG back.

A provider module (`removebg`, `photoroom`, `clipdrop`) declares its endpoint, auth header, form
fields, error-body shape and credit headers; `CloudCutout` does the rest the same way for all:
the key is checked before any request, each call has a timeout, 429/5xx/timeouts/connection errors
are retried a bounded number of times with exponential backoff + jitter that honours `Retry-After`,
401/402/403 and other 4xx fail at once with a message that says what to do, and the cut-out comes
back the size of the input.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.imaging.cutout.result import CutoutResult
from reelforge.logging import get_logger
from reelforge.settings import get_settings

log = get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in all, waits of `backoff`·2ⁿ (+ jitter) up to `max_backoff`."""

    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    # A Retry-After longer than this fails at once (with the wait in the message) instead of
    # silently blocking the run for minutes.
    max_retry_after: float = 120.0


class _Transient(Exception):
    """A failure another try can fix: 429, 5xx, a timeout or a connection error."""

    def __init__(self, what: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(what)
        self.what = what
        self.status = status
        self.retry_after = retry_after


class CloudCutout:
    """Base of the cloud `Cutout` adapters; subclasses fill in the class attributes and hooks."""

    name: str = ""  # registry name, also `CutoutResult.method`
    label: str = ""  # how the service calls itself, first word of every error message
    key_env: str = ""  # environment variable holding the API key
    key_header: str = ""  # request header carrying the key
    path: str = ""  # endpoint path below the base URL
    base_url_setting: str = ""  # Settings field with the base URL (env REELFORGE_<NAME>_BASE_URL)
    key_url: str = ""  # where a user gets or checks a key
    top_up_url: str = ""  # where a user buys credits

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.base_url = (base_url or getattr(get_settings(), self.base_url_setting)).rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

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

    # -- the Cutout protocol ----------------------------------------------------------------------

    def availability(self) -> tuple[bool, str]:
        """(usable, why) without any request: is a key configured?"""
        if self._key():
            return True, f"{self.key_env} is set; endpoint {self.endpoint}"
        return False, f"set {self.key_env} (get a key at {self.key_url})"

    def cut(self, image: Image.Image, *, keep_shadow: bool = False) -> CutoutResult:
        key = self._require_key()
        response = self._post(key, png_bytes(image), self.form_fields(keep_shadow))
        cutout, warnings = self._decode(response, image.size)
        details = {"provider": self.name, **self.response_details(response.headers),
                   **self.shadow_details(keep_shadow)}
        return CutoutResult(image=cutout, method=self.name, reason="requested", details=details,
                            warnings=warnings)

    # -- internals --------------------------------------------------------------------------------

    def _key(self) -> str:
        return (self._api_key or os.environ.get(self.key_env, "")).strip()

    def _require_key(self) -> str:
        key = self._key()
        if not key:
            raise ProviderUnavailable(f"{self.label}: no API key",
                                      hint=f"set {self.key_env} (get a key at {self.key_url})")
        return key

    def _post(self, key: str, png: bytes, fields: dict[str, str]) -> httpx.Response:
        retrying = self._retrying()
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout)) as client:
                return retrying(self._attempt, client, key, png, fields)
        except _Transient as exc:
            raise self._gave_up(exc, retrying.statistics.get("attempt_number", 1)) from exc

    def _retrying(self) -> Retrying:
        policy = self.retry
        return Retrying(
            stop=stop_after_attempt(policy.attempts) | _LongRetryAfter(policy.max_retry_after),
            wait=_wait_honouring_retry_after(policy),
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _attempt(self, client: httpx.Client, key: str, png: bytes, fields: dict[str, str]) -> httpx.Response:
        try:
            response = client.post(self.endpoint, data=fields,
                                   files={"image_file": ("image.png", png, "image/png")},
                                   headers={self.key_header: key, "Accept": "image/png"})
        except httpx.UnsupportedProtocol as exc:
            raise ProviderError(self.label, f"bad endpoint {self.endpoint!r}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise _Transient(f"no answer within {self.timeout:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Transient(f"could not reach {self.base_url} ({type(exc).__name__}: {exc})") from exc
        if response.status_code == 200:
            return response
        raise self._status_error(response)

    def _status_error(self, response: httpx.Response) -> Exception:
        status, detail = response.status_code, self._detail(response)
        if status == 429 or status >= 500:
            what = "rate limited" if status == 429 else "server error"
            return _Transient(f"{what} ({status}): {detail}", status, retry_after_seconds(response.headers))
        if status in (401, 403):
            return ProviderError(self.label, f"{self.key_env} is rejected ({status}): {detail}; "
                                             f"check the key at {self.key_url}", status=status)
        if status == 402:
            return ProviderError(self.label, f"out of credits ({status}): top up at {self.top_up_url} "
                                             f"({detail})", status=status)
        return ProviderError(self.label, f"request rejected ({status}): {detail}", status=status)

    def _detail(self, response: httpx.Response) -> str:
        try:
            detail = self.error_detail(response.json())
        except ValueError:
            detail = None
        return detail or response.text.strip()[:200] or response.reason_phrase or "no details"

    def _gave_up(self, exc: _Transient, attempts: int) -> ProviderError:
        if exc.retry_after and exc.retry_after > self.retry.max_retry_after:
            message = (f"{exc.what}; the service asks to wait {exc.retry_after:g} s, longer than the "
                       f"{self.retry.max_retry_after:g} s reelforge waits: try again later")
        else:
            message = f"{exc.what}; gave up after {attempts} attempt{'s' * (attempts != 1)}"
        return ProviderError(self.label, message, status=exc.status, retryable=True)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("cutout.retry", provider=self.name, attempt=state.attempt_number,
                    wait_s=round(wait, 2), reason=str(exc))

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
            # Not retried: a 200 may already have been charged.
            preview = response.content[:60]
            raise ProviderError(self.label, f"the response was not an image (HTTP 200, content-type "
                                            f"{response.headers.get('content-type')!r}, "
                                            f"{len(response.content)} bytes: {preview!r})",
                                status=200) from exc


def png_bytes(image: Image.Image) -> bytes:
    """`image` as PNG (RGBA if it has transparency, else RGB), leaving `image` untouched."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    buffer = io.BytesIO()
    image.convert("RGBA" if has_alpha else "RGB").save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or an HTTP date); None when absent or bad."""
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric response header (credits etc.), or None when absent or not a number."""
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def _wait_honouring_retry_after(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential(multiplier=policy.backoff, max=policy.max_backoff) + wait_random(0, policy.backoff)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, _Transient) else None
        return max(backoff(state), retry_after or 0.0)

    return wait


class _LongRetryAfter(stop_base):
    """Stop when the service asks for a longer wait than `limit` seconds."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        return isinstance(exc, _Transient) and (exc.retry_after or 0.0) > self.limit
