"""Jobs, their event log and uploads in the run-records database (tables made by migration
0003). Blocking calls: the service calls them on a thread so the event loop never waits."""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, Text, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from reelforge.runtime.records import open_database

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_id() -> str:
    return secrets.token_hex(8)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    spec: Mapped[str] = mapped_column(Text)
    options: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    hint: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(255), nullable=True)  # who runs it (workers)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    @property
    def spec_dict(self) -> dict[str, Any]:
        return dict(json.loads(self.spec))

    @property
    def options_dict(self) -> dict[str, Any]:
        return dict(json.loads(self.options))


class JobEventRow(Base):
    __tablename__ = "job_events"
    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)


class UploadRow(Base):
    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    type: str
    data: dict[str, Any]
    at: float

    def to_sse(self) -> str:
        return self._sse

    @functools.cached_property
    def _sse(self) -> str:  # written once, sent to every subscriber of the job
        return f"id: {self.seq}\nevent: {self.type}\ndata: {json.dumps(self.data, default=str)}\n\n"


class JobStore:
    """Blocking access to jobs, job events and uploads."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        assert url or engine
        self.engine = engine if engine is not None else open_database(str(url))

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- jobs ---------------------------------------------------------------------------------
    def create(self, kind: str, spec: dict[str, Any], options: dict[str, Any]) -> JobRow:
        row = JobRow(id=new_id(), kind=kind, status="queued", spec=json.dumps(spec, sort_keys=True),
                     options=json.dumps(options, sort_keys=True), progress=0.0, cost_usd=0.0, attempts=0,
                     created_at=now())
        with self.session() as s:
            s.add(row)
            s.commit()
        return row

    def get(self, job_id: str) -> JobRow | None:
        with self.session() as s:
            return s.get(JobRow, job_id)

    def list(self, *, status: str | None = None, kind: str | None = None, limit: int = 20,
             offset: int = 0) -> tuple[list[JobRow], int]:
        query = select(JobRow)
        if status:
            query = query.where(JobRow.status == status)
        if kind:
            query = query.where(JobRow.kind == kind)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset))
            return list(rows), total

    def update(self, job_id: str, **fields: Any) -> None:
        with self.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))
            s.commit()

    def claim(self, job_id: str, worker: str, lease_s: float) -> tuple[bool, JobRow | None]:
        """Take a job for `worker` (a Celery worker): it must be queued, or running under a
        lease that has passed (its worker died). One conditional UPDATE, so of two workers
        delivered the same job only one gets it. Returns (taken, the row as it was)."""
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                return False, None
            at = now()
            lapsed = (JobRow.status == "running") & (JobRow.lease_until < at)
            taken = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.attempts == row.attempts,
                                                   (JobRow.status == "queued") | lapsed)
                              .values(status="running", worker=worker, attempts=row.attempts + 1,
                                      lease_until=at + dt.timedelta(seconds=lease_s), started_at=at,
                                      finished_at=None, error=None, hint=None)
                              .execution_options(synchronize_session=False))  # `row` stays as it was
            s.commit()
            return getattr(taken, "rowcount", 0) == 1, row

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job no worker has taken yet (False when it has started or ended)."""
        with self.session() as s:
            done = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "queued")
                             .values(status="cancelled", finished_at=now(), error="cancelled before it started"))
            s.commit()
            return getattr(done, "rowcount", 0) == 1

    def renew_lease(self, job_id: str, worker: str, lease_s: float) -> bool:
        """Push the job's lease forward; False when another worker has taken it over."""
        with self.session() as s:
            renewed = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.worker == worker,
                                                     JobRow.status == "running")
                                .values(lease_until=now() + dt.timedelta(seconds=lease_s)))
            s.commit()
            return getattr(renewed, "rowcount", 0) == 1

    def update_progress(self, job_id: str, progress: float, stage: str | None, cost: float) -> None:
        """Progress of a running job (a finished job's row is left as it is)."""
        with self.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "running")
                      .values(progress=progress, stage=stage, cost_usd=cost))
            s.commit()

    def ids_with_status(self, status: str) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(JobRow.id).where(JobRow.status == status).order_by(JobRow.created_at)))

    def mark_interrupted(self) -> list[str]:
        """Jobs left running by a process that died: on the next start they are interrupted
        (resumable), never silently rerun."""
        ids = self.ids_with_status("running")
        with self.session() as s:
            s.execute(update(JobRow).where(JobRow.id.in_(ids)).values(
                status="interrupted", finished_at=now(), error="the server stopped while the job ran",
                hint="POST /v1/jobs/{id}/resume to continue: finished steps come from the cache"))
            s.commit()
        return ids

    # --- events -------------------------------------------------------------------------------
    def add_events(self, job_id: str, events: list[StoredEvent]) -> None:
        with self.session() as s:
            s.add_all(JobEventRow(job_id=job_id, seq=e.seq, type=e.type, data=json.dumps(e.data, default=str), at=e.at)
                      for e in events)
            s.commit()

    def events_after(self, job_id: str, seq: int) -> list[StoredEvent]:
        with self.session() as s:
            rows = s.scalars(select(JobEventRow).where(JobEventRow.job_id == job_id, JobEventRow.seq > seq)
                             .order_by(JobEventRow.seq))
            return [StoredEvent(r.seq, r.type, json.loads(r.data), r.at) for r in rows]

    def last_seq(self, job_id: str) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.max(JobEventRow.seq)).where(JobEventRow.job_id == job_id)) or 0)

    def delete_events(self, job_id: str) -> None:
        with self.session() as s:
            s.execute(delete(JobEventRow).where(JobEventRow.job_id == job_id))
            s.commit()

    # --- uploads ------------------------------------------------------------------------------
    def add_upload(self, filename: str, media_type: str, size: int, digest: str) -> UploadRow:
        row = UploadRow(id=new_id(), filename=filename[:255], media_type=media_type, size=size, digest=digest,
                        created_at=now())
        with self.session() as s:
            s.add(row)
            s.commit()
        return row

    def get_upload(self, upload_id: str) -> UploadRow | None:
        with self.session() as s:
            return s.get(UploadRow, upload_id)

    def ping(self) -> None:
        with self.engine.connect() as c:
            c.exec_driver_sql("SELECT 1")

