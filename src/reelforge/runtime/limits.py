"""Per-provider limits and the gate every provider call passes: a concurrency slot, an even
requests-per-minute pace, a per-day quota and the circuit breaker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from reelforge.errors import ProviderError
from reelforge.providers.limits import Limits
from reelforge.runtime.breaker import CircuitBreaker

__all__ = ["DailyQuota", "EvenPace", "Limits", "ProviderGate"]


class DailyQuota:
    """Calls left today for one provider. `used` starts from the run records (other runs count)."""

    def __init__(self, provider: str, per_day: int | None, used: int = 0) -> None:
        self.provider, self.per_day, self.used = provider, per_day, used

    def take(self) -> None:
        if self.per_day is not None and self.used >= self.per_day:
            raise ProviderError(self.provider, f"the daily limit of {self.per_day} requests is used up",
                                retryable=False, hint="wait for the quota to reset, or raise rpd in "
                                                      "REELFORGE_LIMITS if your plan allows more")
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


class ProviderGate:
    """Everything a call to one provider must pass before it goes out."""

    def __init__(self, provider: str, limits: Limits, used_today: int = 0) -> None:
        self.provider = provider
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.max_concurrency)
        # Starts spaced evenly rather than a minute's allowance at once: services count RPM
        # over sliding windows, and a burst is what gets a 429.
        self._pace = EvenPace(limits.rpm) if limits.rpm else None
        self.quota = DailyQuota(provider, limits.rpd, used_today)
        self.breaker = CircuitBreaker(provider, limits.breaker_threshold, limits.breaker_cooldown_s)
        self.in_flight = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a concurrency slot, wait for the pace, check quota and breaker."""
        async with self._slots:
            if self._pace is not None:
                await self._pace.wait()
            self.breaker.before_call()
            self.quota.take()
            self.in_flight += 1
            try:
                yield
            finally:
                self.in_flight -= 1
