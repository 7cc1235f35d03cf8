"""Per-provider limits and the gate every provider call passes: a concurrency slot that adapts to
back-pressure, an even requests-per-minute pace, a per-day quota and the circuit breaker.

Each part is behind a small interface (`Concurrency`, `Pace`, `Quota`, `Breaker`) made by a
`GateFactory`. `InProcessGates` keeps them in this process — the embedded default. A deployment
with workers on several machines swaps in a factory whose parts live in a shared store (Redis),
so every worker draws from the same pace, quota and breaker."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from reelforge.errors import ProviderError
from reelforge.providers.limits import Limits
from reelforge.runtime.breaker import CircuitBreaker

__all__ = ["AdaptiveConcurrency", "DailyQuota", "EvenPace", "GateFactory", "InProcessGates", "Limits",
           "ProviderGate"]


# --- the interfaces ------------------------------------------------------------------------------

class Concurrency(Protocol):
    """How many calls to one provider may be in flight; lowered by back-pressure."""

    @property
    def limit(self) -> int: ...

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]: ...
    def slow_down(self, retry_after_s: float | None) -> None: ...
    def record_success(self) -> None: ...
    async def wait_if_paused(self) -> None: ...


class Pace(Protocol):
    async def wait(self) -> None: ...


class Quota(Protocol):
    @property
    def used(self) -> int: ...

    def take(self) -> None: ...


class Breaker(Protocol):
    @property
    def state(self) -> str: ...

    def before_call(self) -> None: ...
    def record_success(self) -> None: ...
    def record_failure(self, error: str) -> None: ...
    def record_neutral(self) -> None: ...


class GateFactory(Protocol):
    """Makes the parts of a provider's gate. `used_today` is what the run records already count."""

    def concurrency(self, provider: str, limits: Limits) -> Concurrency: ...
    def pace(self, provider: str, limits: Limits) -> Pace | None: ...
    def quota(self, provider: str, limits: Limits, used_today: int) -> Quota: ...
    def breaker(self, provider: str, limits: Limits) -> Breaker: ...


# --- in-process parts ----------------------------------------------------------------------------

class DailyQuota:
    """Calls left today for one provider. `used` starts from the run records (other runs count)."""

    def __init__(self, provider: str, per_day: int | None, used: int = 0) -> None:
        self.provider, self.per_day, self.used = provider, per_day, used

    def take(self) -> None:
        if self.per_day is not None and self.used >= self.per_day:
            raise ProviderError(self.provider, f"the daily limit of {self.per_day} requests is used up",
                                retryable=False, reason="quota_exhausted",
                                hint="wait for the quota to reset, or raise rpd in REELFORGE_LIMITS if your "
                                     "plan allows more")
        self.used += 1


class EvenPace:
    """Call starts on a grid `60/rpm` s apart, anchored at the first call: never a burst, and a
    late wake-up does not push later slots back. (A leaky bucket such as aiolimiter's restarts
    its interval from each late acquire, so the lateness adds up: 100 calls at 60/min took
    102.3 s with it instead of the 101.1 s the limit allows.)"""

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute
        self._next: float | None = None

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = now if self._next is None else max(now, self._next)  # idle time earns no burst
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class AdaptiveConcurrency:
    """A concurrency limit that backs off under rate limiting (AIMD, as TCP does): a 429 halves
    the limit — once per burst, since the calls already in flight answer 429 together — and
    pauses new calls for the Retry-After the service named; every `limit` successes in a row
    raise it by one, back up to the configured maximum. Waiters get slots in arrival order, so a
    batch is worked through in order. Used from the event loop only (no locks needed)."""

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        self._clock = clock
        self._paused_until = 0.0
        self._last_decrease = -1e9
        self._successes = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._wake()

    async def _acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(granted)
        try:
            await granted  # _wake counted us in before waking us
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.in_flight -= 1  # granted, then cancelled before use: hand the slot on
                self._wake()
            else:
                self._waiters.remove(granted)
            raise

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    async def wait_if_paused(self) -> None:
        while (left := self._paused_until - self._clock()) > 0:
            await asyncio.sleep(left)

    def slow_down(self, retry_after_s: float | None) -> None:
        now = self._clock()
        if retry_after_s:
            self._paused_until = max(self._paused_until, now + retry_after_s)
        if now - self._last_decrease >= max(1.0, retry_after_s or 0.0):
            self.limit = max(1, self.limit // 2)
            self._last_decrease = now
        self._successes = 0

    def record_success(self) -> None:
        self._successes += 1
        if self.limit < self.maximum and self._successes >= self.limit:
            self.limit += 1
            self._successes = 0
            self._wake()


class InProcessGates:
    """Gate parts that live in this process (one machine; the embedded default)."""

    def concurrency(self, provider: str, limits: Limits) -> Concurrency:
        return AdaptiveConcurrency(limits.max_concurrency)

    def pace(self, provider: str, limits: Limits) -> Pace | None:
        # Starts spaced evenly rather than a minute's allowance at once: services count RPM
        # over sliding windows, and a burst is what gets a 429.
        return EvenPace(limits.rpm) if limits.rpm else None

    def quota(self, provider: str, limits: Limits, used_today: int) -> Quota:
        return DailyQuota(provider, limits.rpd, used_today)

    def breaker(self, provider: str, limits: Limits) -> Breaker:
        return CircuitBreaker(provider, limits.breaker_threshold, limits.breaker_cooldown_s)


# --- the gate ------------------------------------------------------------------------------------

class ProviderGate:
    """Everything a call to one provider must pass before it goes out, and where its outcome is
    reported: a rate limit slows the provider down, only ill health (5xx, timeouts, dropped
    connections) counts towards its breaker, and an exhausted quota or a payment demand stops
    every later call to it at once with the same message."""

    def __init__(self, provider: str, limits: Limits, used_today: int = 0,
                 factory: GateFactory | None = None) -> None:
        parts = factory or InProcessGates()
        self.provider = provider
        self.limits = limits
        self.concurrency = parts.concurrency(provider, limits)
        self._pace = parts.pace(provider, limits)
        self.quota = parts.quota(provider, limits, used_today)
        self.breaker = parts.breaker(provider, limits)
        self.exhausted: ProviderError | None = None
        self.in_flight = 0

    @contextlib.asynccontextmanager
    async def slot(self, *, billable: bool = True) -> AsyncIterator[None]:
        """Hold a concurrency slot, wait out any pause and the pace, check quota and breaker.
        `billable=False` (polling an operation) skips the daily quota."""
        async with self.concurrency.slot():
            await self.concurrency.wait_if_paused()
            if self._pace is not None:
                await self._pace.wait()
            if self.exhausted is not None:
                raise self.exhausted
            self.breaker.before_call()
            if billable:
                self.quota.take()
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1

    def record(self, exc: BaseException | None) -> None:
        """Report how a call ended."""
        if exc is None:
            self.breaker.record_success()
            self.concurrency.record_success()
            return
        reason = getattr(exc, "reason", None)
        if reason == "rate_limited":
            self.concurrency.slow_down(getattr(exc, "retry_after", None))
            self.breaker.record_neutral()
        elif reason in ("quota_exhausted", "payment_required") and isinstance(exc, ProviderError):
            self.exhausted = exc
            self.breaker.record_neutral()
        elif _health_failure(exc):
            self.breaker.record_failure(_first_line(exc))
        else:
            self.breaker.record_neutral()


def _health_failure(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return exc.health_failure
    return isinstance(exc, TimeoutError | ConnectionError)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
