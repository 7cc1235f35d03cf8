"""The run records and the service's job store on a real PostgreSQL (127.0.0.1:5432, database
`test`, trust auth — running on every development and CI machine here): migrations from an
empty database, a run with its steps and attempts, leases, long-running operations, jobs with
their events. Each test works in a database of its own, dropped afterwards. Skipped, saying why,
when no server answers (failed instead under REELFORGE_REQUIRE_SERVICES=1, as on CI)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.runtime import (
    ActionResult,
    LocalArtifactStore,
    Runner,
    RunStore,
    Step,
    StepContext,
    StepOutput,
)
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.pricing import Price, PricingTable
from reelforge.settings import Settings
from tests.scale.services import unavailable  # skips, or fails under REELFORGE_REQUIRE_SERVICES=1

ADMIN = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def database() -> Iterator[str]:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is missing: pip install 'psycopg[binary]' (in the dev extra)")
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL at {ADMIN} ({exc}); start one or set REELFORGE_TEST_POSTGRES")
    name = f"reelforge_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


class Echo:
    kind, version, capability = "test.echo", 1, "test"  # no registry: default limits

    async def run(self, ctx: StepContext) -> ActionResult:
        return ActionResult([StepOutput(ctx.step.id.encode(), "text/plain")])


def test_run_records_migrate_and_record_a_run_on_postgres(database: str, tmp_path: Path) -> None:
    records = RunStore(database)  # an empty database: Alembic builds every table
    ctx = RuntimeContext(settings=Settings(data_dir=tmp_path), store=LocalArtifactStore(tmp_path / "store"),
                         pricing=PricingTable("x", (Price("fake", "*", "image", 0.04),)), records=records)
    steps = [Step(f"s{i}", "test.echo", {"i": i}, provider="fake", model="m", billing=("image", 1)) for i in range(3)]
    report = asyncio.run(Runner(actions={"test.echo": Echo()}, context=ctx).run(steps))
    assert report.state == "succeeded", [o.error for o in report.failed]
    row, step_rows = records.get_run(report.run_id)  # type: ignore[misc]
    assert row.state == "succeeded" and row.cost_usd == pytest.approx(0.12) and len(step_rows) == 3
    assert records.calls_since("fake", dt.datetime(2000, 1, 1)) == 3  # what daily quotas count
    records.save_operation("k" * 64, "veo", "clip.generate", {"name": "operations/7"})
    assert records.load_operation("k" * 64) == ({"name": "operations/7"}, "pending")
    records.finish_operation("k" * 64, "done")
    assert records.load_operation("k" * 64) == ({"name": "operations/7"}, "done")
    version = records.engine.connect().exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    from reelforge.runtime.records import HEAD

    assert version == HEAD
    ctx.close_sync()


def test_a_lapsed_lease_marks_a_run_interrupted_on_postgres(database: str) -> None:
    from reelforge.runtime.records import RunRow

    records = RunStore(database)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with records.session() as s:
        s.add(RunRow(id="gone", host="worker-2", pid=1, lease_until=now - dt.timedelta(seconds=5)))
        s.add(RunRow(id="alive", host="worker-3", pid=1, lease_until=now + dt.timedelta(seconds=60)))
        s.commit()
    assert records.mark_interrupted() == 1
    assert {r.id: r.state for r in records.list_runs()} == {"gone": "interrupted", "alive": "running"}


def test_the_job_store_keeps_jobs_and_events_on_postgres(database: str) -> None:
    from reelforge.service.store import JobStore, StoredEvent

    jobs = JobStore(database)
    job = jobs.create("render", {"clips": []}, {"budget_usd": 1.0})
    jobs.update(job.id, status="running")
    jobs.add_events(job.id, [StoredEvent(n, "step.progress", {"fraction": n / 3}, 0.0) for n in (1, 2, 3)])
    assert [e.seq for e in jobs.events_after(job.id, 1)] == [2, 3]
    assert jobs.mark_interrupted() == [job.id]  # a server start finds it left running
    found = jobs.get(job.id)
    assert found is not None and found.status == "interrupted" and found.spec_dict == {"clips": []}
    listed, total = jobs.list(kind="render")
    assert total == 1 and listed[0].id == job.id


def test_processes_starting_together_on_a_new_database_migrate_it_once(database: str) -> None:
    """Six workers opening one empty database at the same moment: no "relation already exists",
    no duplicate-key error on alembic_version; every one ends up on the newest schema."""
    import subprocess
    import sys

    from reelforge.runtime.records import HEAD

    code = ("import sys; from reelforge.runtime.records import RunStore; RunStore(sys.argv[1]); "
            "print('ok')")
    children = [subprocess.Popen([sys.executable, "-c", code, database], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(6)]
    outcomes = [child.communicate(timeout=120) for child in children]
    assert all(child.returncode == 0 for child in children), [err[-800:] for _, err in outcomes]
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://")) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
