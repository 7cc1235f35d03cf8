"""Providers by name, per capability. A registry entry is data: the adapter's import path (loaded
only when used, so `reelforge --help` stays fast), the SDK it needs, how to tell whether it is
configured, the environment variables that configure it and its default limits. The same
registry feeds the CLI's choices, `reelforge providers` and (later) the API and UI.

Other capabilities (Cutout, Vision, …) make a `Registry` of their own with the same entries."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reelforge.errors import ProviderUnavailable
from reelforge.providers.limits import Limits
from reelforge.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class ProviderEntry:
    """How to find, check and build one provider.

    `factory` is "module:callable"; the callable takes (settings, limits) and returns the adapter.
    `configured` returns None when ready, else why not (e.g. "GEMINI_API_KEY is not set").
    `env` lists (variable, meaning) pairs for docs and hints."""

    name: str
    summary: str
    factory: str
    sdk: str | None = None  # import name that must be importable
    package: str | None = None  # what to pip install when it is not
    configured: Callable[[Settings], str | None] = lambda settings: None
    env: tuple[tuple[str, str], ...] = ()
    limits: Limits = field(default_factory=Limits)
    paid: bool = True
    # A live check for providers that are servers the user runs (sdwebui): why nothing answers,
    # None when something does. Only `reelforge providers` calls it (it costs a request).
    reachable: Callable[[Settings], str | None] | None = None


@dataclass(frozen=True)
class Availability:
    entry: ProviderEntry
    reason: str | None  # None: available
    missing_sdk: bool = False  # the reason is an SDK that is not installed

    @property
    def hint(self) -> str:
        """What to do about `reason`: install the SDK when it is missing, else set the key."""
        return _hint(self.entry, install=self.missing_sdk)

    @property
    def available(self) -> bool:
        return self.reason is None


class Registry(Generic[T]):
    def __init__(self, capability: str) -> None:
        self.capability = capability
        self._entries: dict[str, ProviderEntry] = {}

    def register(self, entry: ProviderEntry) -> None:
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        return list(self._entries)

    def __iter__(self) -> Iterator[ProviderEntry]:
        return iter(self._entries.values())

    def entry(self, name: str) -> ProviderEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise ProviderUnavailable(f"unknown {self.capability} provider {name!r}",
                                      hint=f"use one of: {', '.join(self._entries)}") from None

    def check(self, name: str, settings: Settings) -> Availability:
        entry = self.entry(name)
        if entry.sdk and importlib.util.find_spec(entry.sdk.split(".")[0]) is None:
            return Availability(entry, f"the {entry.package or entry.sdk} package is not installed", missing_sdk=True)
        return Availability(entry, entry.configured(settings))

    def status(self, settings: Settings, *, live: bool = False) -> list[Availability]:
        """Every provider's availability; `live` also asks the user-run servers whether they answer."""
        found = [self.check(name, settings) for name in self._entries]
        if live:
            found = [Availability(a.entry, a.entry.reachable(settings)) if a.available and a.entry.reachable else a
                     for a in found]
        return found

    def _alternatives(self, settings: Settings) -> str:
        """What works without the missing key: the free providers that run here, and --dry-run."""
        free = [e.name for e in self if not e.paid and e.reachable is None and self.check(e.name, settings).available]
        offline = f"; or pick a provider that runs here for free ({', '.join(free)}, e.g. --provider {free[0]})" if free else ""
        return offline + "; --dry-run shows the calls and their cost without a key"

    def limits(self, name: str, settings: Settings) -> Limits:
        """The entry's default limits with the user's REELFORGE_LIMITS overrides applied."""
        return self.entry(name).limits.merged(settings.limits.get(name))

    def create(self, name: str, settings: Settings, limits: Limits | None = None) -> T:
        """Build the adapter, or raise ProviderUnavailable saying how to enable it."""
        availability = self.check(name, settings)
        entry = availability.entry
        if availability.reason is not None:
            raise ProviderUnavailable(f"{self.capability} provider {name!r} is unavailable: {availability.reason}",
                                      hint=availability.hint + self._alternatives(settings))
        module_name, attr = entry.factory.split(":")
        factory: Callable[[Settings, Limits], Any] = getattr(importlib.import_module(module_name), attr)
        adapter: T = factory(settings, limits or self.limits(name, settings))
        return adapter


def _hint(entry: ProviderEntry, *, install: bool) -> str:
    """`pip install …` (then the key) when the SDK is missing; only the key when it is installed."""
    parts = []
    if install and entry.package:
        parts.append(f"pip install {entry.package}")
    keys = [var for var, _ in entry.env if "KEY" in var or "TOKEN" in var]
    if keys:
        parts.append("set " + " or ".join(keys) + " (in the environment or a .env file)")
    return "; ".join(parts) or "see `reelforge providers`"
