"""Running jobs. `JobExecutor` is what the routes talk to; `InProcessExecutor` runs jobs on the
server's own event loop, on one shared RuntimeContext, at most `workers` at once, the rest in
order of submission. With a broker configured, `service/workers.py` runs the same jobs in
Celery workers and `CeleryExecutor` enqueues them.

Every job's events get a sequence number, are kept in memory for live subscribers and written to
the `job_events` table in batches, so an SSE client can resume with Last-Event-ID — also after a
restart."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reelforge.errors import ReelforgeError
from reelforge.logging import get_logger
from reelforge.pipelines.job import CancelToken, JobCancelled
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event
from reelforge.service.fetch import GuardedDownloader
from reelforge.service.refs import jobs_folder, resolve_references
from reelforge.service.registry import JobOptions, get_kind
from reelforge.service.store import FINISHED, JobStore, StoredEvent, now

log = get_logger(__name__)
HISTORY = 5000  # events of one job kept in memory for subscribers that join late


class JobExecutor(Protocol):
    async def start(self) -> None: ...
    async def submit(self, job_id: str) -> None: ...
    async def cancel(self, job_id: str) -> bool: ...
    def subscribe(self, job_id: str) -> AsyncIterator[StoredEvent] | None: ...
    async def aclose(self) -> None: ...


@dataclass
class Progress:
    """A job's progress from its runtime events: steps done of steps known, the running
    stage, and the cost summed over its runs."""

    total: int = 0
    done: int = 0
    fraction: float = 0.0  # of the running single step (render progress)
    stage: str | None = None
    costs: dict[str, float] = field(default_factory=dict)

    def feed(self, event: Event) -> None:
        data = event.data
        if event.type == "run.started":
            self.total += int(data.get("steps", 0))
        elif event.type == "run.grew":
            self.total += len(data.get("added", []))
        elif event.type == "step.started":
            self.stage, self.fraction = str(data.get("label") or data.get("kind") or event.step), 0.0
        elif event.type == "step.progress":
            self.fraction = float(data.get("fraction", 0.0))
        elif event.type in ("step.finished", "step.cached", "step.failed", "step.skipped"):
            self.done, self.fraction = self.done + 1, 0.0
        elif event.type == "cost":
            self.costs[event.run_id] = float(data.get("total_usd", 0.0))

    @property
    def value(self) -> float:
        if not self.total:
            return 0.0
        return min(0.99, (self.done + self.fraction) / self.total)

    @property
    def cost(self) -> float:
        return round(sum(self.costs.values()), 6)


class Channel:
    """One job's events: numbered, remembered, fanned out, and queued for the database."""

    def __init__(self, job_id: str, seq: int) -> None:
        self.job_id, self.seq = job_id, seq
        self.history: deque[StoredEvent] = deque(maxlen=HISTORY)
        self.subscribers: set[asyncio.Queue[StoredEvent | None]] = set()
        self.pending: list[StoredEvent] = []
        self.closed = False
        self.status_seq = seq  # the last event that changed the job's row (status, finish)

    def publish(self, type_: str, data: dict[str, Any]) -> StoredEvent:
        self.seq += 1
        event = StoredEvent(self.seq, type_, data, time.time())
        self.history.append(event)
        self.pending.append(event)
        if type_ in ("job.status", "job.finished"):
            self.status_seq = self.seq
        for queue in self.subscribers:
            queue.put_nowait(event)
        return event

    def close(self) -> None:
        self.closed = True
        for queue in self.subscribers:
            queue.put_nowait(None)


