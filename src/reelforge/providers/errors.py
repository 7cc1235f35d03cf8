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
    """The error for an HTTP status, with its `reason` and the fix a user needs. Callers that can
    read the body first turn quota and billing answers into `quota_error` / `payment_error`."""
    detail = (detail or "").strip()[:300]
    if status in (401, 403):
        who = f"{key_env} is rejected" if key_env else "the credentials are rejected"
        return ProviderError(provider, f"{who} ({status}): {detail}", status=status, reason="auth",
                             hint=f"set a valid key in {key_env}" if key_env else "check the server's auth settings")
    if status == 402:
        return payment_error(provider, detail)
    if status == 404:
        return ProviderError(provider, f"not found (404): {detail}", status=status, reason="not_found",
                             hint=f"check the model id ({model_env}) and the base URL" if model_env
                             else "check the base URL")
    if status == 429:
        return ProviderError(provider, f"rate limited (429): {detail}", status=status, retryable=True,
                             retry_after=retry_after, reason="rate_limited",
                             hint="lower this provider's rpm/max_concurrency in REELFORGE_LIMITS")
    if status == 408:
        return ProviderError(provider, f"the service timed out (408): {detail}", status=status, retryable=True,
                             retry_after=retry_after, reason="timeout")
    if status in RETRY_STATUSES or status >= 500:
        return ProviderError(provider, f"service unavailable ({status}): {detail}", status=status, retryable=True,
                             retry_after=retry_after, reason="server")
    return ProviderError(provider, f"the request was rejected ({status}): {detail}", status=status,
                         reason="bad_request", hint="check the prompt, aspect ratio and reference images")


def quota_error(provider: str, detail: str, *, status: int = 429) -> ProviderError:
    """A quota that waiting seconds will not refill (a daily quota, an account out of credit):
    fail at once instead of retrying into the same wall."""
    return ProviderError(provider, f"the quota is exhausted ({status}): {detail.strip()[:300]}", status=status,
                         reason="quota_exhausted",
                         hint="check the plan and billing of this key (or wait for the daily quota to reset); "
                              "retrying now would fail the same way")


def payment_error(provider: str, detail: str) -> ProviderError:
    """402: the account has no credits left / needs a paid plan."""
    return ProviderError(provider, f"payment required (402): {detail.strip()[:300]}", status=402,
                         reason="payment_required",
                         hint="add credits or a payment method to the account (or subscribe to a plan) — "
                              "the prompt is not the problem; retrying will fail the same way")


def safety_error(provider: str, reason: str, detail: str = "") -> ProviderError:
    extra = f": {detail.strip()[:200]}" if detail.strip() else ""
    return ProviderError(provider, f"blocked by the provider's safety filter ({reason}){extra}", reason="blocked",
                         hint="rephrase the prompt (or change the reference images); the same request "
                              "will be blocked again")


def no_image_error(provider: str, detail: str = "") -> ProviderError:
    extra = f": {detail.strip()[:200]}" if detail.strip() else ""
    return ProviderError(provider, f"the response contained no image{extra}", reason="empty",
                         hint="ask explicitly for an image in the prompt, or try again with other wording")


def malformed_error(provider: str, detail: str = "") -> ProviderError:
    return ProviderError(provider, f"the response could not be read (malformed or unexpected body): {detail[:200]}",
                         reason="malformed", hint="check the base URL points at the real API (a proxy may answer instead)")


def is_transport_error(exc: BaseException) -> bool:
    """Connection refused/reset, protocol errors and timeouts of httpx or httpx2 (SDK transports)."""
    kinds: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            kinds.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return isinstance(exc, (*kinds, ConnectionError))


def is_timeout(exc: BaseException) -> bool:
    """A read/connect/pool timeout of httpx, httpx2, the SDKs built on them, or asyncio."""
    kinds: list[type[BaseException]] = [TimeoutError]
    for module in ("httpx", "httpx2"):
        try:
            kinds.append(__import__(module).TimeoutException)
        except (ImportError, AttributeError):
            continue
    if isinstance(exc, tuple(kinds)) or "Timeout" in type(exc).__name__:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and isinstance(cause, tuple(kinds))


def _url_of(exc: BaseException) -> str | None:
    try:
        return str(exc.request.url)  # type: ignore[attr-defined]  # httpx errors carry their request
    except Exception:  # no request attached (httpx raises RuntimeError), or not an httpx error
        return None


def _refused_on_this_machine(exc: BaseException, url: str | None) -> bool:
    """Nothing listens on a loopback port: a server the user runs (sdwebui, Ollama) is not
    started. Retrying for seconds won't start it."""
    host = (url or "").split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return type(exc).__name__ == "ConnectError" and host in ("127.0.0.1", "localhost", "::1")


def transport_error(provider: str, exc: BaseException) -> ProviderError:
    """A timeout (`reason` timeout) or another transport failure (`reason` connection); both
    retry, except a refused connection to this machine. The message names the URL tried."""
    url = _url_of(exc)
    at = f" to {url}" if url else ""
    if is_timeout(exc):
        return ProviderError(provider, f"the call{at} timed out ({type(exc).__name__}: {exc})", retryable=True,
                             reason="timeout", hint="raise the provider's timeout_s, or check the network")
    if _refused_on_this_machine(exc, url):
        return ProviderError(provider, f"nothing answers at {url} ({exc})", retryable=False, reason="connection",
                             hint="start the server (or set the provider's base-URL variable to where it runs)")
    return ProviderError(provider, f"connection{at} failed ({type(exc).__name__}: {exc})", retryable=True,
                         reason="connection", hint="check the network and the base URL")
