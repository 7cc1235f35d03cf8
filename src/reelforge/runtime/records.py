"""Run records in SQLite (or any SQLAlchemy database — PostgreSQL when workers run on several
machines): runs, their steps and every attempt, with state, cost, timings and errors, and the
handles of long-running operations. `RunRecorder` writes them from the event stream on a thread
of its own, so the event loop never waits for the database. The schema is managed by Alembic
(`runtime/migrations`); opening a store brings an older database up to date.

A running run holds a *lease*: its `lease_until` is pushed forward by a heartbeat. A run still
marked running whose lease has passed was killed, whichever machine ran it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
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
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
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


class StepLeaseRow(Base):
    """Who is computing a step key right now (`owner`: host:pid:token), until when."""

    __tablename__ = "step_leases"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime] = mapped_column()


class OperationRow(Base):
    """A long-running operation's handle, under the key of the step that submitted it."""

    __tablename__ = "operations"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str] = mapped_column(Text)  # JSON
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/done/failed
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


def open_database(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        sa_event.listen(engine, "connect", _sqlite_pragmas)
    with _first_use_lock(url):
        migrate(engine)
    return engine


@contextlib.contextmanager
def _first_use_lock(url: str) -> Iterator[None]:
    """Processes opening one SQLite file take turns for the first connection and the migration:
    60 `runs list` started at once on a fresh data folder raced to create the tables ("table
    runs already exists") and to switch the journal to WAL ("database is locked")."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    if not path or path == ":memory:":
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (the busy timeout still applies)
        yield
        return
    with open(f"{path}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


HEAD = "0006"
_MIGRATION_LOCK = 0x7265656C  # "reel": the advisory lock id of migrations on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. A database made before migrations existed (its
    tables but no alembic_version) is stamped as the first revision, then upgraded."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current == HEAD:
            return
        has_runs = sa_inspect(connection).has_table("runs")
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "reelforge.runtime:migrations")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # workers and the service starting at once on an empty database take turns: without
            # this they raced to create alembic_version ("duplicate key … pg_type_typname")
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            current = MigrationContext.configure(connection).get_current_revision()
            if current == HEAD:
                return
            has_runs = sa_inspect(connection).has_table("runs")
        config.attributes["connection"] = connection
        if current is None and has_runs:
            command.stamp(config, "0001")
        command.upgrade(config, "head")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets `runs list` read while a run writes; synchronous=NORMAL keeps commits cheap (a
    power cut may lose the last records, never corrupt them — the artifact store is what
    decides whether a step is done)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def step_lease_owner(token: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{token}"


def _owner_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


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
        """Runs left 'running' whose lease has passed were killed (on any machine); so were
        runs of this machine whose process is gone (known at once, without waiting out the
        lease)."""
        now, host = _now(), socket.gethostname()
        with self.session() as s:
            running = s.scalars(select(RunRow).where(RunRow.state == "running"))
            stale = [r for r in running if (r.lease_until is not None and r.lease_until < now)
                     or (r.host == host and not _pid_alive(r.pid))]
            for run in stale:
                run.state, run.error = "interrupted", "the process ended before the run finished"
            s.commit()
            return len(stale)

    def renew_lease(self, run_id: str, seconds: float) -> None:
        with self.session() as s:
            run = s.get(RunRow, run_id)
            if run is not None and run.state == "running":
                run.lease_until = _now() + dt.timedelta(seconds=seconds)
                s.commit()

    # --- step leases: one payer per step key ---------------------------------------------------

    def acquire_step_lease(self, key: str, owner: str, seconds: float) -> bool:
        """Take the lease on a step key for `seconds`; False while another owner holds it. A
        lease whose time has passed, or whose owner was a process of this machine that is gone
        (kill -9), is taken over."""
        now = _now()
        until = now + dt.timedelta(seconds=seconds)
        with self.session() as s:
            row = s.get(StepLeaseRow, key)
            if row is None:
                s.add(StepLeaseRow(key=key, owner=owner, lease_until=until))
                try:
                    s.commit()
                except IntegrityError:  # another process inserted it first
                    return False
                return True
            if row.owner != owner and row.lease_until >= now and not _owner_gone(row.owner):
                return False
            taken = s.execute(update(StepLeaseRow).where(StepLeaseRow.key == key, StepLeaseRow.owner == row.owner,
                                                         StepLeaseRow.lease_until == row.lease_until)
                              .values(owner=owner, lease_until=until))
            s.commit()
            return bool(getattr(taken, "rowcount", 0) == 1)

    def renew_step_lease(self, key: str, owner: str, seconds: float) -> None:
        with self.session() as s:
            s.execute(update(StepLeaseRow).where(StepLeaseRow.key == key, StepLeaseRow.owner == owner)
                      .values(lease_until=_now() + dt.timedelta(seconds=seconds)))
            s.commit()

    def release_step_lease(self, key: str, owner: str) -> None:
        with self.session() as s:
            s.execute(delete(StepLeaseRow).where(StepLeaseRow.key == key, StepLeaseRow.owner == owner))
            s.commit()

    # --- long-running operations (the OperationLog interface) -------------------------------

    def load_operation(self, key: str) -> tuple[dict[str, Any], str] | None:
        with self.session() as s:
            row = s.get(OperationRow, key)
            return None if row is None else (json.loads(row.handle), row.state)

    def save_operation(self, key: str, provider: str, kind: str, handle: dict[str, Any]) -> None:
        with self.session() as s:
            row = s.get(OperationRow, key) or OperationRow(key=key, provider=provider, kind=kind, handle="{}")
            row.handle, row.state, row.updated_at = json.dumps(handle, sort_keys=True), "pending", _now()
            s.add(row)
            s.commit()

    def finish_operation(self, key: str, state: str) -> None:
        with self.session() as s:
            row = s.get(OperationRow, key)
            if row is not None:
                row.state, row.updated_at = state, _now()
                s.commit()

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

    def __init__(self, store: RunStore, lease_s: float = 30.0) -> None:
        self.store = store
        self.lease_s = lease_s
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
                     budget_usd=d.get("budget_usd"), lease_until=_at(e) + dt.timedelta(seconds=self.lease_s)))

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
