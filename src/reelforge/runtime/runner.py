"""The scheduler: runs a step graph with independent steps concurrently, provider calls on the
event loop (async clients) behind per-provider gates, CPU-bound work in a process pool, retries
with backoff, budget checks before every call, and one event stream for all of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_base

from reelforge.errors import ProviderError, ReelforgeError
from reelforge.lifeline import owner_tag
from reelforge.logging import get_logger
from reelforge.runtime.artifacts import Artifact, ArtifactStore, StepResult
from reelforge.runtime.budget import Budget
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event, EventBus
from reelforge.runtime.keys import step_key
from reelforge.runtime.limits import Limits, ProviderGate
from reelforge.runtime.operations import OperationAction, run_operation
from reelforge.runtime.pricing import PricingTable
from reelforge.runtime.records import RunRecorder, RunStore, step_lease_owner
from reelforge.runtime.retry import backoff_wait, describe, is_retryable
from reelforge.runtime.step import (
    Action,
    ActionResult,
    LazyProvider,
    Step,
    StepContext,
    check_new_steps,
    topological_order,
)

log = get_logger(__name__)
# A paid step holds the lease on its key this long, renewed every third of it while it runs; a
# lease a killed process left is taken over when it expires (at once on the same machine).
STEP_LEASE_S = 60.0


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
    """Executes step graphs on a runtime context. One Runner serves any number of runs, at once
    or one after another; so does one context for many Runners. Pools, gates (limits, breakers)
    and provider adapters belong to the context, so concurrent runs share a provider's pace and
    never stop each other's work.

    `providers` maps a provider name to an adapter object (or is a function of the name) and
    wins over the context's registries — for a stand-in that prices a plan, or a test double.
    `limits` sets a provider's limits outright; otherwise they come from its registry entry
    with REELFORGE_LIMITS applied. Without a `context`, the Runner builds a private one from
    `store`, `pricing` and `records`."""

    def __init__(self, *, actions: Mapping[str, Action], context: RuntimeContext | None = None,
                 store: ArtifactStore | None = None, pricing: PricingTable | None = None,
                 limits: Mapping[str, Limits] | None = None, records: RunStore | None = None,
                 providers: Callable[[str], Any] | Mapping[str, Any] | None = None, bus: EventBus | None = None,
                 pools: Mapping[str, int | str] | None = None) -> None:
        if context is None:
            from reelforge.settings import get_settings

            if store is None or pricing is None:
                raise TypeError("Runner needs a context, or a store and a pricing table")
            context = RuntimeContext(settings=get_settings(), store=store, pricing=pricing, records=records)
        self.context = context
        self.actions = dict(actions)
        self.store = context.store
        self.pricing = context.pricing
        self.records = context.records
        self.limits = dict(limits or {})
        self._providers = providers
        # The bus of this runner's runs; events are forwarded to the context's bus as well
        self.bus = bus or EventBus()
        if pools:
            context.pools.configure(pools)

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
        """Run a whole graph known up front."""
        async with self.start(options, steps) as run:
            pass
        assert run.report is not None
        return run.report

    @contextlib.asynccontextmanager
    async def start(self, options: RunOptions | None = None,
                    steps: Sequence[Step] = ()) -> AsyncIterator[RunHandle]:
        """Open a run that grows while it runs: `await run.add(steps)` any number of times, and
        `await run.result(step_id)` to decide the next steps from a finished one (a story's
        script decides its segments). Leaving the block waits for every step added; the
        report is then on `run.report`."""
        opts = options or RunOptions()
        run_id = uuid.uuid4().hex[:12]
        run = _Run(run_id, opts, self.context.budget_factory(run_id, opts.budget_usd), time.monotonic())
        handle = RunHandle(self, run)
        first = topological_order(steps)  # a bad graph fails before the run starts
        recorder = await self._start_recording(run)
        self._emit(run, "run.started", None, title=opts.title, steps=len(first), budget_usd=opts.budget_usd)
        heartbeat = asyncio.ensure_future(self._heartbeat(run)) if recorder else None
        try:
            async with self.context.pools.hold(), _deadline(run):
                try:
                    self._add(run, first, announce=False)
                    yield handle
                    await handle.wait()
                except BaseException:
                    await handle.cancel()
                    raise
        except TimeoutError:
            if not run.past_deadline():
                raise
        except asyncio.CancelledError:
            run.state = "interrupted"
            raise
        finally:
            if heartbeat:
                heartbeat.cancel()
            handle.report = self._finish(run)
            await self._stop_recording(recorder)

    # --- graph execution ---------------------------------------------------------------------

    def _add(self, run: _Run, steps: Sequence[Step], announce: bool = True) -> None:
        added = check_new_steps(steps, run.steps)
        for step in added:
            run.steps[step.id] = step
            run.tasks[step.id] = asyncio.ensure_future(self._run_when_ready(run, step))
        if announce and added:
            self._emit(run, "run.grew", None, steps=len(run.steps), added=[s.id for s in added])

    async def _run_when_ready(self, run: _Run, step: Step) -> None:
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
        except Exception as exc:  # reading its inputs failed (a file vanished): the step fails alone
            run.outcomes[step.id] = Outcome(step, "failed", error=str(exc), exception=exc)
            self._emit(run, "step.failed", step.id, kind=step.kind, error=str(exc), provider=step.provider)
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
            if step.provider is not None and self.records is not None:
                return await self._compute_leased(run, step, inputs, key, info)
        return await self._compute(run, step, inputs, key, info)

    async def _compute_leased(self, run: _Run, step: Step, inputs: dict[str, list[Artifact]], key: str,
                              info: dict[str, Any]) -> Outcome:
        """Compute a paid step holding the lease on its key: another process (sharing the data
        folder or the database) computing the same key is waited for and its result used, so
        two identical runs at once pay once."""
        assert self.records is not None
        owner = step_lease_owner(uuid.uuid4().hex[:12])
        wait = 0.2
        while not await asyncio.to_thread(self.records.acquire_step_lease, key, owner, STEP_LEASE_S):
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, 2.0)
            cached = await asyncio.to_thread(self.store.get_result, key)
            if cached is not None:
                self._emit(run, "step.cached", step.id, **info, artifacts=[a.digest for a in cached.artifacts],
                           saved_usd=cached.cost_usd)
                return Outcome(step, "cached", cached)
        renew = asyncio.create_task(self._renew_step_lease(key, owner))
        try:
            cached = await asyncio.to_thread(self.store.get_result, key)  # finished while we waited
            if cached is not None:
                self._emit(run, "step.cached", step.id, **info, artifacts=[a.digest for a in cached.artifacts],
                           saved_usd=cached.cost_usd)
                return Outcome(step, "cached", cached)
            return await self._compute(run, step, inputs, key, info)
        finally:
            renew.cancel()
            await asyncio.shield(asyncio.to_thread(self.records.release_step_lease, key, owner))

    async def _renew_step_lease(self, key: str, owner: str) -> None:
        assert self.records is not None
        while True:
            await asyncio.sleep(STEP_LEASE_S / 3)
            with contextlib.suppress(Exception):  # a missed renewal only shortens the lease
                await asyncio.to_thread(self.records.renew_step_lease, key, owner, STEP_LEASE_S)

    async def _compute(self, run: _Run, step: Step, inputs: dict[str, list[Artifact]], key: str,
                       info: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix=f"reelforge-step-{owner_tag()}-"))
        ctx = StepContext(step, inputs, self.store, LazyProvider(lambda: self._provider(step)), self.context.pools.run,
                          lambda f, m: self._emit(run, "step.progress", step.id, fraction=f, message=m),
                          scratch=scratch, key=key)
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
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
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
            if isinstance(action, OperationAction):
                raise TypeError(f"operation step {step.id!r} needs a provider")
            return await action.run(ctx)
        gate = await self._gate(step)
        if isinstance(action, OperationAction):
            return await run_operation(
                action, ctx, self.context.operations,
                lambda make, billable: self._retrying(run, step, gate,
                                                      lambda: self._attempt(make, ctx, gate, billable)))
        return await self._retrying(run, step, gate, lambda: self._attempt(lambda: action.run(ctx), ctx, gate))

    async def _retrying(self, run: _Run, step: Step, gate: ProviderGate,
                        call: Callable[[], Awaitable[Any]]) -> Any:
        """`call()` with the runtime's one retry layer: backoff with jitter, never sooner than
        the service's Retry-After; rate limits wait without using up the step's attempts."""
        retrying = AsyncRetrying(
            stop=_StopRetrying(run, gate.limits), wait=backoff_wait(gate.limits),
            retry=retry_if_exception(is_retryable), reraise=True,
            before_sleep=lambda state: self._emit_retry(run, step, state))
        result: Any = None
        async for attempt in retrying:
            with attempt:
                result = await call()
        return result

    async def _attempt(self, make_call: Callable[[], Awaitable[Any]], ctx: StepContext, gate: ProviderGate,
                       billable: bool = True) -> Any:
        """One call through the gate; `billable` calls count as the step's attempts (polling a
        long-running operation does not)."""
        try:
            async with gate.slot(billable=billable):
                ctx.attempt += 1 if billable else 0
                started = time.monotonic()
                try:
                    result = await _with_timeout(make_call(), gate)
                finally:
                    ctx.last_call_seconds = time.monotonic() - started
        except Exception as exc:
            gate.record(exc)
            raise
        gate.record(None)
        return result

    def _emit_retry(self, run: _Run, step: Step, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self._emit(run, "step.retried", step.id, provider=step.provider, attempt=state.attempt_number,
                   error=describe(exc) if exc else "", wait_s=round(state.upcoming_sleep, 3),
                   reason=getattr(exc, "reason", None))

    async def _gate(self, step: Step) -> ProviderGate:
        assert step.provider is not None
        limits = self.limits.get(step.provider) or self.context.limits(self._capability(step), step.provider)
        return await self.context.open_gate(step.provider, limits)

    def _capability(self, step: Step) -> str:
        return getattr(self.actions[step.kind], "capability", "image")

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
        artifacts = tuple(self.store.put_file(o.path, o.media_type, o.meta) if o.path is not None
                          else self.store.put_bytes(o.data, o.media_type, o.meta) for o in result.outputs)
        cost = 0.0
        if step.billing and step.provider:
            quantity = step.billing[1] if result.billed is None else result.billed
            cost = self.pricing.estimate(step.provider, step.model, step.billing[0], quantity) or 0.0
        stored = StepResult(key, step.kind, artifacts, cost, dict(result.meta))
        self.store.put_result(stored)  # last: a kill before this line means the step reruns
        return stored

    # --- providers, events, records ----------------------------------------------------------

    def _provider(self, step: Step) -> Any:
        if step.provider is None:
            return None
        if isinstance(self._providers, Mapping):
            if step.provider in self._providers:
                return self._providers[step.provider]
        elif self._providers is not None:
            return self._providers(step.provider)
        assert self.context.providers is not None
        return self.context.providers.get(self._capability(step), step.provider)

    def _emit(self, run: _Run, type_: Any, step: str | None, **data: Any) -> None:
        event = Event(type_, run.run_id, step, data)
        self.bus.emit(event)
        if self.context.bus is not self.bus:
            self.context.bus.emit(event)

    async def _start_recording(self, run: _Run) -> RunRecorder | None:
        if self.records is None:
            return None
        await asyncio.to_thread(self.records.mark_interrupted)
        recorder = RunRecorder(self.records, lease_s=self.context.heartbeat_s * 3)
        # the bus carries every run of this runner: the recorder writes this run's events only
        run.unsubscribe = self.bus.subscribe(lambda e: recorder(e) if e.run_id == run.run_id else None)
        return recorder

    async def _heartbeat(self, run: _Run) -> None:
        """Renew the run's lease in the records, so another process can tell a live run from
        one whose process died (on this machine or any other)."""
        assert self.records is not None
        while True:
            await asyncio.sleep(self.context.heartbeat_s)
            await asyncio.to_thread(self.records.renew_lease, run.run_id, self.context.heartbeat_s * 3)

    async def _stop_recording(self, recorder: RunRecorder | None) -> None:
        if recorder is None:
            return
        await asyncio.to_thread(recorder.flush)
        await asyncio.to_thread(recorder.close)

    def _finish(self, run: _Run) -> RunReport:
        for step in run.steps.values():  # steps cancelled before they began
            run.outcomes.setdefault(step.id, Outcome(step, "skipped", error="the run ended before it began"))
        failed = [o for o in run.outcomes.values() if o.state in ("failed", "skipped")]
        state = run.state or ("failed" if failed else "succeeded")
        summary = _summary(run, time.monotonic() - run.started)
        error = None if not failed else f"{len(failed)} of {len(run.steps)} steps did not finish"
        self._emit(run, "run.finished", None, state=state, summary=summary, error=error)
        if run.unsubscribe:
            run.unsubscribe()
        return RunReport(run.run_id, state, dict(run.outcomes), summary)


class RunHandle:
    """A run in progress (see `Runner.start`)."""

    def __init__(self, runner: Runner, run: _Run) -> None:
        self._runner, self._run = runner, run
        self.report: RunReport | None = None

    @property
    def run_id(self) -> str:
        return self._run.run_id

    async def add(self, steps: Sequence[Step]) -> None:
        """Add steps; they may need steps added earlier. SpecError for a duplicate id, an
        unknown need or a cycle (nothing is added then)."""
        self._runner._add(self._run, steps)

    async def result(self, step_id: str) -> Outcome:
        """Wait for a step and return how it ended."""
        await asyncio.gather(self._run.tasks[step_id], return_exceptions=True)
        return self._run.outcomes[step_id]

    async def wait(self) -> None:
        """Wait for every step added so far (and any added meanwhile)."""
        while pending := [t for t in self._run.tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def cancel(self) -> None:
        for task in self._run.tasks.values():
            task.cancel()
        await asyncio.gather(*self._run.tasks.values(), return_exceptions=True)


@dataclass
class _Run:
    run_id: str
    options: RunOptions
    ledger: Budget
    started: float
    steps: dict[str, Step] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    tasks: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    state: str | None = None
    unsubscribe: Callable[[], None] | None = None

    def past_deadline(self) -> bool:
        limit = self.options.deadline_s
        return limit is not None and time.monotonic() - self.started >= limit * 0.999


def _deadline(run: _Run) -> contextlib.AbstractAsyncContextManager[None]:
    return asyncio.timeout(run.options.deadline_s)


async def _with_timeout(call: Awaitable[ActionResult], gate: ProviderGate) -> ActionResult:
    try:
        async with asyncio.timeout(gate.limits.timeout_s):
            return await call
    except TimeoutError:
        raise ProviderError(gate.provider, f"no answer within {gate.limits.timeout_s:g} s (timed out)",
                            retryable=True, reason="timeout", hint="if the service is just slow, raise timeout_s in "
                                                 "REELFORGE_LIMITS") from None


class _StopRetrying(stop_base):
    """Stop after `max_attempts` failed calls — rate-limited calls don't count, the service
    asked us to wait, not to give up (up to RATE_LIMIT_WAITS of them) — or when the wait asked
    for is too long or would pass the run deadline."""

    RATE_LIMIT_WAITS = 12

    def __init__(self, run: _Run, limits: Limits) -> None:
        self.run, self.limits = run, limits
        self.failures = self.rate_limited = 0

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if getattr(exc, "reason", None) == "rate_limited":
            self.rate_limited += 1
        else:
            self.failures += 1
        if self.failures >= self.limits.max_attempts or self.rate_limited > self.RATE_LIMIT_WAITS:
            return True
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
