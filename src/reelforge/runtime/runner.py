"""The scheduler: runs a step graph with independent steps concurrently, provider calls on the
event loop (async clients) behind per-provider gates, CPU-bound work in a process pool, retries
with backoff, budget checks before every call, and one event stream for all of it."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import multiprocessing
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from reelforge.errors import ProviderError, ReelforgeError
from reelforge.logging import get_logger
from reelforge.runtime.artifacts import Artifact, ArtifactStore, StepResult
from reelforge.runtime.budget import Ledger
from reelforge.runtime.events import Event, EventBus
from reelforge.runtime.keys import step_key
from reelforge.runtime.limits import Limits, ProviderGate
from reelforge.runtime.pricing import PricingTable
from reelforge.runtime.records import RunRecorder, RunStore
from reelforge.runtime.retry import backoff_wait, describe, is_retryable
from reelforge.runtime.step import Action, ActionResult, Step, StepContext, topological_order

log = get_logger(__name__)


class StepFailed(ReelforgeError):
    """A step did not produce its artifacts (the cause is in `__cause__` and the run records)."""


@dataclass
class Outcome:
    """How one step ended in this run."""

    step: Step
    state: str  # cached / succeeded / failed / skipped
    result: StepResult | None = None
    error: str | None = None
    attempts: int = 0
    cost_usd: float = 0.0
    exception: BaseException | None = None


@dataclass
class RunReport:
    run_id: str
    state: str  # succeeded / failed / interrupted
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.state in ("failed", "skipped")]


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    cached: bool
    estimate_usd: float | None


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]

    @property
    def calls(self) -> int:
        return sum(1 for p in self.steps if not p.cached and p.step.provider)

    @property
    def cached(self) -> int:
        return sum(1 for p in self.steps if p.cached)

    @property
    def estimate_usd(self) -> float | None:
        """The sum over steps that will run; None if any of them has no known price."""
        costs = [p.estimate_usd for p in self.steps if not p.cached]
        return None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 6)


@dataclass
class RunOptions:
    budget_usd: float | None = None
    deadline_s: float | None = None
    refresh: Collection[str] = ()  # step kinds or ids to recompute; "all" for every step
    title: str = ""


class Runner:
    """Executes step graphs. One Runner can serve several runs; gates (limits, breakers) live as
    long as the Runner, so back-to-back runs share a provider's pace."""

    def __init__(self, *, actions: Mapping[str, Action], store: ArtifactStore, pricing: PricingTable,
                 limits: Mapping[str, Limits] | None = None, records: RunStore | None = None,
                 providers: Callable[[str], Any] | None = None, bus: EventBus | None = None,
                 pools: Mapping[str, int | str] | None = None) -> None:
        self.actions = dict(actions)
        self.store = store
        self.pricing = pricing
        self.limits = dict(limits or {})
        self.records = records
        self._providers = providers
        self.bus = bus or EventBus()
        self._gates: dict[str, ProviderGate] = {}
        # Process pools by name → worker count, or → another pool's name (an alias); "default"
        # serves run_cpu without a pool name. A pipeline gives memory-heavy work (an ML session
        # per process) its own small pool, or shares one where memory is short.
        self.pool_sizes: dict[str, int | str] = {"default": os.cpu_count() or 1, **(pools or {})}
        self._pools: dict[str, ProcessPoolExecutor] = {}

    # --- public ------------------------------------------------------------------------------

    async def plan(self, steps: Sequence[Step], refresh: Collection[str] = ()) -> Plan:
        """What a run would do: per step, cached or not and the estimated cost. Calls nothing."""
        known: dict[str, StepResult | None] = {}
        planned = []
        for step in topological_order(steps):
            result = None
            if not _refreshing(step, refresh) and all(known.get(n) for n in step.needs):
                key = await self._key(step, await self._inputs(step, known))
                result = await asyncio.to_thread(self.store.get_result, key)
            known[step.id] = result
            planned.append(PlannedStep(step, result is not None, self._estimate(step)))
        return Plan(tuple(planned))

    async def run(self, steps: Sequence[Step], options: RunOptions | None = None) -> RunReport:
        opts = options or RunOptions()
        order = topological_order(steps)
        run = _Run(uuid.uuid4().hex[:12], opts, Ledger(opts.budget_usd), time.monotonic())
        recorder = await self._start_recording(run)
        await self._open_gates(order)
        self._emit(run, "run.started", None, title=opts.title, steps=len(order), budget_usd=opts.budget_usd)
        try:
            await self._execute(run, order)
        except asyncio.CancelledError:
            run.state = "interrupted"
            raise
        finally:
            report = self._finish(run, order)
            await self._stop_recording(recorder)
            self._shutdown_pool()
        return report

    # --- graph execution ---------------------------------------------------------------------

    async def _execute(self, run: _Run, order: list[Step]) -> None:
        tasks = {s.id: asyncio.ensure_future(self._run_when_ready(run, s, order)) for s in order}
        run.tasks = tasks
        try:
            async with asyncio.timeout(run.options.deadline_s):
                await asyncio.gather(*tasks.values(), return_exceptions=True)
        except TimeoutError:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)

    async def _run_when_ready(self, run: _Run, step: Step, order: list[Step]) -> None:
        for need in step.needs:
            await asyncio.gather(run.tasks[need], return_exceptions=True)
        blocked = [n for n in step.needs if run.outcomes[n].state not in ("cached", "succeeded")]
        if blocked:
            reason = f"needs {blocked[0]!r}, which did not finish"
            run.outcomes[step.id] = Outcome(step, "skipped", error=reason)
            self._emit(run, "step.skipped", step.id, kind=step.kind, label=step.label, reason=reason)
            return
        try:
            run.outcomes[step.id] = await self._run_step(run, step)
        except asyncio.CancelledError:
            reason = "the run deadline passed" if run.past_deadline() else "the run was interrupted"
            run.outcomes[step.id] = Outcome(step, "failed", error=reason)
            run.ledger.release(step.id)
            self._emit(run, "step.failed", step.id, kind=step.kind, error=reason, provider=step.provider)
            raise

    async def _run_step(self, run: _Run, step: Step) -> Outcome:
        known = {sid: o.result for sid, o in run.outcomes.items()}
        inputs = await self._inputs(step, known)
        key = await self._key(step, inputs)
        info = {"kind": step.kind, "label": step.label, "provider": step.provider, "model": step.model, "key": key}
        if not _refreshing(step, run.options.refresh):
            cached = await asyncio.to_thread(self.store.get_result, key)
            if cached is not None:
                self._emit(run, "step.cached", step.id, **info, artifacts=[a.digest for a in cached.artifacts],
                           saved_usd=cached.cost_usd)
                return Outcome(step, "cached", cached)
        return await self._compute(run, step, inputs, key, info)

    async def _compute(self, run: _Run, step: Step, inputs: dict[str, list[Artifact]], key: str,
                       info: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        ctx = StepContext(step, inputs, self.store, self._provider(step), self._run_cpu,
                          lambda f, m: self._emit(run, "step.progress", step.id, fraction=f, message=m))
        try:
            run.ledger.reserve(step.id, self._estimate(step), _what(step))
            self._emit(run, "step.started", step.id, **info, estimate_usd=self._estimate(step))
            result = await self._call(run, step, ctx)
            stored = await asyncio.to_thread(self._store_result, step, key, result)
        except Exception as exc:
            run.ledger.release(step.id)
            self._emit(run, "step.failed", step.id, kind=step.kind, error=str(exc), attempts=ctx.attempt,
                       provider=step.provider, seconds=time.monotonic() - started)
            return Outcome(step, "failed", error=str(exc), attempts=ctx.attempt, exception=exc)
        run.ledger.settle(step.id, stored.cost_usd)
        if stored.cost_usd:
            self._emit(run, "cost", step.id, usd=stored.cost_usd, total_usd=run.ledger.spent_usd)
        self._emit(run, "step.finished", step.id, kind=step.kind, key=key, provider=step.provider, attempts=ctx.attempt,
                   cost_usd=stored.cost_usd, seconds=time.monotonic() - started,
                   call_seconds=ctx.last_call_seconds,
                   artifacts=[a.digest for a in stored.artifacts])
        return Outcome(step, "succeeded", stored, attempts=ctx.attempt, cost_usd=stored.cost_usd)

    # --- calls: gate, timeout, retries ------------------------------------------------------

    async def _call(self, run: _Run, step: Step, ctx: StepContext) -> ActionResult:
        action = self.actions[step.kind]
        if step.provider is None:
            return await action.run(ctx)
        gate = self._gate(step.provider)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(gate.limits.max_attempts) | self._stop_waiting(run, gate.limits),
            wait=backoff_wait(gate.limits), retry=retry_if_exception(is_retryable), reraise=True,
            before_sleep=lambda state: self._emit_retry(run, step, state))
        result: ActionResult | None = None
        async for attempt in retrying:
            with attempt:
                result = await self._attempt(action, ctx, gate)
        assert result is not None
        return result

    async def _attempt(self, action: Action, ctx: StepContext, gate: ProviderGate) -> ActionResult:
        async with gate.slot():
            ctx.attempt += 1
            started = time.monotonic()
            try:
                result = await _with_timeout(action.run(ctx), gate)
            except Exception as exc:
                if is_retryable(exc):
                    gate.breaker.record_failure(describe(exc))
                else:
                    gate.breaker.record_neutral()
                raise
            finally:
                ctx.last_call_seconds = time.monotonic() - started
            gate.breaker.record_success()
            return result

    def _stop_waiting(self, run: _Run, limits: Limits) -> stop_base:
        return _StopWaiting(run, limits)

    def _emit_retry(self, run: _Run, step: Step, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self._emit(run, "step.retried", step.id, provider=step.provider, attempt=state.attempt_number,
                   error=describe(exc) if exc else "", wait_s=round(state.upcoming_sleep, 3))

    def _gate(self, provider: str) -> ProviderGate:
        return self._gates[provider]

    async def _open_gates(self, steps: Sequence[Step]) -> None:
        """One gate per provider the run calls; a daily quota starts from the calls the records
        hold for the last 24 h (read on a thread: the event loop never waits for the database)."""
        for provider in sorted({s.provider for s in steps if s.provider} - set(self._gates)):
            limits = self.limits.get(provider, Limits())
            used = await asyncio.to_thread(self._calls_today, provider) if limits.rpd else 0
            self._gates[provider] = ProviderGate(provider, limits, used)

    def _calls_today(self, provider: str) -> int:
        if self.records is None:
            return 0
        since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
        return self.records.calls_since(provider, since)

    # --- keys, inputs, cost ------------------------------------------------------------------

    async def _inputs(self, step: Step, known: Mapping[str, StepResult | None]) -> dict[str, list[Artifact]]:
        inputs: dict[str, list[Artifact]] = {}
        for need in step.needs:
            result = known.get(need)
            inputs[need] = list(result.artifacts) if result else []
        for name, path in step.files.items():
            inputs[name] = [await asyncio.to_thread(self.store.put_file, path, _media_type(path))]
        return inputs

    async def _key(self, step: Step, inputs: Mapping[str, list[Artifact]]) -> str:
        version = self.actions[step.kind].version
        # Needs enter the key by position, not by step id: renumbering steps (a scene inserted
        # before this one) must not make a finished step, or a paid call, look new.
        digests: dict[str, Any] = {name: [a.digest for a in inputs[name]] for name in step.files}
        if step.needs:
            digests["needs"] = [[a.digest for a in inputs[need]] for need in step.needs]
        return step_key(step.kind, version, step.provider, step.model, step.params, digests)

    def _estimate(self, step: Step) -> float | None:
        if step.billing is None or step.provider is None:
            return 0.0
        unit, quantity = step.billing
        return self.pricing.estimate(step.provider, step.model, unit, quantity)

    def _store_result(self, step: Step, key: str, result: ActionResult) -> StepResult:
        artifacts = tuple(self.store.put_bytes(o.data, o.media_type, o.meta) for o in result.outputs)
        cost = 0.0
        if step.billing and step.provider:
            quantity = step.billing[1] if result.billed is None else result.billed
            cost = self.pricing.estimate(step.provider, step.model, step.billing[0], quantity) or 0.0
        stored = StepResult(key, step.kind, artifacts, cost, dict(result.meta))
        self.store.put_result(stored)  # last: a kill before this line means the step reruns
        return stored

    # --- process pool, providers, events, records -------------------------------------------

    async def _run_cpu(self, fn: Callable[..., Any], *args: Any, pool: str = "default") -> Any:
        size = self.pool_sizes.get(pool, 1)
        if isinstance(size, str):  # an alias
            pool, size = size, self.pool_sizes.get(size, 1)
        if pool not in self._pools:
            # forkserver: children start from a clean process, not a fork of one holding threads
            self._pools[pool] = ProcessPoolExecutor(max_workers=int(size),
                                                    mp_context=multiprocessing.get_context("forkserver"))
        return await asyncio.get_running_loop().run_in_executor(self._pools[pool], functools.partial(fn, *args))

    def _shutdown_pool(self) -> None:
        for executor in self._pools.values():
            executor.shutdown(wait=True, cancel_futures=True)  # workers gone before whatever runs next
        self._pools = {}

    def _provider(self, step: Step) -> Any:
        if step.provider is None or self._providers is None:
            return None
        return self._providers(step.provider)

    def _emit(self, run: _Run, type_: Any, step: str | None, **data: Any) -> None:
        self.bus.emit(Event(type_, run.run_id, step, data))

    async def _start_recording(self, run: _Run) -> RunRecorder | None:
        if self.records is None:
            return None
        await asyncio.to_thread(self.records.mark_interrupted)
        recorder = RunRecorder(self.records)
        run.unsubscribe = self.bus.subscribe(recorder)
        return recorder

    async def _stop_recording(self, recorder: RunRecorder | None) -> None:
        if recorder is None:
            return
        await asyncio.to_thread(recorder.flush)
        await asyncio.to_thread(recorder.close)

    def _finish(self, run: _Run, order: list[Step]) -> RunReport:
        for step in order:  # steps cancelled before they began
            run.outcomes.setdefault(step.id, Outcome(step, "skipped", error="the run ended before it began"))
        failed = [o for o in run.outcomes.values() if o.state in ("failed", "skipped")]
        state = run.state or ("failed" if failed else "succeeded")
        summary = _summary(run, time.monotonic() - run.started)
        error = None if not failed else f"{len(failed)} of {len(order)} steps did not finish"
        self._emit(run, "run.finished", None, state=state, summary=summary, error=error)
        if run.unsubscribe:
            run.unsubscribe()
        return RunReport(run.run_id, state, run.outcomes, summary)


@dataclass
class _Run:
    run_id: str
    options: RunOptions
    ledger: Ledger
    started: float
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    tasks: Mapping[str, asyncio.Future[None]] = field(default_factory=dict)
    state: str | None = None
    unsubscribe: Callable[[], None] | None = None

    def past_deadline(self) -> bool:
        limit = self.options.deadline_s
        return limit is not None and time.monotonic() - self.started >= limit * 0.999


async def _with_timeout(call: Awaitable[ActionResult], gate: ProviderGate) -> ActionResult:
    try:
        async with asyncio.timeout(gate.limits.timeout_s):
            return await call
    except TimeoutError:
        raise ProviderError(gate.provider, f"no answer within {gate.limits.timeout_s:g} s (timed out)",
                            retryable=True, hint="if the service is just slow, raise timeout_s in "
                                                 "REELFORGE_LIMITS") from None


class _StopWaiting(stop_base):
    """Stop retrying when the wait asked for is too long or would pass the run deadline."""

    def __init__(self, run: _Run, limits: Limits) -> None:
        self.run, self.limits = run, limits

    def __call__(self, state: RetryCallState) -> bool:
        if state.upcoming_sleep > self.limits.max_retry_after_s:
            return True
        if self.run.options.deadline_s is None:
            return False
        return time.monotonic() + state.upcoming_sleep > self.run.started + self.run.options.deadline_s


def _summary(run: _Run, seconds: float) -> dict[str, Any]:
    outcomes = list(run.outcomes.values())
    count = lambda state: sum(1 for o in outcomes if o.state == state)  # noqa: E731
    calls = sum(o.attempts for o in outcomes)
    succeeded = count("succeeded")
    return {
        "steps": len(outcomes), "succeeded": succeeded, "cached": count("cached"), "failed": count("failed"),
        "skipped": count("skipped"), "calls": calls,
        "retries": sum(max(0, o.attempts - 1) for o in outcomes),  # every call after a step's first
        "cost_usd": round(run.ledger.spent_usd, 6),
        "saved_usd": round(sum(o.result.cost_usd for o in outcomes if o.state == "cached" and o.result), 6),
        "budget_usd": run.ledger.budget_usd, "seconds": round(seconds, 3),
    }


def _refreshing(step: Step, refresh: Collection[str]) -> bool:
    return "all" in refresh or step.kind in refresh or step.id in refresh


def _what(step: Step) -> str:
    return f"{step.id} ({step.provider}/{step.model})" if step.provider else step.id


def _media_type(path: os.PathLike[str] | str) -> str:
    import mimetypes

    return mimetypes.guess_type(str(path))[0] or "application/octet-stream"
