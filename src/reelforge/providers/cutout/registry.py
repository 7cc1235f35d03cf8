"""Cut-out providers by name: one table feeds the CLI choices, the API enum and `reelforge providers`.

Provider modules are imported on first use, so listing names costs no httpx import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reelforge.errors import ProviderUnavailable
from reelforge.providers.cutout.base import Cutout

if TYPE_CHECKING:
    from reelforge.providers.cutout.cloud import CloudCutout

# name -> (module, class). Cloud APIs, each a real client of the documented wire format.
CLOUD: dict[str, tuple[str, str]] = {
    "removebg": ("reelforge.providers.cutout.removebg", "RemoveBg"),
    "photoroom": ("reelforge.providers.cutout.photoroom", "Photoroom"),
    "clipdrop": ("reelforge.providers.cutout.clipdrop", "Clipdrop"),
}

# The local engine (imaging/cutout), free and offline.
LOCAL = ("auto", "key", "ml", "refine")


def names() -> list[str]:
    """Every provider name `get_cutout_provider` accepts."""
    return [*LOCAL, *CLOUD]


def get_cutout_provider(name: str, **options: Any) -> Cutout:
    """The provider called `name`; `options` go to its constructor (api_key, base_url, timeout, retry).

    A missing key does not fail here: `cut()` raises `ProviderUnavailable` before any request, and
    `available()` reports it without one.
    """
    if name in LOCAL:
        from reelforge.providers.cutout.local import LocalCutout

        return LocalCutout(name, **options)
    provider: Cutout = _cloud_class(name)(**options)
    return provider


def available() -> list[tuple[str, bool, str]]:
    """(name, usable, why) for every provider, for a `reelforge providers`-style listing."""
    rows = []
    from reelforge.providers.cutout.local import LocalCutout

    for name in names():
        ok, why = LocalCutout(name).availability() if name in LOCAL else _cloud_class(name)().availability()
        rows.append((name, ok, why))
    return rows


def _cloud_class(name: str) -> type[CloudCutout]:
    if name not in CLOUD:
        raise ProviderUnavailable(f"unknown cut-out provider {name!r}",
                                  hint=f"choose one of: {', '.join(names())}")
    module, cls = CLOUD[name]
    found: type[CloudCutout] = getattr(importlib.import_module(module), cls)
    return found
