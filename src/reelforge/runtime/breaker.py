"""A circuit breaker per provider: after `threshold` consecutive failures it opens and calls fail
at once for `cooldown_s`; then one probe call is let through (half-open) — its success closes the
breaker, its failure opens it again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from reelforge.errors import ProviderError

State = Literal["closed", "open", "half-open"]


class CircuitOpen(ProviderError):
    """The provider failed too often in a row; it is not called until the cooldown passes."""


class CircuitBreaker:
    def __init__(self, provider: str, threshold: int = 5, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.provider = provider
        self.threshold = max(1, threshold)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.state: State = "closed"
        self.failures = 0
        self.last_error = ""
        self._opened_at = 0.0
        self._probe_in_flight = False

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        if self.state == "closed":
            return
        waited = self._clock() - self._opened_at
        if self.state == "open" and waited >= self.cooldown_s:
            self.state = "half-open"
        if self.state == "half-open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        raise CircuitOpen(
            self.provider,
            f"{self.failures} calls failed in a row (last: {self.last_error}); not calling it "
            f"for {max(0.0, self.cooldown_s - waited):.0f} s",
            retryable=False, hint="check the provider's status page or your network, then rerun: "
                                  "finished steps are cached")

    def record_success(self) -> None:
        self.state, self.failures, self._probe_in_flight = "closed", 0, False

    def record_failure(self, error: str) -> None:
        """Count a failure that says something about the provider's health (5xx, 429, timeouts)."""
        self.failures += 1
        self.last_error = error
        if self.state == "half-open" or self.failures >= self.threshold:
            self.state, self._opened_at = "open", self._clock()
        self._probe_in_flight = False

    def record_neutral(self) -> None:
        """A call that ended for a reason unrelated to the provider's health (a bad request)."""
        self._probe_in_flight = False
