"""Which failures are worth another try, and how long to wait before it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from tenacity import RetryCallState

from reelforge.errors import ProviderError
from reelforge.runtime.limits import Limits


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and dropped connections retry; bad requests, rejected keys, safety
    blocks and empty answers do not (the same call would fail the same way)."""
    if isinstance(exc, ProviderError):
        return exc.retryable
    return isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError)


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def retry_after(exc: BaseException | None) -> float | None:
    return exc.retry_after if isinstance(exc, ProviderError) else None


def backoff_wait(limits: Limits, rng: random.Random | None = None) -> Callable[[RetryCallState], float]:
    """Exponential backoff with full jitter, but never shorter than the service's Retry-After."""
    rand = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        ceiling = min(limits.backoff_max_s, limits.backoff_initial_s * 2 ** (state.attempt_number - 1))
        jittered = rand.uniform(ceiling / 2, ceiling)
        exc = state.outcome.exception() if state.outcome else None
        return max(jittered, retry_after(exc) or 0.0)

    return wait
