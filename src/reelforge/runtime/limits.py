"""Per-provider limits and the gate every provider call passes: a concurrency slot, an even
requests-per-minute pace, a per-day quota and the circuit breaker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from reelforge.errors import ProviderError, SpecError
from reelforge.runtime.breaker import CircuitBreaker


@dataclass(frozen=True)
class Limits:
    """How a provider may be called. `rpm`/`rpd` None = unlimited."""

    max_concurrency: int = 4
    rpm: float | None = None  # requests per minute, spread evenly (60/rpm s between call starts); 0 = none
    rpd: int | None = None  # requests per day (counted across runs from the run records); 0 = none
    timeout_s: float = 120.0  # one call
    max_attempts: int = 5
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0  # a longer Retry-After fails the step instead of waiting
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0

    def merged(self, overrides: Mapping[str, Any] | None) -> Limits:
        """These limits with `overrides` (from settings or flags) applied; unknown names are errors."""
        if not overrides:
            return self
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise SpecError(f"unknown provider limit(s): {', '.join(unknown)}",
                            hint=f"use any of: {', '.join(known)}")
        clean = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}  # rpm/rpd 0 → None
        return replace(self, **clean)


_INTS = {"max_concurrency", "rpd", "max_attempts", "breaker_threshold"}


def _coerce(name: str, value: Any) -> Any:
    number = float(value)
    if name in ("rpm", "rpd") and number == 0:
        return None  # 0 = no limit
    if number < 0 or (name in ("max_concurrency", "max_attempts") and number < 1):
        raise SpecError(f"provider limit {name} must be positive, got {value!r}")
    return int(number) if name in _INTS else number


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
