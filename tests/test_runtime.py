"""The runtime's contracts, checked through a scripted action: caching by key, retries with
Retry-After, fail-fast errors, the circuit breaker, budgets, DAG concurrency, pacing, timeouts,
deadlines, daily quotas, run records and the event stream."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
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
from reelforge.runtime.keys import canonical_json, step_key
from reelforge.runtime.pricing import Price, PricingTable

PRICING = PricingTable("2025-10-01", (Price("fake", "*", "image", 0.04),))
FAST = Limits(max_concurrency=8, timeout_s=2, max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)


class Scripted:
    """A step action whose calls fail or succeed as scripted per step id; logs every call."""

    kind = "test.echo"
    version = 1

    def __init__(self, script: dict[str, list[BaseException]] | None = None, delay: float = 0.0) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.delay = delay
        self.calls: list[str] = []
        self.in_flight = self.max_in_flight = 0

    async def run(self, ctx: StepContext) -> ActionResult:
        self.calls.append(ctx.step.id)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            pending = self.script.get(ctx.step.id)
            if pending:
                raise pending.pop(0)
            inputs = [a.digest[:8] for arts in ctx.inputs.values() for a in arts]
            return ActionResult([StepOutput(canonical_json({"p": ctx.params, "in": inputs}).encode(), "text/plain")])
        finally:
            self.in_flight -= 1


class Hang:
    kind = "test.hang"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class Pid:
    kind = "test.pid"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        pid = await ctx.run_cpu(os.getpid)
        return ActionResult([StepOutput(str(pid).encode(), "text/plain")])


def make_runner(tmp_path: Path, action: Any, limits: Limits = FAST, records: bool = True,
                events: list[Event] | None = None) -> Runner:
    runner = Runner(actions={action.kind: action}, store=LocalArtifactStore(tmp_path / "store"), pricing=PRICING,
                    limits={"fake": limits}, records=RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}") if records else None)
    if events is not None:
        runner.bus.subscribe(events.append)
    return runner


def steps(n: int, kind: str = "test.echo", **extra: Any) -> list[Step]:
    return [Step(f"s{i}", kind, {"prompt": f"p{i}"}, provider="fake", model="m", billing=("image", 1), **extra)
            for i in range(n)]


def run(runner: Runner, graph: list[Step], **options: Any) -> Any:
    return asyncio.run(runner.run(graph, RunOptions(**options)))


def test_key_is_canonical_and_the_same_in_every_process() -> None:
    a = step_key("k", 1, "p", "m", {"b": 1.0, "a": (1, 2)}, {"x": ["d"]})
    assert a == step_key("k", 1, "p", "m", {"a": [1, 2], "b": 1}, {"x": ["d"]})
    assert a != step_key("k", 2, "p", "m", {"a": [1, 2], "b": 1}, {"x": ["d"]})
    code = "from reelforge.runtime.keys import step_key; print(step_key('k', 1, 'p', 'm', {'b': 1.0, 'a': (1, 2)}, {'x': ['d']}))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.strip()
    assert other == a


def test_a_rerun_never_repeats_a_finished_step(tmp_path: Path) -> None:
    action = Scripted()
    first = run(make_runner(tmp_path, action), steps(3))
    assert first.state == "succeeded" and sorted(action.calls) == ["s0", "s1", "s2"]
    assert first.summary["cost_usd"] == pytest.approx(0.12)
    second = run(make_runner(tmp_path, action), steps(4))
    assert sorted(action.calls) == ["s0", "s1", "s2", "s3"]  # only the new step was called
    assert second.summary["cached"] == 3 and second.summary["cost_usd"] == pytest.approx(0.04)
    assert second.summary["saved_usd"] == pytest.approx(0.12)


def test_refresh_recomputes_a_kind_or_all(tmp_path: Path) -> None:
    action = Scripted()
    run(make_runner(tmp_path, action), steps(2))
    run(make_runner(tmp_path, action), steps(2), refresh=["s1"])
    assert action.calls.count("s1") == 2 and action.calls.count("s0") == 1
    run(make_runner(tmp_path, action), steps(2), refresh=["all"])
    assert action.calls.count("s0") == 2


def test_retry_waits_at_least_retry_after_then_succeeds(tmp_path: Path) -> None:
    events: list[Event] = []
    action = Scripted({"s0": [ProviderError("fake", "rate limited (429)", status=429, retryable=True, retry_after=0.3)]})
    started = time.monotonic()
    report = run(make_runner(tmp_path, action, events=events), steps(1))
    assert report.state == "succeeded" and action.calls == ["s0", "s0"]
    assert time.monotonic() - started >= 0.3
    retried = [e for e in events if e.type == "step.retried"]
    assert len(retried) == 1 and retried[0].data["wait_s"] >= 0.3 and "429" in retried[0].data["error"]
    assert report.summary["retries"] == 1 and report.summary["calls"] == 2


def test_fatal_errors_fail_fast_with_their_message(tmp_path: Path) -> None:
    action = Scripted({"s0": [ProviderError("fake", "FAKE_API_KEY is rejected (401)", status=401)]})
    report = run(make_runner(tmp_path, action), steps(2))
    assert action.calls.count("s0") == 1  # not retried
    assert report.state == "failed" and report.outcomes["s1"].state == "succeeded"
    assert "FAKE_API_KEY is rejected" in (report.outcomes["s0"].error or "")


def test_retries_stop_after_max_attempts(tmp_path: Path) -> None:
    busy = [ProviderError("fake", "503", status=503, retryable=True) for _ in range(5)]
    action = Scripted({"s0": busy})
    report = run(make_runner(tmp_path, action, limits=Limits(**{**FAST.__dict__, "breaker_threshold": 99})), steps(1))
    assert action.calls == ["s0"] * 3 and report.outcomes["s0"].attempts == 3


def test_circuit_breaker_opens_after_consecutive_failures(tmp_path: Path) -> None:
    script = {f"s{i}": [ProviderError("fake", "503 unavailable", status=503, retryable=True)] * 3 for i in range(4)}
    action = Scripted(script)
    limits = Limits(max_concurrency=1, max_attempts=1, breaker_threshold=2, breaker_cooldown_s=60, timeout_s=2)
    report = run(make_runner(tmp_path, action, limits=limits), steps(4))
    assert len(action.calls) == 2  # two steps never reached the provider
    # which two depends on the order the steps reach the gate (their inputs are read on threads)
    refused = [o for sid, o in report.outcomes.items() if sid not in action.calls]
    assert len(refused) == 2 and all("2 calls failed in a row" in (o.error or "") for o in refused)


def test_budget_refuses_the_call_that_would_exceed_it(tmp_path: Path) -> None:
    action = Scripted()
    runner = make_runner(tmp_path, action, limits=Limits(max_concurrency=1))
    report = run(runner, steps(3), budget_usd=0.10)
    assert len(action.calls) == 2 and report.summary["cost_usd"] == pytest.approx(0.08)
    failed = [o for o in report.outcomes.values() if o.state == "failed"]
    assert len(failed) == 1 and "past the budget of $0.10" in (failed[0].error or "")


def test_independent_steps_overlap_and_needs_are_respected(tmp_path: Path) -> None:
    action = Scripted(delay=0.2)
    graph = [*steps(4), Step("join", "test.echo", {"x": 1}, needs=("s0", "s1"))]
    started = time.monotonic()
    report = run(make_runner(tmp_path, action), graph)
    assert report.state == "succeeded" and action.max_in_flight == 4
    assert action.calls[-1] == "join" and time.monotonic() - started < 0.8


def test_a_step_whose_input_failed_is_skipped(tmp_path: Path) -> None:
    action = Scripted({"s0": [ProviderError("fake", "bad request (400)", status=400)]})
    graph = [*steps(1), Step("after", "test.echo", {}, needs=("s0",))]
    report = run(make_runner(tmp_path, action), graph)
    assert report.outcomes["after"].state == "skipped" and "s0" in (report.outcomes["after"].error or "")


def test_rpm_spaces_call_starts_evenly(tmp_path: Path) -> None:
    action = Scripted()
    started = time.monotonic()
    run(make_runner(tmp_path, action, limits=Limits(max_concurrency=8, rpm=600)), steps(5))
    assert time.monotonic() - started >= 0.38  # 5 starts, 0.1 s apart


def test_a_hung_call_times_out_and_is_retried(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, Hang(), limits=Limits(timeout_s=0.2, max_attempts=2, backoff_initial_s=0.01))
    report = run(runner, steps(1, kind="test.hang"))
    assert report.outcomes["s0"].state == "failed" and report.outcomes["s0"].attempts == 2
    assert "no answer within 0.2 s (timed out)" in (report.outcomes["s0"].error or "")


def test_run_deadline_stops_the_run(tmp_path: Path) -> None:
    started = time.monotonic()
    report = run(make_runner(tmp_path, Hang(), limits=Limits(timeout_s=60)), steps(2, kind="test.hang"), deadline_s=0.3)
    assert time.monotonic() - started < 3
    assert all(o.state == "failed" and "deadline" in (o.error or "") for o in report.outcomes.values())


def test_daily_quota_counts_calls_of_earlier_runs(tmp_path: Path) -> None:
    action = Scripted()
    limits = Limits(rpd=3)
    first = run(make_runner(tmp_path, action, limits=limits), steps(2))
    assert first.state == "succeeded"
    second = run(make_runner(tmp_path, action, limits=limits), steps(4))  # s0, s1 cached
    # one request was left for the day: s2 and s3 run concurrently, so either may take it
    later = [c for c in action.calls if c in ("s2", "s3")]
    assert len(later) == 1
    refused = "s3" if later == ["s2"] else "s2"
    assert "daily limit of 3 requests" in (second.outcomes[refused].error or "")


def test_run_records_hold_states_costs_and_attempts(tmp_path: Path) -> None:
    action = Scripted({"s1": [ProviderError("fake", "503", status=503, retryable=True)]})
    report = run(make_runner(tmp_path, action), steps(2), title="demo")
    store = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    found = store.get_run(report.run_id[:6])
    assert found is not None
    row, step_rows = found
    assert row.state == "succeeded" and row.title == "demo" and row.cost_usd == pytest.approx(0.08)
    assert json.loads(row.summary)["retries"] == 1
    assert {(s.step_id, s.state, s.attempts) for s in step_rows} == {("s0", "succeeded", 1), ("s1", "succeeded", 2)}


def test_plan_estimates_without_calling(tmp_path: Path) -> None:
    action = Scripted()
    runner = make_runner(tmp_path, action)
    plan = asyncio.run(runner.plan(steps(3)))
    assert plan.calls == 3 and plan.estimate_usd == pytest.approx(0.12) and action.calls == []
    run(runner, steps(1))
    plan = asyncio.run(runner.plan(steps(3)))
    assert plan.cached == 1 and plan.estimate_usd == pytest.approx(0.08)


def test_events_form_one_stream_in_order(tmp_path: Path) -> None:
    events: list[Event] = []
    run(make_runner(tmp_path, Scripted(), events=events), steps(1))
    assert [e.type for e in events] == ["run.started", "step.started", "cost", "step.finished", "run.finished"]
    sse = events[-1].to_sse()
    assert sse.startswith("event: run.finished\ndata: {") and sse.endswith("\n\n")


def test_cpu_work_runs_in_another_process(tmp_path: Path) -> None:
    runner = Runner(actions={"test.pid": Pid()}, store=LocalArtifactStore(tmp_path), pricing=PRICING)
    report = asyncio.run(runner.run([Step("pid", "test.pid")]))
    artifact = report.outcomes["pid"].result.artifacts[0]  # type: ignore[union-attr]
    assert int(LocalArtifactStore(tmp_path).read_bytes(artifact)) != os.getpid()
