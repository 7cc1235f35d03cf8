"""Cut-out providers by name: `CUTOUTS` is the capability's `Registry` (the runtime's
`ProviderHub` builds adapters from it, applies REELFORGE_LIMITS to its default limits and gates
every call), and the same entries feed the CLI choices, the spec's method names and
`reelforge providers`. The names themselves live in `reelforge.spec.provider_names` (the spec
imports them from there); this module checks that its entries match.

Local methods (the imaging/cutout engine) are unpaid entries; remove.bg, Photoroom and Clipdrop
are paid ones, configured when their key is set in the settings. Adapter modules are imported on
first use, so listing names costs no httpx import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reelforge.providers.cutout.base import Cutout
from reelforge.providers.limits import Limits
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.settings import Settings
from reelforge.spec.provider_names import CLOUD_CUTOUTS, CUTOUT_METHODS, LOCAL_CUTOUTS

CUTOUTS: Registry[Any] = Registry("cutout")

# Local work runs in a process pool, not through a provider gate; these limits only show in listings.
_LOCAL_LIMITS = Limits(max_concurrency=1, timeout_s=600, max_attempts=1)
# One cloud cut-out is one image upload: a minute is generous, and 429s shrink concurrency (AIMD).
_CLOUD_LIMITS = Limits(max_concurrency=4, timeout_s=60, max_attempts=4)

_LOCAL_SUMMARIES = {
    "auto": "keys plain backdrops exactly, else the ML model plus matting (local, free)",
    "key": "exact keying of a near-uniform backdrop, no model (local, free)",
    "ml": "the ML model's mask (rembg u2netp; local, free)",
    "refine": "the ML mask refined by matting on the edge band (local, free)",
}
# name → (summary, key variable, base-URL variable and default)
_CLOUD = {
    "removebg": ("remove.bg API (paid, 1 credit per image)", "REMOVEBG_API_KEY",
                 "REELFORGE_REMOVEBG_BASE_URL", "https://api.remove.bg"),
    "photoroom": ("Photoroom Remove Background API, Basic plan (paid per image)", "PHOTOROOM_API_KEY",
                  "REELFORGE_PHOTOROOM_BASE_URL", "https://sdk.photoroom.com"),
    "clipdrop": ("Clipdrop Remove Background API (paid, 1 credit per image)", "CLIPDROP_API_KEY",
                 "REELFORGE_CLIPDROP_BASE_URL", "https://clipdrop-api.co"),
}


def _key_check(name: str, env: str) -> Callable[[Settings], str | None]:
    def configured(settings: Settings) -> str | None:
        secret = getattr(settings, f"{name}_api_key", None)
        return None if secret is not None and secret.get_secret_value().strip() else f"{env} is not set"

    return configured


for _name in LOCAL_CUTOUTS:
    CUTOUTS.register(ProviderEntry(_name, _LOCAL_SUMMARIES[_name], f"reelforge.providers.cutout.local:create_{_name}",
                                   paid=False, limits=_LOCAL_LIMITS))
for _name, (_summary, _env, _url_env, _default) in _CLOUD.items():
    CUTOUTS.register(ProviderEntry(_name, _summary, f"reelforge.providers.cutout.{_name}:create",
                                   configured=_key_check(_name, _env),
                                   env=((_env, "API key"), (_url_env, f"API base URL (default {_default})")),
                                   limits=_CLOUD_LIMITS))

assert tuple(CUTOUTS.names()) == CUTOUT_METHODS, "spec/provider_names.py and the cut-out registry disagree"
assert tuple(e.name for e in CUTOUTS if e.paid) == CLOUD_CUTOUTS


def names() -> list[str]:
    """Every cut-out method name, local first."""
    return CUTOUTS.names()


def is_cloud(name: str) -> bool:
    return name in CLOUD_CUTOUTS


def get_cutout_provider(name: str, settings: Settings | None = None, **options: Any) -> Cutout | Any:
    """The provider called `name`. Local ones take `model=`; cloud ones are built from the
    settings (key, base URL) and raise ProviderUnavailable, saying what to set, without a key."""
    if name in LOCAL_CUTOUTS:
        from reelforge.providers.cutout.local import LocalCutout

        return LocalCutout(name, **options)
    from reelforge.settings import get_settings

    return CUTOUTS.create(name, settings or get_settings())


def available(settings: Settings | None = None) -> list[tuple[str, bool, str]]:
    """(name, usable, why) for every provider, for a `reelforge providers`-style listing."""
    from reelforge.providers.cutout.local import LocalCutout
    from reelforge.settings import get_settings

    settings = settings or get_settings()
    rows = []
    for status in CUTOUTS.status(settings):
        name = status.entry.name
        if name in LOCAL_CUTOUTS:
            ok, why = LocalCutout(name).availability()
        else:
            ok, why = status.available, status.reason or f"key set; endpoint {getattr(settings, f'{name}_base_url')}"
        rows.append((name, ok, why))
    return rows
