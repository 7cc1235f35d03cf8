"""Turning what a service answered into `ProviderError`s that say what to do: which statuses
retry, which fail fast, and the user's next step for each."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from typing import Any

from reelforge.errors import ProviderError

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (`120`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def retry_after_from(headers: Mapping[str, str] | Any | None) -> float | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    return parse_retry_after(getter("retry-after") if getter else None)


def status_error(provider: str, status: int, detail: str, *, key_env: str | None = None,
                 retry_after: float | None = None, model_env: str | None = None) -> ProviderError:
    """The error for an HTTP status, with the fix a user needs."""
    detail = (detail or "").strip()[:300]
    if status in (401, 403):
        who = f"{key_env} is rejected" if key_env else "the credentials are rejected"
        return ProviderError(provider, f"{who} ({status}): {detail}", status=status,
                             hint=f"set a valid key in {key_env}" if key_env else "check the server's auth settings")
    if status == 404:
        return ProviderError(provider, f"not found (404): {detail}", status=status,
                             hint=f"check the model id ({model_env}) and the base URL" if model_env
                             else "check the base URL")
    if status in RETRY_STATUSES or status >= 500:
        what = "rate limited" if status == 429 else "service unavailable" if status >= 500 else "try again"
        return ProviderError(provider, f"{what} ({status}): {detail}", status=status, retryable=True,
                             retry_after=retry_after)
    return ProviderError(provider, f"the request was rejected ({status}): {detail}", status=status,
                         hint="check the prompt, aspect ratio and reference images")


def safety_error(provider: str, reason: str, detail: str = "") -> ProviderError:
    extra = f": {detail.strip()[:200]}" if detail.strip() else ""
    return ProviderError(provider, f"blocked by the provider's safety filter ({reason}){extra}",
                         hint="rephrase the prompt (or change the reference images); the same request "
                              "will be blocked again")


def no_image_error(provider: str, detail: str = "") -> ProviderError:
    extra = f": {detail.strip()[:200]}" if detail.strip() else ""
    return ProviderError(provider, f"the response contained no image{extra}",
                         hint="ask explicitly for an image in the prompt, or try again with other wording")


def malformed_error(provider: str, detail: str = "") -> ProviderError:
    return ProviderError(provider, f"the response could not be read (malformed or unexpected body): {detail[:200]}",
                         hint="check the base URL points at the real API (a proxy may answer instead)")


def is_transport_error(exc: BaseException) -> bool:
    """Connection refused/reset, protocol errors and timeouts of httpx or httpx2 (SDK transports)."""
    kinds: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            kinds.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return isinstance(exc, (*kinds, ConnectionError))


def transport_error(provider: str, exc: BaseException) -> ProviderError:
    return ProviderError(provider, f"connection failed ({type(exc).__name__}: {exc})", retryable=True,
                         hint="check the network and the base URL")
