"""Long-running operations as a step shape: submit → the handle is recorded durably → poll with
backoff → fetch. A Veo clip costs dollars and takes minutes; a run killed while it renders must,
when rerun, poll the operation it already paid for instead of submitting (and paying) again.

The handle is filed under the step's cache key in an `OperationLog` — the run records' database
(SQLite, or PostgreSQL when workers run on several machines) — *before* the first poll, so only a
kill between the provider accepting the request and that write can lose it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reelforge.errors import ProviderError
from reelforge.runtime.step import ActionResult, StepContext

Handle = dict[str, Any]  # JSON-serialisable: what the provider needs to find the operation again


@dataclass(frozen=True)
class OperationStatus:
    done: bool
    progress: float | None = None  # 0..1 when the provider says
    error: ProviderError | None = None  # the operation ended without a result
    data: dict[str, Any] = field(default_factory=dict)  # whatever fetch needs from the last poll
    next_poll_s: float | None = None  # the action's own estimate of when to look again (else the backoff)


@runtime_checkable
class OperationAction(Protocol):
    """A step action whose provider call is a long-running operation."""

    kind: str
    version: int
    poll_interval_s: float  # first wait between polls; grows ×1.5 up to poll_max_interval_s
    poll_max_interval_s: float
    max_wait_s: float  # give up (the step fails; a rerun resumes polling) after this long

    async def submit(self, ctx: StepContext) -> Handle: ...
    async def poll(self, ctx: StepContext, handle: Handle) -> OperationStatus: ...
    async def fetch(self, ctx: StepContext, handle: Handle, status: OperationStatus) -> ActionResult: ...


class OperationLog(Protocol):
    """Where handles are kept across processes (blocking calls: used through a thread)."""

    def load_operation(self, key: str) -> tuple[Handle, str] | None: ...  # (handle, state)
    def save_operation(self, key: str, provider: str, kind: str, handle: Handle) -> None: ...
    def finish_operation(self, key: str, state: str) -> None: ...


class MemoryOperationLog:
    """Handles for a process without run records (lost with the process)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[Handle, str]] = {}

    def load_operation(self, key: str) -> tuple[Handle, str] | None:
        return self._rows.get(key)

    def save_operation(self, key: str, provider: str, kind: str, handle: Handle) -> None:
        self._rows[key] = (dict(handle), "pending")

    def finish_operation(self, key: str, state: str) -> None:
        if key in self._rows:
            self._rows[key] = (self._rows[key][0], state)


Call = Callable[[Callable[[], Awaitable[Any]], bool], Awaitable[Any]]  # (make_call, billable) → result


async def run_operation(action: OperationAction, ctx: StepContext, log: OperationLog, call: Call) -> ActionResult:
    """Submit (or resume) the step's operation, poll it to the end and fetch its result. `call`
    sends one request through the provider's gate with the runtime's retries."""
    handle = await _resume_or_submit(action, ctx, log, call)
    status = await _poll_until_done(action, ctx, handle, call)
    if status.error is not None:
        await asyncio.to_thread(log.finish_operation, ctx.key, "failed")
        raise status.error
    result: ActionResult = await call(lambda: action.fetch(ctx, handle, status), False)
    await asyncio.to_thread(log.finish_operation, ctx.key, "done")
    return result


async def _resume_or_submit(action: OperationAction, ctx: StepContext, log: OperationLog, call: Call) -> Handle:
    found = await asyncio.to_thread(log.load_operation, ctx.key)
    if found is not None and found[1] in ("pending", "done"):
        ctx.resumed = True
        ctx.progress(0.0, "resuming the operation submitted earlier")
        return found[0]
    handle: Handle = await call(lambda: action.submit(ctx), True)
    assert ctx.step.provider is not None
    await asyncio.to_thread(log.save_operation, ctx.key, ctx.step.provider, ctx.step.kind, handle)
    return handle


async def _poll_until_done(action: OperationAction, ctx: StepContext, handle: Handle, call: Call) -> OperationStatus:
    interval, started = action.poll_interval_s, time.monotonic()
    while True:
        status: OperationStatus = await call(lambda: action.poll(ctx, handle), False)
        if status.done:
            return status
        waited = time.monotonic() - started
        wait = interval if status.next_poll_s is None else max(0.0, status.next_poll_s)
        if waited + wait > action.max_wait_s:
            raise ProviderError(ctx.step.provider or "?", f"the operation did not finish within "
                                f"{action.max_wait_s:g} s", reason="timeout",
                                hint="rerun later: the run resumes polling the same operation, it is not "
                                     "submitted (or paid for) again")
        ctx.progress(status.progress if status.progress is not None else 0.0, "waiting for the operation")
        await asyncio.sleep(wait)
        interval = min(interval * 1.5, action.poll_max_interval_s)
