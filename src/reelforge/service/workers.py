"""`reelforge worker`: a Celery worker that runs the service's jobs.

One worker process holds one RuntimeContext (warm pools, provider adapters, gates whose limits
live in Redis so every worker shares them) and one event loop on a thread of its own; Celery's
thread pool hands each job to that loop, so `--concurrency N` jobs share the context as they do
in `reelforge serve`.

A job is *claimed* in the database before it runs: a conditional UPDATE that succeeds for a
queued job, or for a running one whose lease lapsed (its worker died) — then the job's events say
it was retried and its finished steps come from the cache. While it runs, the worker renews the
lease and watches Redis for a cancellation. A delivery that finds the job running under a live
lease (the Redis transport re-delivers a message whose job outlives the visibility timeout) is
put back with a delay instead: it runs only if that lease lapses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from reelforge.logging import get_logger
from reelforge.runtime.context import RuntimeContext
from reelforge.service.executor import Channel, InProcessExecutor, Progress
from reelforge.service.fetch import GuardedDownloader
from reelforge.service.files import list_artifacts
from reelforge.service.queue import QUEUES, TASK, cancel_key, make_celery, redis_client
from reelforge.service.schemas import media_type_of
from reelforge.service.store import FINISHED, JobStore
from reelforge.settings import Settings

log = get_logger(__name__)


class WorkerExecutor(InProcessExecutor):
    """Runs jobs handed over by Celery tasks, claiming each under a lease."""

    def __init__(self, ctx: RuntimeContext, store: JobStore, *, name: str, downloader: GuardedDownloader,
                 redis: Any) -> None:
        super().__init__(ctx, store, workers=1, downloader=downloader)
        self.name, self.redis = name, redis
        self.lease_s = ctx.settings.job_lease_s
        self._outcomes: dict[str, str] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._flusher(), name="job-event-flusher")]

    async def execute(self, job_id: str) -> str:
        """Run the job if this delivery may: 'done' (ran, or nothing to do) or 'busy' (another
        worker holds it under a live lease: deliver again later)."""
        seq = await asyncio.to_thread(self.store.last_seq, job_id)
        if job_id in self.channels:
            return "busy"
        self.channels[job_id] = Channel(job_id, seq)
        self._outcomes[job_id] = "done"
        try:
            await self._run(job_id)
        finally:
            self.channels.pop(job_id, None)  # left only when the job was not claimed
        return self._outcomes.pop(job_id, "done")

    async def _claim(self, row: Any) -> bool:
        if row.status in FINISHED:
            return False
        taken, before = await asyncio.to_thread(self.store.claim, row.id, self.name, self.lease_s)
        if not taken:
            now_row = await asyncio.to_thread(self.store.get, row.id)
            if now_row is not None and now_row.status == "running":
                self._outcomes[row.id] = "busy"
            return False
        assert before is not None
        if before.status == "running":
            log.warning("job taken over from a dead worker", job=row.id, previous=before.worker)
            self.channels[row.id].publish("job.retried", {
                "attempt": before.attempts + 1, "previous_worker": before.worker,
                "reason": "the worker running it stopped before it finished; finished steps come from the cache"})
        self._watchers[row.id] = asyncio.create_task(self._watch(row.id))
        return True

    async def _watch(self, job_id: str) -> None:
        """Renew the job's lease; pass a cancellation from the service on to the job."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(0.3)
            try:
                if await asyncio.to_thread(self.redis.get, cancel_key(self.ctx.settings, job_id)):
                    token = self.tokens.get(job_id)
                    if token is not None and not token.cancelled:
                        token.cancel("cancelled")
                if time.monotonic() - renewed >= self.lease_s / 3:
                    renewed = time.monotonic()
                    if not await asyncio.to_thread(self.store.renew_lease, job_id, self.name, self.lease_s):
                        log.warning("job lease lost: another worker took the job over", job=job_id)
            except Exception:  # a missed renewal only shortens the lease; the next one may work
                log.exception("job watcher failed", job=job_id)

    async def _finalize(self, job_id: str, status: str, error: str | None, hint: str | None,
                        progress: Progress) -> None:
        watcher = self._watchers.pop(job_id, None)
        if watcher is not None:
            watcher.cancel()
        if status == "succeeded" and hasattr(self.ctx.store, "put_manifest"):
            try:  # before the job says succeeded, so a service elsewhere can always serve them
                await asyncio.to_thread(self._store_outputs, job_id)
            except Exception as exc:
                log.exception("storing the job's outputs failed", job=job_id)
                status, error, hint = "failed", f"storing the outputs failed: {exc}", "check the S3 store, then resume"
        await super()._finalize(job_id, status, error, hint, progress)
        await asyncio.to_thread(self.store.update, job_id, lease_until=None)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.redis.delete, cancel_key(self.ctx.settings, job_id))


    def _store_outputs(self, job_id: str) -> None:
        """Put the job's output files in the artifact store, with a manifest by name."""
        out = self.workdir(job_id) / "out"
        entries = []
        for path in list_artifacts(out):
            media_type = media_type_of(path)
            artifact = self.ctx.store.put_file(path, media_type)
            entries.append({"name": path.relative_to(out).as_posix(), "size": artifact.size,
                            "media_type": media_type, "artifact": artifact.to_dict()})
        self.ctx.store.put_manifest(f"jobs/{job_id}", entries)  # type: ignore[attr-defined]


