"""How a provider may be called: concurrency, pace, quota, timeouts, retries, breaker. Adapters
declare their defaults in the registry; users override them (REELFORGE_LIMITS, flags); the
runtime enforces them (`reelforge.runtime.limits`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from reelforge.errors import SpecError


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


