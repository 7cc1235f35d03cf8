"""Steps: the unit of work, caching and accounting. A step is an action kind plus its version,
params, provider/model and inputs; its artifacts are stored under a key derived from all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from reelforge.errors import SpecError
from reelforge.runtime.artifacts import Artifact, ArtifactStore

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One node of a run's graph.

    `needs` names the steps whose artifacts this one consumes (their digests enter its key);
    `files` names input files (hashed by content, so moving a file does not invalidate the cache);
    `billing` is what a call costs in pricing units, e.g. ("image", 1)."""

    id: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    needs: tuple[str, ...] = ()
    files: Mapping[str, Path] = field(default_factory=dict)
    label: str = ""
    billing: tuple[str, float] | None = None


@dataclass(frozen=True)
class StepOutput:
    """One artifact an action produced, before it is stored: bytes in memory, or a file (a
    video) that the store streams in from `path` — write it under `ctx.scratch`, which the
    runtime removes once the result is stored."""

    data: bytes
    media_type: str
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def file(cls, path: Path, media_type: str, meta: dict[str, Any] | None = None) -> StepOutput:
        return cls(b"", media_type, dict(meta or {}), path)


@dataclass(frozen=True)
class ActionResult:
    outputs: list[StepOutput]
    billed: float | None = None  # units actually billed, when it differs from the step's estimate
    meta: dict[str, Any] = field(default_factory=dict)


class Action(Protocol):
    """The code behind a step kind. Bump `version` whenever its output for the same inputs changes:
    the version is part of the key, so old cached results stop matching. An action that calls a
    provider names the provider's capability (`capability = "image"`, "cutout", …): the step's
    provider name is looked up in that capability's registry for its adapter and limits."""

    kind: str
    version: int

    async def run(self, ctx: StepContext) -> ActionResult: ...


@dataclass(frozen=True)
class LazyProvider:
    build: Callable[[], Any]


class StepContext:
    """What an action sees: its step, input artifacts, the provider object, progress reporting,
    the artifact store (through a thread) and the process pool for CPU-bound work."""

    def __init__(self, step: Step, inputs: Mapping[str, list[Artifact]], store: ArtifactStore,
                 provider: Any, run_cpu: Callable[..., Any], report: Callable[[float, str], None],
                 scratch: Path | None = None, key: str = "") -> None:
        self.step = step
        self.key = key  # the step's cache key (a long-running operation's handle is filed under it)
        self.scratch = scratch  # a private folder for files the step produces (see StepOutput.file)
        self.params = step.params
        self.inputs = inputs
        self._provider = provider
        self.attempt = 0  # provider calls made so far for this step
        self.resumed = False  # a long-running operation submitted by an earlier run is being resumed
        self.last_call_seconds: float | None = None
        self._store = store
        self._run_cpu = run_cpu
        self._report = report

    @property
    def provider(self) -> Any:
        """The step's provider adapter, built on first use when given as a `LazyProvider` (a
        step that never touches it, such as a scripted test action, needs no adapter)."""
        if isinstance(self._provider, LazyProvider):
            self._provider = self._provider.build()
        return self._provider

    async def read(self, artifact: Artifact) -> bytes:
        return await asyncio.to_thread(self._store.read_bytes, artifact)

    async def local_path(self, artifact: Artifact) -> Path:
        """A file on this machine holding the artifact (a video to hand to ffmpeg): the store's
        own file when it is a local folder, else a copy in the step's scratch folder."""
        path_of = getattr(self._store, "path_of", None)
        if path_of is not None:
            return Path(path_of(artifact))
        assert self.scratch is not None
        return await asyncio.to_thread(self._store.export, artifact, self.scratch / artifact.digest)

    async def run_cpu(self, fn: Callable[..., T], *args: Any, pool: str = "default") -> T:
        """Run `fn(*args)` in a process pool (fn and args must pickle); `pool` names one of the
        runner's pools (see `Runner(pools=...)`)."""
        result: T = await self._run_cpu(fn, *args, pool=pool)
        return result

    def progress(self, fraction: float, message: str = "") -> None:
        self._report(fraction, message)


def check_new_steps(steps: Sequence[Step], known: Mapping[str, Step]) -> list[Step]:
    """Steps to add to a running graph, in dependency order; SpecError (nothing added) for an id
    already used, a need that is neither known nor added, or a cycle."""
    for step in steps:
        if step.id in known:
            raise SpecError(f"two steps share the id {step.id!r}", hint="give every step a unique id")
    added = {s.id for s in steps}
    outside = [Step(s.id, s.kind, needs=tuple(n for n in s.needs if n in added)) for s in steps]
    for step in steps:
        for need in step.needs:
            if need not in known and need not in added:
                raise SpecError(f"step {step.id!r} needs {need!r}, which is not in the graph")
    order = [s.id for s in topological_order(outside)]
    by_id = {s.id: s for s in steps}
    return [by_id[sid] for sid in order]


def topological_order(steps: Sequence[Step]) -> list[Step]:
    """Steps ordered so each comes after what it needs; SpecError for duplicates, unknown needs
    or cycles."""
    by_id: dict[str, Step] = {}
    for step in steps:
        if step.id in by_id:
            raise SpecError(f"two steps share the id {step.id!r}", hint="give every step a unique id")
        by_id[step.id] = step
    for step in steps:
        for need in step.needs:
            if need not in by_id:
                raise SpecError(f"step {step.id!r} needs {need!r}, which is not in the graph")
    order: list[Step] = []
    state: dict[str, str] = {}

    def visit(step: Step, path: tuple[str, ...]) -> None:
        if state.get(step.id) == "done":
            return
        if state.get(step.id) == "visiting":
            raise SpecError(f"steps form a cycle: {' -> '.join(path + (step.id,))}")
        state[step.id] = "visiting"
        for need in step.needs:
            visit(by_id[need], path + (step.id,))
        state[step.id] = "done"
        order.append(step)

    for step in steps:
        visit(step, ())
    return order
