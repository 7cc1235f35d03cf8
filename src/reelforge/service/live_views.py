"""Answers to `GET /v1/jobs/{id}` for jobs this process runs, kept for a moment.

A running job is what clients poll: a page, a script's `while status == running`, a hundred
dashboards. Without this each poll costs a thread hop, a database read, a walk of the output
folder and a pydantic round trip. With it, a poll of a running job is a dictionary lookup and a
write of ready bytes, and the work above happens at most once per `max_age_s` per job. The answer
is never older than that, and a change of status (running → finished) makes it stale at once,
because the executor's generation for the job changes before the new status is visible.

When a view goes stale under load, the polls that arrive while it is rebuilt wait for that one
rebuild instead of each starting their own (a hundred clients would otherwise pile a hundred
database reads onto the moment the answer expires)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class _View:
    generation: int
    body: bytes
    built_at: float


class LiveViews:
    def __init__(self, max_age_s: float = 0.25) -> None:
        self.max_age_s = max_age_s
        self._views: dict[str, _View] = {}
        self._building: dict[tuple[str, int], asyncio.Future[bytes]] = {}

    async def answer(self, job_id: str, generation: int | None, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The job's view: the kept one while fresh, else one rebuild shared by every caller."""
        body = self.get(job_id, generation)
        if body is not None:
            return body
        if generation is None:  # not live here: nothing to keep or share
            body = await build()
            self.put(job_id, generation, body)
            return body
        key = (job_id, generation)
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = self._building[key] = asyncio.get_running_loop().create_future()
        try:
            body = await build()
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._building[key]
        pending.set_result(body)
        self.put(job_id, generation, body)
        return body

    def get(self, job_id: str, generation: int | None) -> bytes | None:
        view = self._views.get(job_id)
        if view is None or generation is None:
            return None
        if view.generation != generation or time.monotonic() - view.built_at > self.max_age_s:
            return None
        return view.body

    def put(self, job_id: str, generation: int | None, body: bytes) -> None:
        if generation is None:  # not live here: finished jobs are read from the database
            self._views.pop(job_id, None)
            return
        self._views[job_id] = _View(generation, body, time.monotonic())
        if len(self._views) > 1024:  # jobs that finished leave their last view behind; drop the oldest
            for stale in sorted(self._views, key=lambda k: self._views[k].built_at)[:512]:
                del self._views[stale]
