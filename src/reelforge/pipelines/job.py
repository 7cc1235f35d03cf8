"""One job model for every pipeline. A job is one pipeline run asked for by someone (CLI, Python,
HTTP, a worker): it is built from a validated spec, can say what it would do (`aplan`), and runs
with `await job.arun(ctx, events, cancel)` on a shared runtime context — so a server awaits it on
its own event loop and many jobs run at once on one context. Every job reports through one event
type (`runtime.Event`) and stops when its `CancelToken` is cancelled: the cancellation reaches the
provider calls in flight (their tasks are cancelled) and ffmpeg (the process is killed).

`run_job` / `plan_job` are the thin sync wrappers the CLI and Python users call: they build a
context from the settings, run the coroutine, and close the context."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from reelforge.errors import ReelforgeError
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event
from reelforge.settings import Settings

EventSink = Callable[[Event], None]
R = TypeVar("R")


class JobCancelled(ReelforgeError):
    """The job was cancelled (by the user, the service or a worker shutting down)."""

    exit_code = 130


class CancelToken:
    """Cancels a running job from anywhere — another task, another thread (a Celery revoke, a
    signal handler). While a job runs inside `scope()`, `cancel()` cancels that job's task on
    its own event loop."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._targets: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            self.reason = reason
            self._cancelled.set()
            targets = list(self._targets)
        for loop, task in targets:
            loop.call_soon_threadsafe(task.cancel)

    @contextlib.asynccontextmanager
    async def scope(self) -> AsyncIterator[None]:
        """Run the block as cancellable by this token; raise JobCancelled when it was."""
        task = asyncio.current_task()
        assert task is not None
        target = (asyncio.get_running_loop(), task)
        with self._lock:
            if self._cancelled.is_set():
                raise JobCancelled(f"the job was {self.reason}")
            self._targets.append(target)
        try:
            yield
        except asyncio.CancelledError:
            if self._cancelled.is_set():
                task.uncancel()
                raise JobCancelled(f"the job was {self.reason}",
                                   hint="run it again to continue: finished steps are cached") from None
            raise
        finally:
            with self._lock:
                self._targets.remove(target)


@runtime_checkable
class Job(Protocol[R]):  # type: ignore[misc]
    """What every pipeline's job offers. `kind` names it in the service's registry."""

    kind: ClassVar[str]

    async def aplan(self, ctx: RuntimeContext) -> Any: ...
    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> R: ...


@contextlib.contextmanager
def subscribed(ctx_bus: Any, sink: EventSink | None) -> Any:
    """Forward a bus's events to `sink` while the block runs."""
    unsubscribe = ctx_bus.subscribe(sink) if sink is not None else None
    try:
        yield
    finally:
        if unsubscribe is not None:
            unsubscribe()


def _context(settings: Settings | None) -> RuntimeContext:
    return RuntimeContext.from_settings(settings)


def run_job(job: Any, settings: Settings | None = None, *, on_event: EventSink | None = None,
            cancel: CancelToken | None = None, context: RuntimeContext | None = None) -> Any:
    """Run a job to the end from synchronous code (the CLI, a script)."""

    async def main() -> Any:
        ctx = context or _context(settings or getattr(job, "settings", None))
        try:
            return await job.arun(ctx, on_event, cancel)
        finally:
            if context is None:
                await ctx.aclose()

    return asyncio.run(main())


def plan_job(job: Any, settings: Settings | None = None, *, context: RuntimeContext | None = None) -> Any:
    """What a job would do, from synchronous code; calls no provider."""

    async def main() -> Any:
        ctx = context or RuntimeContext.from_settings(settings or getattr(job, "settings", None))
        try:
            return await job.aplan(ctx)
        finally:
            if context is None:
                await ctx.aclose()

    return asyncio.run(main())
