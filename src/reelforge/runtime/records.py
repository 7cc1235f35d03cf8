"""Run records in SQLite (or any SQLAlchemy database): runs, their steps and every attempt, with
state, cost, timings and errors. `RunRecorder` writes them from the event stream on a thread of
its own, so the event loop never waits for the database."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import socket
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, create_engine, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from reelforge.runtime.events import Event


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="running")  # running/succeeded/failed/interrupted
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    budget_usd: Mapped[float | None] = mapped_column(Float, default=None)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON: calls, cached, retries, failed, …
    error: Mapped[str | None] = mapped_column(Text, default=None)
    steps: Mapped[list[StepRow]] = relationship(back_populates="run", order_by="StepRow.id")


class StepRow(Base):
    __tablename__ = "steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str | None] = mapped_column(String(64), default=None)
    model: Mapped[str | None] = mapped_column(String(255), default=None)
    key: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # running/cached/succeeded/failed/skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    seconds: Mapped[float | None] = mapped_column(Float, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    artifacts: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of digests
    run: Mapped[RunRow] = relationship(back_populates="steps")


class AttemptRow(Base):
    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)
    seconds: Mapped[float | None] = mapped_column(Float, default=None)
    outcome: Mapped[str] = mapped_column(String(16))  # ok / retry / failed
    error: Mapped[str | None] = mapped_column(Text, default=None)


def open_database(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        sa_event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets `runs list` read while a run writes; synchronous=NORMAL keeps commits cheap (a
    power cut may lose the last records, never corrupt them — the artifact store is what
    decides whether a step is done)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Blocking access to the run records (call from a thread, or from the CLI)."""

    def __init__(self, url: str) -> None:
        self.engine = open_database(url)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process on this host that no longer exists were killed."""
        host = socket.gethostname()
        with self.session() as s:
            stale = [r for r in s.scalars(select(RunRow).where(RunRow.state == "running", RunRow.host == host))
                     if not _pid_alive(r.pid)]
            for run in stale:
                run.state, run.error = "interrupted", "the process ended before the run finished"
            s.commit()
            return len(stale)

    def calls_since(self, provider: str, since: dt.datetime) -> int:
        with self.session() as s:
            query = select(func.count()).select_from(AttemptRow).where(
                AttemptRow.provider == provider, AttemptRow.at >= since)
            return int(s.scalar(query) or 0)

    def list_runs(self, limit: int = 20) -> list[RunRow]:
        with self.session() as s:
            return list(s.scalars(select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)))

    def get_run(self, run_id: str) -> tuple[RunRow, list[StepRow]] | None:
        """A run by id or unique id prefix, with its steps."""
        with self.session() as s:
            rows = list(s.scalars(select(RunRow).where(RunRow.id.startswith(run_id)).limit(2)))
            if len(rows) != 1:
                return None
            return rows[0], list(rows[0].steps)


class RunRecorder:
    """Subscribes to a run's events and writes them, in order, on one worker thread; events that
    queue up while a write is under way go into the next transaction together."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._step_rows: dict[str, int] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="reelforge-records", daemon=True)
        self._thread.start()

    def __call__(self, event: Event) -> None:
        self._queue.put(event)

    def flush(self) -> None:
        """Wait until every event so far is written (re-raising a database error)."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                self._write([e for e in batch if e is not None])
            except Exception as exc:  # reported by flush(); the run itself goes on
                self._error = exc
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _write(self, events: list[Event]) -> None:
        with self.store.session() as s:
            for event in events:
                handler = getattr(self, "_on_" + event.type.replace(".", "_"), None)
                if handler is not None:
                    handler(s, event, event.data)
                    s.flush()
            s.commit()

    def _on_run_started(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        s.add(RunRow(id=e.run_id, title=d.get("title", ""), host=socket.gethostname(), pid=os.getpid(),
                     budget_usd=d.get("budget_usd")))

    def _step(self, s: Session, e: Event) -> StepRow:
        assert e.step is not None
        row_id = self._step_rows.get(e.step)
        row = s.get(StepRow, row_id) if row_id is not None else None
        if row is None:
            row = StepRow(run_id=e.run_id, step_id=e.step, kind=e.data.get("kind", ""))
            s.add(row)
            s.flush()
            self._step_rows[e.step] = row.id
        return row

    def _on_step_started(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.kind, row.label, row.provider, row.model = d["kind"], d.get("label", ""), d.get("provider"), d.get("model")
        row.key, row.state, row.started_at = d.get("key"), "running", _at(e)

    def _on_step_retried(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.attempts = d["attempt"]
        s.add(AttemptRow(run_id=e.run_id, step_id=e.step, provider=d.get("provider"), number=d["attempt"],
                         at=_at(e), seconds=d.get("seconds"), outcome="retry", error=d.get("error")))

    def _on_step_cached(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.kind, row.label, row.provider, row.model = d["kind"], d.get("label", ""), d.get("provider"), d.get("model")
        row.key, row.state, row.finished_at = d.get("key"), "cached", _at(e)
        row.artifacts = json.dumps(d.get("artifacts", []))

    def _on_step_finished(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.state, row.finished_at, row.seconds = "succeeded", _at(e), d.get("seconds")
        row.attempts, row.cost_usd = d.get("attempts", row.attempts), d.get("cost_usd", 0.0)
        row.artifacts = json.dumps(d.get("artifacts", []))
        if d.get("provider"):
            s.add(AttemptRow(run_id=e.run_id, step_id=e.step, provider=d["provider"], number=row.attempts,
                             at=_at(e), seconds=d.get("call_seconds"), outcome="ok"))

    def _on_step_failed(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.state, row.finished_at, row.error = "failed", _at(e), d.get("error")
        row.attempts, row.seconds = d.get("attempts", row.attempts), d.get("seconds")
        if d.get("provider") and d.get("attempts"):
            s.add(AttemptRow(run_id=e.run_id, step_id=e.step, provider=d["provider"], number=row.attempts,
                             at=_at(e), outcome="failed", error=d.get("error")))

    def _on_step_skipped(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        row = self._step(s, e)
        row.kind, row.label = d.get("kind", row.kind), d.get("label", row.label)
        row.state, row.error = "skipped", d.get("reason")

    def _on_run_finished(self, s: Session, e: Event, d: dict[str, Any]) -> None:
        run = s.get(RunRow, e.run_id)
        if run is None:
            return
        run.state, run.finished_at, run.cost_usd = d["state"], _at(e), d["summary"]["cost_usd"]
        run.summary, run.error = json.dumps(d["summary"]), d.get("error")


def _at(e: Event) -> dt.datetime:
    return dt.datetime.fromtimestamp(e.at, dt.UTC).replace(tzinfo=None)
