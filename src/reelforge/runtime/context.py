"""The runtime context: what every run in a process shares, built once — by the CLI, a server's
lifespan or a worker — and closed with `aclose()`.

It holds the settings (which read `.env`; adapters get their credentials from here, never from
`os.environ`), the artifact store, the run records, the pricing table, the long-lived process
pools, the provider gates and adapters, and the event bus. Many runs use one context at once
without disturbing each other: pools outlive runs, a provider's gate is shared by every run that
calls it (so together they keep its limits), and each run's events carry its run id."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reelforge.providers.limits import Limits
from reelforge.runtime.artifacts import ArtifactStore
from reelforge.runtime.budget import BudgetFactory, in_process_budget
from reelforge.runtime.events import EventBus
from reelforge.runtime.limits import GateFactory, InProcessGates, ProviderGate
from reelforge.runtime.operations import MemoryOperationLog, OperationLog
from reelforge.runtime.pools import ProcessPools
from reelforge.runtime.pricing import PricingTable, load_pricing
from reelforge.runtime.records import RunStore
from reelforge.settings import Settings

# capability → "module:attribute" of its provider registry (imported on first use)
REGISTRIES: dict[str, str] = {
    "image": "reelforge.providers.images:IMAGE_GENERATORS",
    "cutout": "reelforge.providers.cutout.registry:CUTOUTS",
    "vision": "reelforge.providers.vision:VISION",
    "video": "reelforge.providers.video:VIDEO_GENERATORS",
    "writer": "reelforge.providers.writer:WRITERS",
}


class ProviderRegistry(Protocol):
    def create(self, name: str, settings: Settings, limits: Limits | None = None) -> Any: ...
    def limits(self, name: str, settings: Settings) -> Limits: ...


class ProviderHub:
    """Adapters by (capability, name), built from their registry on first use and kept for the
    context's life (an adapter holds an HTTP client with its connection pool)."""

    def __init__(self, settings: Settings, registries: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._registries = dict(REGISTRIES if registries is None else registries)
        self._adapters: dict[tuple[str, str], Any] = {}

    def registry(self, capability: str) -> ProviderRegistry:
        module, attr = self._registries[capability].split(":")
        registry: ProviderRegistry = getattr(importlib.import_module(module), attr)
        return registry

    def knows(self, capability: str) -> bool:
        return capability in self._registries

    def limits(self, capability: str, name: str) -> Limits:
        """The registry's defaults for the provider with the user's REELFORGE_LIMITS applied."""
        if not self.knows(capability):
            return Limits().merged(self.settings.limits.get(name))
        return self.registry(capability).limits(name, self.settings)

    def get(self, capability: str, name: str) -> Any:
        key = (capability, name)
        if key not in self._adapters:
            self._adapters[key] = self.registry(capability).create(name, self.settings,
                                                                   self.limits(capability, name))
        return self._adapters[key]

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            closer = getattr(adapter, "aclose", None)
            if closer is not None:
                await closer()
        self._adapters.clear()


class GateRegistry:
    """One gate per provider for every run in the context. Gates hold asyncio primitives, so a
    context used from a new event loop (a second `asyncio.run`) starts fresh gates."""

    def __init__(self, factory: GateFactory | None = None) -> None:
        self.factory = factory or InProcessGates()
        self._gates: dict[str, ProviderGate] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self, provider: str) -> ProviderGate | None:
        self._check_loop()
        return self._gates.get(provider)

    def open(self, provider: str, limits: Limits, used_today: int) -> ProviderGate:
        self._check_loop()
        if provider not in self._gates:
            self._gates[provider] = ProviderGate(provider, limits, used_today, self.factory)
        return self._gates[provider]

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._gates, self._loop = {}, loop


@dataclass
class RuntimeContext:
    settings: Settings
    store: ArtifactStore
    pricing: PricingTable
    records: RunStore | None = None
    pools: ProcessPools = field(default_factory=ProcessPools)
    gates: GateRegistry = field(default_factory=GateRegistry)
    bus: EventBus = field(default_factory=EventBus)
    providers: ProviderHub | None = None
    budget_factory: BudgetFactory = in_process_budget
    heartbeat_s: float = 10.0  # how often a running run renews its lease in the records
    _closed: bool = False

    def __post_init__(self) -> None:
        if self.providers is None:
            self.providers = ProviderHub(self.settings)
        # where long-running operations' handles are kept: the run records, else this process
        self.operations: OperationLog = self.records if self.records is not None else MemoryOperationLog()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, keep_pools_warm: bool = False,
                      records: bool = True, gates: GateFactory | None = None) -> RuntimeContext:
        """The embedded defaults — artifacts in `<data_dir>/artifacts`, run records in SQLite,
        in-process gates — or what the settings name instead: an s3:// artifacts URL, a
        PostgreSQL database, and (with a Redis URL) gates shared by every worker in Redis."""
        from reelforge.runtime.s3store import open_artifact_store
        from reelforge.settings import get_settings

        settings = settings or get_settings()
        if gates is None and settings.shared_redis:
            from reelforge.runtime.redis_gates import RedisGates

            gates = RedisGates(settings.shared_redis, prefix=settings.redis_prefix)
        return cls(settings=settings, store=open_artifact_store(settings),
                   pricing=load_pricing(settings.pricing_file),
                   records=RunStore(settings.database) if records else None,
                   pools=ProcessPools(keep_warm=keep_pools_warm), gates=GateRegistry(gates))

    def limits(self, capability: str, provider: str, overrides: Mapping[str, Any] | None = None) -> Limits:
        assert self.providers is not None
        return self.providers.limits(capability, provider).merged(overrides)

    async def open_gate(self, provider: str, limits: Limits) -> ProviderGate:
        """The provider's gate, opened on first use; a daily quota starts from the calls the
        records hold for the last 24 h (read on a thread: the loop never waits for the database)."""
        gate = self.gates.get(provider)
        if gate is not None:
            return gate
        used = await asyncio.to_thread(self._calls_today, provider) if limits.rpd else 0
        return self.gates.open(provider, limits, used)

    def _calls_today(self, provider: str) -> int:
        if self.records is None:
            return 0
        since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
        return self.records.calls_since(provider, since)

    def subscribe(self, subscriber: Callable[..., None]) -> Callable[[], None]:
        return self.bus.subscribe(subscriber)

    async def aclose(self) -> None:
        """Close pools, adapters and the database; the context cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        if self.providers is not None:
            await self.providers.aclose()
        await asyncio.to_thread(self.close_sync)

    def close_sync(self) -> None:
        self._closed = True
        self.pools.close()
        if self.records is not None:
            self.records.engine.dispose()

    async def __aenter__(self) -> RuntimeContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
