"""Jobs on a broker: the Celery app both sides use, the queue each kind of job goes to, and
`CeleryExecutor` — what `reelforge serve` runs jobs with when REELFORGE_BROKER_URL is set. It
enqueues instead of running: `reelforge worker` processes, on any number of machines, take the
jobs, and write their status and events to the shared database, which the service reads back.

Delivery (Celery's own guidance for idempotent tasks): a task is acknowledged only when it ends
(`acks_late`), and one whose worker dies is delivered again — to another worker, once the
Redis transport's visibility timeout passes. The job row's lease decides who runs it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from reelforge.logging import get_logger
from reelforge.runtime.context import RuntimeContext
from reelforge.service.executor import InProcessExecutor
from reelforge.service.fetch import GuardedDownloader
from reelforge.service.store import FINISHED, JobStore, StoredEvent, now
from reelforge.settings import Settings

log = get_logger(__name__)
TASK = "reelforge.run_job"
QUEUES = ("io", "render", "gpu")
# kind → queue: provider calls wait on the network (io); encodes want cores (render); the
# cut-out models want an accelerator where there is one (gpu). REELFORGE_QUEUES overrides.
DEFAULT_QUEUES = {"image": "io", "video": "io", "clip": "io", "extend": "io", "product-shots": "render",
                  "render": "render", "scenes": "render", "overlay": "render", "text": "render",
                  "music": "render", "cutout": "gpu"}


def queue_for(kind: str, settings: Settings) -> str:
    return settings.queues.get(kind) or DEFAULT_QUEUES.get(kind, "io")


def make_celery(settings: Settings) -> Any:
    """The Celery app for `settings.broker_url` (tasks are registered by `service/workers.py`)."""
    try:
        from celery import Celery
    except ImportError:
        from reelforge.errors import ReelforgeError

        raise ReelforgeError("workers need Celery and redis", hint="pip install 'reelforge[scale]'") from None
    app = Celery("reelforge", broker=settings.broker_url, set_as_current=False)
    visibility = settings.task_visibility_s
    app.conf.update(
        task_acks_late=True,  # acknowledged when the job ends, not when a worker takes it
        task_reject_on_worker_lost=True,  # a worker killed mid-job: the message goes back
        worker_prefetch_multiplier=1,  # a worker holds no more jobs than it runs
        task_ignore_result=True,  # status lives in the jobs table
        task_default_queue="io",
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # our logging (JSON when asked) stays in charge
        broker_transport_options={
            "visibility_timeout": visibility,
            "global_keyprefix": f"{settings.redis_prefix}:",
            # look for messages of dead workers often enough to honour a short visibility timeout
            "unacked_restore_interval": max(1, min(10, int(visibility / 4))),
            "unacked_restore_throttle": 1,
        },
    )
    return app


def cancel_key(settings: Settings, job_id: str) -> str:
    return f"{settings.redis_prefix}:cancel:{job_id}"


def redis_client(settings: Settings) -> Any:
    import redis

    url = settings.shared_redis
    if url is None:
        from reelforge.errors import ReelforgeError

        raise ReelforgeError("cancelling jobs on workers needs Redis",
                             hint="use a redis:// REELFORGE_BROKER_URL, or set REELFORGE_REDIS_URL")
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)


def enqueue_direct(settings: Settings, kind: str, spec: dict[str, Any], options: dict[str, Any],
                   base: Path) -> str:
    """Submit a job straight to the database and the broker, without a server (`reelforge jobs
    submit --direct`): validated as the API validates it; local files the spec names are put in
    the artifact store as uploads first. Returns the job id."""
    from reelforge.runtime.s3store import open_artifact_store
    from reelforge.service.errors import options_problem
    from reelforge.service.refs import check_references, references
    from reelforge.service.registry import get_kind
    from reelforge.service.schemas import media_type_of

    entry = get_kind(kind)
    store = JobStore(settings.database)
    try:
        artifacts = open_artifact_store(settings)
        for container, key, _where, value in references(spec, entry.path_fields):
            path = (base / value).expanduser()
            if not value.startswith(("upload:", "job:", "http://", "https://", "sample:")) and path.is_file():
                artifact = artifacts.put_file(path, media_type_of(path))
                container[key] = f"upload:{store.add_upload(path.name, artifact.media_type, artifact.size, artifact.digest).id}"
        check_references(spec, entry.path_fields, store, settings.data_dir)
        entry.parse(spec)
        chosen = options_problem(options)
        row = store.create(kind, spec, chosen.model_dump(exclude_defaults=True))
        store.add_events(row.id, [StoredEvent(1, "job.status", {"status": "queued"}, time.time())])
        make_celery(settings).send_task(TASK, args=[row.id], queue=queue_for(kind, settings))
        return row.id
    finally:
        store.engine.dispose()


class CeleryExecutor(InProcessExecutor):
    """The service's executor with workers elsewhere: submit enqueues, cancel reaches the worker
    through Redis, events are read back from the database."""

    POLL_S = 0.3

    def __init__(self, ctx: RuntimeContext, store: JobStore, *, downloader: GuardedDownloader) -> None:
        super().__init__(ctx, store, workers=1, downloader=downloader)
        self.settings = ctx.settings
        self.celery = make_celery(self.settings)
        self.redis = redis_client(self.settings)
        self._manifests: dict[str, list[dict[str, Any]]] = {}

    async def start(self) -> None:
        """Nothing runs here; jobs a dead worker left are taken over by the next delivery."""

    async def submit(self, job_id: str) -> None:
        row = await asyncio.to_thread(self.store.get, job_id)
        assert row is not None
        seq = await asyncio.to_thread(self.store.last_seq, job_id)
        await asyncio.to_thread(self.store.add_events, job_id,
                                [StoredEvent(seq + 1, "job.status", {"status": "queued"}, time.time())])
        await asyncio.to_thread(self.celery.send_task, TASK, args=[job_id], queue=queue_for(row.kind, self.settings))

    async def cancel(self, job_id: str) -> bool:
        # the flag first: a worker claiming the job this instant still sees it
        await asyncio.to_thread(self.redis.set, cancel_key(self.settings, job_id), "cancelled", ex=86400)
        if await asyncio.to_thread(self.store.cancel_queued, job_id):
            seq = await asyncio.to_thread(self.store.last_seq, job_id)
            await asyncio.to_thread(self.store.add_events, job_id, [
                StoredEvent(seq + 1, "job.finished", {"status": "cancelled"}, time.time())])
            return True
        row = await asyncio.to_thread(self.store.get, job_id)
        return row is not None and row.status == "running"

    async def resume(self, job_id: str) -> None:
        await asyncio.to_thread(self.redis.delete, cancel_key(self.settings, job_id))
        await asyncio.to_thread(self.store.update, job_id, status="queued", finished_at=None, error=None, hint=None)
        await self.submit(job_id)

    def subscribe(self, job_id: str) -> AsyncIterator[StoredEvent] | None:
        """The job's events as workers write them (polled from the database), to its end."""

        async def iterate() -> AsyncIterator[StoredEvent]:
            seen = 0
            while True:
                events = await asyncio.to_thread(self.store.events_after, job_id, seen)
                for event in events:
                    seen = event.seq
                    yield event
                    if event.type == "job.finished":
                        return
                if not events:
                    row = await asyncio.to_thread(self.store.get, job_id)
                    if row is None or (row.status in FINISHED and row.finished_at is not None
                                       and (now() - row.finished_at).total_seconds() > 5):
                        return  # finished without a final event (written by an older version)
                await asyncio.sleep(self.POLL_S)

        return iterate()

    def remote_outputs(self, job_id: str) -> list[dict[str, Any]] | None:
        """The outputs a worker stored in the S3 artifact store (None with a local store).
        A finished job's manifest never changes: it is read once."""
        get_manifest = getattr(self.ctx.store, "get_manifest", None)
        if get_manifest is None:
            return None
        if job_id not in self._manifests:
            found = get_manifest(f"jobs/{job_id}")
            if found is None:
                return None
            if len(self._manifests) > 10_000:
                self._manifests.clear()
            self._manifests[job_id] = found
        return self._manifests[job_id]

    def remote_url(self, job_id: str, name: str) -> str | None:
        """A presigned URL of one stored output, or None when there is no such output."""
        for entry in self.remote_outputs(job_id) or []:
            if entry["name"] == name:
                from reelforge.runtime.artifacts import Artifact

                url: str = self.ctx.store.presigned_url(Artifact.from_dict(entry["artifact"]),  # type: ignore[attr-defined]
                                                        self.settings.storage_url_expiry_s)
                return url
        return None

    def ping_broker(self) -> None:
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.redis.close)