class InProcessExecutor:
    def __init__(self, ctx: RuntimeContext, store: JobStore, *, workers: int,
                 downloader: GuardedDownloader) -> None:
        self.ctx, self.store, self.workers, self.downloader = ctx, store, max(1, workers), downloader
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, CancelToken] = {}
        self.progress: dict[str, Progress] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._flush_lock = asyncio.Lock()

    @property
    def data_dir(self) -> Path:
        return self.ctx.settings.data_dir

    def workdir(self, job_id: str) -> Path:
        return jobs_folder(self.data_dir) / job_id

    async def start(self) -> None:
        """Jobs a killed server left running are interrupted; queued ones queue again."""
        interrupted = await asyncio.to_thread(self.store.mark_interrupted)
        if interrupted:
            log.warning("jobs interrupted by the last shutdown", jobs=interrupted)
        for job_id in await asyncio.to_thread(self.store.ids_with_status, "queued"):
            await self.submit(job_id)
        self._tasks = [asyncio.create_task(self._worker(), name=f"job-worker-{i}") for i in range(self.workers)]
        self._tasks.append(asyncio.create_task(self._flusher(), name="job-event-flusher"))

    async def submit(self, job_id: str) -> None:
        if job_id not in self.channels:
            self.channels[job_id] = Channel(job_id, await asyncio.to_thread(self.store.last_seq, job_id))
        self.channels[job_id].publish("job.status", {"status": "queued"})
        await self.queue.put(job_id)

    async def cancel(self, job_id: str) -> bool:
        token = self.tokens.get(job_id)
        if token is not None:
            token.cancel("cancelled")
            return True
        row = await asyncio.to_thread(self.store.get, job_id)
        if row is None or row.status != "queued":
            return False
        await asyncio.to_thread(self.store.update, job_id, status="cancelled", finished_at=now(),
                                error="cancelled before it started")
        await self._finish_channel(job_id, "cancelled")
        return True

    def subscribe(self, job_id: str) -> AsyncIterator[StoredEvent] | None:
        """Live events of a job this process runs or queues (None: it has none — read the
        database). The history comes first, taken in the same step as the subscription."""
        channel = self.channels.get(job_id)
        if channel is None or channel.closed:
            return None
        queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        for event in channel.history:
            queue.put_nowait(event)
        channel.subscribers.add(queue)

        async def iterate() -> AsyncIterator[StoredEvent]:
            try:
                while (event := await queue.get()) is not None:
                    yield event
            finally:
                channel.subscribers.discard(queue)

        return iterate()

    def snapshot(self, job_id: str) -> Progress | None:
        return self.progress.get(job_id)

    def live_generation(self, job_id: str) -> int | None:
        """For a job this process queues or runs: a number that changes whenever its row does
        (status, finish), so an answer built for it may be reused until then. None otherwise."""
        channel = self.channels.get(job_id)
        if channel is None or channel.closed:
            return None
        return channel.status_seq

    async def aclose(self) -> None:
        """Stop: running jobs are cancelled and recorded as interrupted (resumable)."""
        for token in list(self.tokens.values()):
            token.cancel("stopped with the server")
        for _ in range(100):  # they stop within a progress tick
            if not self.tokens:
                break
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.flush()

    # --- running ------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            job_id = await self.queue.get()
            try:
                await self._run(job_id)
            except Exception:
                log.exception("job runner failed", job=job_id)

    async def _run(self, job_id: str) -> None:
        row = await asyncio.to_thread(self.store.get, job_id)
        if row is None or not await self._claim(row):
            return
        token = self.tokens[job_id] = CancelToken()
        progress = self.progress[job_id] = Progress()
        channel = self.channels[job_id]
        channel.publish("job.status", {"status": "running", "attempt": row.attempts + 1})

        def sink(event: Event) -> None:
            progress.feed(event)
            data = {**event.to_dict(), "job": {"progress": progress.value, "stage": progress.stage,
                                                "cost_usd": progress.cost}}
            channel.publish(event.type, data)

        status, error, hint = "succeeded", None, None
        try:
            job = await self._build(row.kind, row.spec_dict, row.options_dict, job_id)
            if token.cancelled:
                raise JobCancelled(f"the job was {token.reason}")
            await job.arun(self.ctx, sink, token)
        except JobCancelled as exc:
            status, error, hint = "cancelled", exc.message, exc.hint
            if token.reason == "stopped with the server":
                status = "interrupted"
        except ReelforgeError as exc:
            status, error, hint = "failed", exc.message, exc.hint
            if getattr(exc, "problems", None):
                error += " " + "; ".join(f"{p}: {m}" for p, _, m in exc.problems)
        except asyncio.CancelledError:
            status, error = "interrupted", "the server stopped while the job ran"
            raise
        except Exception as exc:
            log.exception("job failed", job=job_id)
            status, error, hint = "failed", f"internal error: {type(exc).__name__}: {exc}", "see the server log"
        finally:
            self.tokens.pop(job_id, None)
            await self._finalize(job_id, status, error, hint, progress)

    async def _claim(self, row: Any) -> bool:
        """Mark a queued job running (a Celery worker claims it under a lease instead)."""
        if row.status != "queued":
            return False
        await asyncio.to_thread(self.store.update, row.id, status="running", started_at=now(), finished_at=None,
                                error=None, hint=None, attempts=row.attempts + 1)
        return True

    async def _build(self, kind: str, spec: dict[str, Any], options: dict[str, Any], job_id: str) -> Any:
        entry = get_kind(kind)
        workdir = self.workdir(job_id)
        resolved = await resolve_references(spec, entry.path_fields, store=self.store, artifacts=self.ctx.store,
                                            data_dir=self.data_dir, inputs=workdir / "in",
                                            downloader=self.downloader)
        parsed = entry.parse(resolved)
        return entry.build(parsed, JobOptions.model_validate(options), self.ctx.settings, workdir)

    async def _finalize(self, job_id: str, status: str, error: str | None, hint: str | None,
                        progress: Progress) -> None:
        fields: dict[str, Any] = {"status": status, "finished_at": now(), "error": error, "hint": hint,
                                  "cost_usd": progress.cost, "stage": progress.stage}
        if status == "succeeded":
            fields["progress"] = 1.0
        await asyncio.to_thread(self.store.update, job_id, **fields)
        self.progress.pop(job_id, None)
        channel = self.channels.get(job_id)
        if channel is not None:
            channel.publish("job.finished", {"status": status, "error": error, "hint": hint,
                                             "job": {"progress": fields.get("progress", progress.value),
                                                     "stage": progress.stage, "cost_usd": progress.cost}})
        await self._finish_channel(job_id, None)

    async def _finish_channel(self, job_id: str, status: str | None) -> None:
        channel = self.channels.get(job_id)
        if channel is None:
            return
        if status is not None:
            channel.publish("job.finished", {"status": status})
        await self.flush()
        channel.close()
        self.channels.pop(job_id, None)

    async def resume(self, job_id: str) -> None:
        await asyncio.to_thread(self.store.update, job_id, status="queued", finished_at=None, error=None, hint=None)
        await self.submit(job_id)

    def remove_outputs(self, job_id: str) -> None:
        shutil.rmtree(self.workdir(job_id) / "out", ignore_errors=True)

    # --- persistence --------------------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self.flush()
            except Exception:
                log.exception("writing job events failed")

    async def flush(self) -> None:
        async with self._flush_lock:
            batches = {}
            for job_id, channel in list(self.channels.items()):
                if channel.pending:
                    batches[job_id], channel.pending = channel.pending, []
            updates = {job_id: p for job_id, p in self.progress.items()}
            if not batches and not updates:
                return
            await asyncio.to_thread(self._write, batches, {k: (p.value, p.stage, p.cost) for k, p in updates.items()})

    def _write(self, batches: dict[str, list[StoredEvent]], updates: dict[str, tuple[float, str | None, float]]) -> None:
        for job_id, events in batches.items():
            self.store.add_events(job_id, events)
        for job_id, (value, stage, cost) in updates.items():
            self.store.update_progress(job_id, value, stage, cost)


def is_finished(status: str) -> bool:
    return status in FINISHED
