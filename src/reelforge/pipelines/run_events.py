"""Runtime events for jobs that run ffmpeg rather than runtime steps (render, overlay, local
text): one run id, `run.started` → `step.*` → `run.finished`, in the same shape the Runner
emits — so the CLI, the service's SSE and a test read every pipeline the same way."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from reelforge.errors import ReelforgeError
from reelforge.pipelines.job import CancelToken, EventSink, JobCancelled
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event, EventBus, EventType
from reelforge.settings import Settings

R = TypeVar("R")


class RunEvents:
    """Emits one run's events to the job's sink (a broken sink never breaks the run) and to
    the context's bus."""

    def __init__(self, ctx: RuntimeContext, sink: EventSink | None) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        self.ctx = ctx
        self.bus = EventBus()
        if sink is not None:
            self.bus.subscribe(sink)
        self.started_at = time.monotonic()

    def emit(self, type_: EventType, step: str | None = None, **data: Any) -> None:
        event = Event(type_, self.run_id, step, data)
        self.bus.emit(event)
        self.ctx.bus.emit(event)

    @property
    def seconds(self) -> float:
        return round(time.monotonic() - self.started_at, 3)

    @contextlib.asynccontextmanager
    async def run(self, cancel: CancelToken | None, summary: dict[str, Any], **started: Any) -> AsyncIterator[None]:
        """`run.started`, then the block under the token's scope, then `run.finished` with
        `summary` (filled in by the block) and the state: succeeded, failed or cancelled."""
        self.emit("run.started", **started)
        state, error = "succeeded", None
        try:
            async with (cancel or CancelToken()).scope():
                yield
        except JobCancelled as exc:
            state, error = "cancelled", str(exc)
            raise
        except asyncio.CancelledError:  # the awaiting task itself was cancelled (Ctrl-C, a shutdown)
            state, error = "cancelled", "the job was cancelled"
            raise
        except (ReelforgeError, OSError) as exc:
            state, error = "failed", str(exc)
            raise
        except BaseException as exc:
            state, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.emit("run.finished", state=state, summary={**summary, "seconds": self.seconds}, error=error)


def run_light(make: Callable[[RuntimeContext], Coroutine[Any, Any, R]], settings: Settings | None, *,
              records: bool = False) -> R:
    """Run a job's coroutine from synchronous code on a context without run records (a render
    or an overlay batch calls no provider; nothing to record, no database to open) — with them
    when it does (a render that generates clips)."""
    from reelforge.render.api import run_coroutine_sync

    async def main() -> R:
        async with RuntimeContext.from_settings(settings, records=records) as ctx:
            return await make(ctx)

    return run_coroutine_sync(main)