class WorkerRuntime:
    """The worker process's context, executor and event loop (on a thread of its own)."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="reelforge-loop", daemon=True)
        self._thread.start()
        self.ctx = RuntimeContext.from_settings(settings, keep_pools_warm=True)
        assert self.ctx.records is not None
        downloader = GuardedDownloader(max_bytes=int(settings.fetch_max_mb * 1024 * 1024),
                                       timeout_s=settings.fetch_timeout_s)
        self.executor = WorkerExecutor(self.ctx, JobStore(engine=self.ctx.records.engine), name=name,
                                       downloader=downloader, redis=redis_client(settings))
        self.call(self.executor.start())

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def execute(self, job_id: str) -> str:
        outcome: str = self.call(self.executor.execute(job_id))
        return outcome

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.executor.aclose())
            self.call(self.ctx.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def register_tasks(app: Any, runtime: WorkerRuntime) -> None:
    retry_after = max(1.0, runtime.ctx.settings.job_lease_s / 2)

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
    def run_job(self: Any, job_id: str) -> str:
        outcome = runtime.execute(job_id)
        if outcome == "busy":
            raise self.retry(countdown=retry_after)
        return outcome


class JsonLogFormatter(logging.Formatter):
    """Celery's own log lines as JSON objects, like reelforge's (REELFORGE_LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
                 "logger": record.name, "event": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_stdlib_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # Python warnings become log lines too (JSON when asked)


def worker_name() -> str:
    return f"reelforge-{os.getpid()}@{socket.gethostname()}"


def run_worker(settings: Settings, *, concurrency: int, queues: list[str]) -> None:
    """Start the worker and block until it stops (SIGTERM: finish running jobs, then exit)."""
    _configure_stdlib_logging(settings)
    name = worker_name()
    app = make_celery(settings)
    runtime = WorkerRuntime(settings, name)
    register_tasks(app, runtime)
    log.info("worker starting", worker=name, queues=queues, concurrency=concurrency)
    try:
        quiet = ["--quiet"] if settings.log_format == "json" else []  # no ASCII banner among JSON lines
        app.worker_main([*quiet, "worker", "--pool=threads", f"--concurrency={concurrency}", f"--queues={','.join(queues)}",
                         f"--hostname={name}", "--loglevel=INFO", "--without-mingle", "--without-gossip"])
    finally:
        runtime.close()


def ping_workers(settings: Settings, timeout_s: float = 3.0) -> list[str]:
    """Names of the workers that answer a Celery ping (the worker's health check)."""
    app = make_celery(settings)
    replies = app.control.ping(timeout=timeout_s) or []
    return sorted(name for reply in replies for name in reply)


__all__ = ["QUEUES", "WorkerExecutor", "WorkerRuntime", "ping_workers", "run_worker"]
