"""The runtime context and what the foundations added to the runner: concurrent runs on one
context, several providers per run under their own limits, runs that grow while they run,
back-pressure instead of breakage on 429, fail-fast billing errors, long-running operations that
resume after kill -9, file artifacts, heartbeat leases and migrations of the run records."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from reelforge.errors import ProviderError
from reelforge.runtime import (
    ActionResult,
    Event,
    Limits,
    LocalArtifactStore,
    Runner,
    RunOptions,
    RunStore,
    Step,
    StepContext,
    StepOutput,
)
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.operations import OperationStatus
from reelforge.runtime.pricing import Price, PricingTable
from reelforge.runtime.records import HEAD
from reelforge.settings import Settings

PRICING = PricingTable("2025-10-01", (Price("fake", "*", "image", 0.04), Price("veo", "*", "second", 0.5)))


def make_context(tmp_path: Path, **settings: Any) -> RuntimeContext:
    s = Settings(data_dir=tmp_path / "data", **settings)
    return RuntimeContext(settings=s, store=LocalArtifactStore(tmp_path / "store"), pricing=PRICING,
                          records=RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}"))


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


class Sleeper:
    """CPU-pool work that takes `params["s"]` seconds."""

    kind = "test.sleep"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        pid = await ctx.run_cpu(nap, ctx.params["s"])
        return ActionResult([StepOutput(f"{ctx.step.id}:{pid}".encode(), "text/plain")])


def test_two_runs_at_once_on_one_runner_neither_disturbs_the_other(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    runner = Runner(actions={"test.sleep": Sleeper(), "test.count": Counting(delay=0.05)}, context=ctx)
    long_steps = [Step(f"long{i}", "test.sleep", {"s": 0.4, "i": i}) for i in range(8)]

    async def both() -> tuple[Any, Any, bool]:
        long_run = asyncio.ensure_future(runner.run(long_steps))
        await asyncio.sleep(0.3)  # the long run's workers are busy, more of its steps queued
        short = await runner.run([Step("short", "test.count", {})])
        long_still_running = not long_run.done()
        return short, await long_run, long_still_running

    try:
        short, long, long_still_running = asyncio.run(both())
    finally:
        ctx.close_sync()
    assert short.state == "succeeded"
    assert long_still_running  # the short run returned without waiting for the other run's work
    assert long.state == "succeeded" and long.summary["succeeded"] == 8  # and cancelled none of it


def test_pools_outlive_runs_and_close_with_the_context(tmp_path: Path) -> None:
    ctx = RuntimeContext.from_settings(Settings(data_dir=tmp_path), keep_pools_warm=True)
    runner = Runner(actions={"test.sleep": Sleeper()}, context=ctx)

    async def twice() -> tuple[str, str]:
        a = await runner.run([Step("a", "test.sleep", {"s": 0.0})])
        b = await runner.run([Step("b", "test.sleep", {"s": 0.0})])
        read = lambda r, sid: ctx.store.read_bytes(r.outcomes[sid].result.artifacts[0]).decode()  # noqa: E731
        return read(a, "a").split(":")[1], read(b, "b").split(":")[1]

    first_pid, second_pid = asyncio.run(twice())
    assert ctx.pools.worker_count() >= 1
    # a warm context reuses its workers: the second run's pid is one of the pool's processes
    assert int(second_pid) in {int(first_pid)} | set(_pool_pids(ctx))
    asyncio.run(ctx.aclose())
    assert ctx.pools.worker_count() == 0
    assert not _alive(int(first_pid))


def _pool_pids(ctx: RuntimeContext) -> list[int]:
    return [p for pool in ctx.pools._pools.values() for p in (getattr(pool, "_processes", None) or {})]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Counting:
    """Tracks in-flight calls per provider; optionally hangs for `hang_s`."""

    kind = "test.count"
    version = 1
    capability = "cutout"

    def __init__(self, hang_s: float = 0.0, delay: float = 0.1) -> None:
        self.hang_s, self.delay = hang_s, delay
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    async def run(self, ctx: StepContext) -> ActionResult:
        name = ctx.step.provider or ""
        self.in_flight[name] = self.in_flight.get(name, 0) + 1
        self.peak[name] = max(self.peak.get(name, 0), self.in_flight[name])
        try:
            await asyncio.sleep(self.hang_s or self.delay)
            return ActionResult([StepOutput(ctx.step.id.encode(), "text/plain")])
        finally:
            self.in_flight[name] -= 1


def test_one_run_calls_several_providers_each_under_its_own_limits(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, limits={"slowapi": {"max_concurrency": 1}, "fastapi": {"max_concurrency": 3}})
    action = Counting()
    action.capability = "test"  # made-up providers: a capability without a registry (cutout has one now)
    graph = [Step(f"{p}{i}", "test.count", {"i": i}, provider=p) for p in ("slowapi", "fastapi") for i in range(6)]
    report = asyncio.run(Runner(actions={action.kind: action}, context=ctx).run(graph))
    assert report.state == "succeeded"
    assert action.peak == {"slowapi": 1, "fastapi": 3}


def test_reelforge_limits_apply_to_a_provider_of_any_capability(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, limits={"removebg": {"timeout_s": 0.2, "max_attempts": 1}})
    action = Counting(hang_s=30)
    started = time.monotonic()
    report = asyncio.run(Runner(actions={action.kind: action}, context=ctx).run(
        [Step("cut", "test.count", {}, provider="removebg")]))
    assert time.monotonic() - started < 5
    assert "no answer within 0.2 s" in (report.outcomes["cut"].error or "")


def test_a_run_grows_from_what_its_first_step_decided(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    events: list[Event] = []
    action = Counting(delay=0.01)
    runner = Runner(actions={action.kind: action}, context=ctx)
    runner.bus.subscribe(events.append)

    async def story() -> Any:
        async with runner.start(RunOptions(title="story"), [Step("script", "test.count", {})]) as run:
            outcome = await run.result("script")
            assert outcome.state == "succeeded"
            await run.add([Step(f"seg{i}", "test.count", {"i": i}, needs=("script",)) for i in range(3)])
            await run.add([Step("merge", "test.count", {}, needs=("seg0", "seg1", "seg2"))])
        return run.report

    report = asyncio.run(story())
    assert report.state == "succeeded" and set(report.outcomes) == {"script", "seg0", "seg1", "seg2", "merge"}
    grew = [e for e in events if e.type == "run.grew"]
    assert [e.data["steps"] for e in grew] == [4, 5]
    assert events[-1].type == "run.finished" and events[-1].data["summary"]["succeeded"] == 5


def test_adding_a_step_with_an_unknown_need_is_refused(tmp_path: Path) -> None:
    from reelforge.errors import SpecError

    runner = Runner(actions={"test.count": Counting()}, context=make_context(tmp_path))

    async def bad() -> None:
        async with runner.start() as run:
            await run.add([Step("x", "test.count", {}, needs=("nowhere",))])

    with pytest.raises(SpecError, match="needs 'nowhere'"):
        asyncio.run(bad())


class RateLimitedService:
    """A provider that answers 429 (Retry-After 0.2 s) to the first `n` requests, then works;
    counts what it was paid for per prompt."""

    kind = "test.paid"
    version = 1

    def __init__(self, n: int, error: ProviderError | None = None) -> None:
        self.left, self.error = n, error
        self.paid: dict[str, int] = {}
        self.requests = 0

    async def run(self, ctx: StepContext) -> ActionResult:
        self.requests += 1
        await asyncio.sleep(0.02)
        if self.left > 0:
            self.left -= 1
            raise self.error or ProviderError("fake", "rate limited (429)", status=429, retryable=True,
                                              retry_after=0.2)
        prompt = ctx.params["prompt"]
        self.paid[prompt] = self.paid.get(prompt, 0) + 1
        return ActionResult([StepOutput(prompt.encode(), "text/plain")])


def test_a_burst_of_429s_slows_the_provider_down_and_never_opens_the_breaker(tmp_path: Path) -> None:
    service = RateLimitedService(n=10)
    limits = Limits(max_concurrency=8, max_attempts=3, breaker_threshold=2, backoff_initial_s=0.01,
                    backoff_max_s=0.05, timeout_s=5)
    runner = Runner(actions={service.kind: service}, context=make_context(tmp_path), limits={"fake": limits})
    events: list[Event] = []
    runner.bus.subscribe(events.append)
    graph = [Step(f"s{i}", "test.paid", {"prompt": f"p{i}"}, provider="fake", model="m", billing=("image", 1))
             for i in range(8)]
    report = asyncio.run(runner.run(graph))
    assert report.state == "succeeded", [o.error for o in report.failed]
    assert service.paid == {f"p{i}": 1 for i in range(8)}  # every image, each prompt paid once
    assert report.summary["cost_usd"] == pytest.approx(8 * 0.04)
    retried = [e for e in events if e.type == "step.retried"]
    assert retried and all(e.data["reason"] == "rate_limited" and e.data["wait_s"] >= 0.2 for e in retried)


def test_an_exhausted_quota_fails_every_step_of_that_provider_at_once(tmp_path: Path) -> None:
    quota = ProviderError("fake", "insufficient_quota (429): You exceeded your current quota", status=429,
                          reason="quota_exhausted", hint="check your plan and billing details")
    service = RateLimitedService(n=1, error=quota)
    limits = Limits(max_concurrency=1, max_attempts=5, backoff_initial_s=0.01)
    runner = Runner(actions={service.kind: service}, context=make_context(tmp_path), limits={"fake": limits})
    graph = [Step(f"s{i}", "test.paid", {"prompt": f"p{i}"}, provider="fake") for i in range(4)]
    report = asyncio.run(runner.run(graph))
    assert service.requests == 1  # not retried, and no other step called the provider
    assert all("exceeded your current quota" in (o.error or "") for o in report.outcomes.values())
    assert all("billing" in str(o.exception) for o in report.outcomes.values())


def test_a_file_output_is_streamed_into_the_store(tmp_path: Path) -> None:
    class WritesVideo:
        kind = "test.file"
        version = 1

        async def run(self, ctx: StepContext) -> ActionResult:
            assert ctx.scratch is not None
            path = ctx.scratch / "clip.mp4"
            path.write_bytes(os.urandom(3 << 20))
            WritesVideo.digest = hashlib.sha256(path.read_bytes()).hexdigest()
            WritesVideo.scratch = ctx.scratch
            return ActionResult([StepOutput.file(path, "video/mp4", {"seconds": 8})])

    ctx = make_context(tmp_path)
    report = asyncio.run(Runner(actions={"test.file": WritesVideo()}, context=ctx).run([Step("v", "test.file")]))
    artifact = report.outcomes["v"].result.artifacts[0]  # type: ignore[union-attr]
    assert artifact.digest == WritesVideo.digest and artifact.size == 3 << 20
    assert artifact.meta == {"seconds": 8} and ctx.store.has(artifact)
    assert not WritesVideo.scratch.exists()  # the step's scratch folder is removed


# --- long-running operations ---------------------------------------------------------------------

OPERATION_SCRIPT = textwrap.dedent('''
    import asyncio, json, sys, time
    from pathlib import Path
    from reelforge.runtime import ActionResult, LocalArtifactStore, Runner, RunStore, Step, StepOutput
    from reelforge.runtime.context import RuntimeContext
    from reelforge.runtime.operations import OperationStatus
    from reelforge.runtime.pricing import Price, PricingTable
    from reelforge.settings import Settings

    root = Path(sys.argv[1])
    service = root / "service"  # the "provider": one file per submitted operation
    service.mkdir(exist_ok=True)

    class Render:
        kind, version, capability = "test.render", 1, "video"
        poll_interval_s, poll_max_interval_s, max_wait_s = 0.05, 0.1, 60

        async def submit(self, ctx):
            n = len(list(service.iterdir()))
            (service / f"op{n}").write_text(str(time.time()))
            (root / "log").open("a").write("submit\\n")
            return {"name": f"operations/op{n}"}

        async def poll(self, ctx, handle):
            (root / "log").open("a").write("poll\\n")
            started = float((service / handle["name"].split("/")[1]).read_text())
            return OperationStatus(done=time.time() - started > float(sys.argv[2]))

        async def fetch(self, ctx, handle, status):
            return ActionResult([StepOutput(handle["name"].encode(), "video/mp4")], billed=8)

    ctx = RuntimeContext(settings=Settings(data_dir=root), store=LocalArtifactStore(root / "store"),
                         pricing=PricingTable("x", (Price("veo", "*", "second", 0.5),)),
                         records=RunStore(f"sqlite:///{root / 'runs.sqlite'}"))
    runner = Runner(actions={"test.render": Render()}, context=ctx)
    report = asyncio.run(runner.run([Step("clip", "test.render", {"prompt": "a fox"}, provider="veo", model="v",
                                          billing=("second", 8))]))
    print(json.dumps({"state": report.state, "cost": report.summary["cost_usd"],
                      "out": ctx.store.read_bytes(report.outcomes["clip"].result.artifacts[0]).decode()}))
''')


def test_a_killed_run_resumes_polling_the_operation_it_paid_for(tmp_path: Path) -> None:
    script = tmp_path / "op.py"
    script.write_text(OPERATION_SCRIPT)
    log = tmp_path / "log"
    first = subprocess.Popen([sys.executable, str(script), str(tmp_path), "3.0"],
                             stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while "poll" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-operation: submitted and recorded, not finished
    first.wait()
    second = subprocess.run([sys.executable, str(script), str(tmp_path), "1.0"], capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    import json

    result = json.loads(second.stdout.strip().splitlines()[-1])
    assert result == {"state": "succeeded", "cost": 4.0, "out": "operations/op0"}
    calls = log.read_text().split()
    assert calls.count("submit") == 1  # the rerun polled the recorded operation, never resubmitted
    assert len(list((tmp_path / "service").iterdir())) == 1


class FailingOperation:
    kind, version, capability = "test.op", 1, "video"
    poll_interval_s, poll_max_interval_s, max_wait_s = 0.01, 0.02, 5

    def __init__(self) -> None:
        self.submits = 0

    async def submit(self, ctx: StepContext) -> dict[str, Any]:
        self.submits += 1
        return {"name": f"op{self.submits}"}

    async def poll(self, ctx: StepContext, handle: dict[str, Any]) -> OperationStatus:
        if handle["name"] == "op1":
            return OperationStatus(True, error=ProviderError("veo", "filtered by responsible-AI checks",
                                                             reason="blocked"))
        return OperationStatus(True)

    async def fetch(self, ctx: StepContext, handle: dict[str, Any], status: OperationStatus) -> ActionResult:
        return ActionResult([StepOutput(handle["name"].encode(), "video/mp4")])


def test_a_failed_operation_is_submitted_again_only_when_rerun(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    action = FailingOperation()
    runner = Runner(actions={action.kind: action}, context=ctx)
    graph = [Step("clip", "test.op", {"prompt": "x"}, provider="veo")]
    first = asyncio.run(runner.run(graph))
    assert first.state == "failed" and "responsible-AI" in (first.outcomes["clip"].error or "")
    assert action.submits == 1  # a blocked result is not retried within the run
    second = asyncio.run(runner.run(graph))
    assert second.state == "succeeded" and action.submits == 2


# --- records: leases and migrations --------------------------------------------------------------

def test_liveness_is_a_lease_not_a_pid(tmp_path: Path) -> None:
    from reelforge.runtime.records import RunRow

    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.session() as s:
        # a run on another machine, lease still valid: alive, whatever its pid means here
        s.add(RunRow(id="live", host="worker-7", pid=999999, lease_until=now + dt.timedelta(seconds=30)))
        # our own pid (alive!) but the lease ran out: the process stopped heartbeating, it is dead
        s.add(RunRow(id="stale", host="worker-7", pid=os.getpid(), lease_until=now - dt.timedelta(seconds=1)))
        s.commit()
    assert store.mark_interrupted() == 1
    states = {r.id: r.state for r in store.list_runs()}
    assert states == {"live": "running", "stale": "interrupted"}
    store.renew_lease("live", 60)
    row, _ = store.get_run("live")  # type: ignore[misc]
    assert row.lease_until is not None and row.lease_until > now + dt.timedelta(seconds=50)


def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY, title TEXT NOT NULL, state VARCHAR(16) NOT NULL,
            created_at DATETIME NOT NULL, finished_at DATETIME, host VARCHAR(255) NOT NULL, pid INTEGER NOT NULL,
            budget_usd FLOAT, cost_usd FLOAT NOT NULL, summary TEXT NOT NULL, error TEXT);
        CREATE TABLE steps (id INTEGER PRIMARY KEY, run_id VARCHAR(32) NOT NULL, step_id VARCHAR(255) NOT NULL,
            kind VARCHAR(64) NOT NULL, label TEXT NOT NULL, provider VARCHAR(64), model VARCHAR(255), key VARCHAR(64),
            state VARCHAR(16) NOT NULL, attempts INTEGER NOT NULL, cost_usd FLOAT NOT NULL, started_at DATETIME,
            finished_at DATETIME, seconds FLOAT, error TEXT, artifacts TEXT NOT NULL);
        CREATE TABLE attempts (id INTEGER PRIMARY KEY, run_id VARCHAR(32) NOT NULL, step_id VARCHAR(255) NOT NULL,
            provider VARCHAR(64), number INTEGER NOT NULL, at DATETIME NOT NULL, seconds FLOAT,
            outcome VARCHAR(16) NOT NULL, error TEXT);
        INSERT INTO runs VALUES ('old1', 'an old run', 'succeeded', '2026-01-01 10:00:00', NULL, 'h', 1, NULL,
            0.12, '{}', NULL);
    """)
    db.commit()
    db.close()
    store = RunStore(f"sqlite:///{path}")
    found = store.get_run("old1")
    assert found is not None and found[0].title == "an old run" and found[0].lease_until is None
    store.save_operation("k" * 64, "veo", "clip.generate", {"name": "operations/1"})
    assert store.load_operation("k" * 64) == ({"name": "operations/1"}, "pending")
    version = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone()
    assert version == (HEAD,)


def test_slots_go_to_waiters_in_arrival_order_and_the_limit_adapts() -> None:
    from reelforge.runtime.limits import AdaptiveConcurrency

    async def scenario() -> tuple[list[int], list[int]]:
        gate = AdaptiveConcurrency(4)
        order: list[int] = []

        async def call(n: int) -> None:
            async with gate.slot():
                order.append(n)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(call(n) for n in range(12)))
        gate.slow_down(None)  # a 429: 4 → 2
        limits = [gate.limit]
        for _ in range(2):  # two successes in a row at limit 2 → 3
            gate.record_success()
        limits.append(gate.limit)
        return order, limits

    order, limits = asyncio.run(scenario())
    assert order == list(range(12))
    assert limits == [2, 3]
