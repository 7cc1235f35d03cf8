"""Running a scenes spec: rounds of the step graph (generation under provider limits, cut-outs
and composites in the process pool), image QA with bounded regeneration, the failure policy,
then one timeline render, a contact sheet and a run report.

Every step is cached by content, so a rerun after a crash or `kill -9` re-requests nothing that
finished, and editing one scene's prompt regenerates only that scene."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reelforge.errors import BudgetExceeded, InputError, ReelforgeError
from reelforge.imaging.image_qa import QAFailed
from reelforge.pipelines.clip.steps import clip_actions
from reelforge.pipelines.images import choose_generator, generation_runner
from reelforge.pipelines.job import CancelToken, EventSink, plan_job, run_job, subscribed
from reelforge.pipelines.scenes.actions import CUTOUT_POOL, SCENES_POOL, all_actions
from reelforge.pipelines.scenes.finish import finish
from reelforge.pipelines.scenes.graph import SceneSteps, StepGraphBuilder, check_videos
from reelforge.pipelines.scenes.results import SceneResult, ScenesResult, StageClock
from reelforge.providers.images.base import ImageGenerator, ImageRequest, check_request
from reelforge.runtime import (
    Event,
    Limits,
    Plan,
    Runner,
    RunOptions,
    RunReport,
    load_pricing,
)
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings
from reelforge.spec.common import ASPECTS, RESOLUTIONS, even
from reelforge.spec.provider_names import CLOUD_CUTOUTS
from reelforge.spec.scenes import ScenesSpec


@dataclass
class ScenesPlan:
    """What a run would do (dry run): the steps of the first round with cost, and the prompts."""

    plan: Plan
    prompts: dict[int, str]
    notes: list[str]
    provider: str
    model: str


@dataclass
class ScenesJob:
    spec: ScenesSpec
    output: Path
    settings: Settings
    budget_usd: float | None = None
    deadline_s: float | None = None
    refresh: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    on_event: Callable[[Event], None] | None = None
    on_render_progress: Callable[[Any, float], None] | None = None  # (ffmpeg progress, total seconds)

    # --- public --------------------------------------------------------------------------

    kind: ClassVar[str] = "scenes"

    async def aplan(self, ctx: RuntimeContext) -> ScenesPlan:
        """The first round's steps, whether each is cached and what it costs. Calls nothing,
        needs no key."""
        notes: list[str] = []
        check_videos(self.spec, self.settings)
        runner, generator = self._runner(ctx, planning=True, notes=notes)
        builder = self._builder(generator)
        per_scene, steps = builder.round(list(range(len(self.spec.scenes))), 0)
        plan = await runner.plan(steps, self.refresh)
        prompts = {sc.index: sc.prompt_sent for sc in per_scene if sc.prompt_sent}
        return ScenesPlan(plan, prompts, notes, self.provider, generator.model)

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> ScenesResult:
        started = time.monotonic()
        self._check_output()
        check_videos(self.spec, self.settings, calling=True)
        runner, generator = self._runner(ctx, planning=False, notes=[])
        stages = StageClock()
        runner.bus.subscribe(stages)
        token = cancel or CancelToken()
        with subscribed(runner.bus, events):
            async with token.scope():
                # the cut-out workers (and their ML sessions) live across QA rounds, and are
                # released before the render so it has the memory
                async with ctx.pools.hold([CUTOUT_POOL, SCENES_POOL]):
                    scenes, reports = await self._rounds(runner, self._builder(generator))
                renders = _LoopRenders(self, ctx, token)
                return await renders.finish_in_thread(finish, self, scenes, reports, stages, runner.store, started)

    def plan(self) -> ScenesPlan:
        result: ScenesPlan = plan_job(self, self.settings)
        return result

    def run(self) -> ScenesResult:
        result: ScenesResult = run_job(self, self.settings, on_event=self.on_event)
        return result

    # --- rounds ----------------------------------------------------------------------------

    async def _rounds(self, runner: Runner, builder: StepGraphBuilder) -> tuple[dict[int, SceneResult], list[RunReport]]:
        pending = list(range(len(self.spec.scenes)))
        results = {i: SceneResult(i, "failed") for i in pending}
        await self._check_budget(runner, builder)
        reports: list[RunReport] = []
        for variation in range(self.spec.qa.retries + 1):
            per_scene, steps = builder.round(pending, variation)
            options = RunOptions(self._budget_left(reports), self.deadline_s,
                                 self.refresh if variation == 0 else (), title=self._title(variation))
            report = await runner.run(steps, options)
            reports.append(report)
            pending = [sc.index for sc in per_scene if self._settle(sc, report, results[sc.index], runner)]
            if not pending:
                break
        return results, reports

    def _settle(self, sc: SceneSteps, report: RunReport, result: SceneResult, runner: Runner) -> bool:
        """Record how the scene did this round; True when it should be regenerated."""
        result.attempts += 1
        result.prompt_sent = sc.prompt_sent or result.prompt_sent
        outcomes = [report.outcomes[i] for i in sc.ids if i in report.outcomes]
        for outcome in outcomes:
            if outcome.result and "cutout" in outcome.result.meta:
                result.cutout = outcome.result.meta["cutout"]
        frame = report.outcomes.get(sc.frame_step)
        clip = report.outcomes.get(sc.clip_step) if sc.clip_step else None
        clip_done = sc.clip_step is None or (clip is not None and clip.state in ("cached", "succeeded"))
        if frame is not None and frame.state in ("cached", "succeeded") and frame.result and clip_done:
            result.state = "cached" if all(o.state == "cached" for o in outcomes) else "generated"
            result.frame = runner.store.path_of(frame.result.artifacts[0])  # type: ignore[attr-defined]
            if clip is not None and clip.result:
                result.clip = runner.store.path_of(clip.result.artifacts[0])  # type: ignore[attr-defined]
                result.clip_meta = dict(clip.result.artifacts[0].meta)
            return False
        failure = next((o for o in outcomes if o.state == "failed"), None)
        if failure is None:  # skipped: a shared step it needs (its background) failed
            failure = next((o for o in report.outcomes.values() if o.state == "failed"), None)
        error = failure.error if failure and failure.error else "did not finish"
        result.errors.append(f"attempt {result.attempts}: {error}")
        if failure is not None and isinstance(failure.exception, QAFailed):
            result.qa_flags = sorted(set(result.qa_flags) | set(failure.exception.flags))
            return self.spec.scenes[sc.index].prompt is not None  # a file cannot be regenerated
        result.error = (failure.exception if failure and failure.exception
                        else ReelforgeError(f"scene {sc.index + 1}: {error}"))
        return False

    async def _check_budget(self, runner: Runner, builder: StepGraphBuilder) -> None:
        if self.budget_usd is None:
            return
        _, steps = builder.round(list(range(len(self.spec.scenes))), 0)
        plan = await runner.plan(steps, self.refresh)
        unpriced = [p.step for p in plan.steps if not p.cached and p.estimate_usd is None]
        if unpriced:
            step = unpriced[0]
            raise BudgetExceeded(f"--budget needs a price for every call, and {step.provider}/{step.model} "
                                 f"({step.id}) has none in the pricing table; nothing was called",
                                 hint="add a row for it with REELFORGE_PRICING_FILE, or run without --budget")
        if plan.estimate_usd is not None and plan.estimate_usd > self.budget_usd + 1e-9:
            raise BudgetExceeded(f"the plan needs {plan.calls} paid call(s), estimated ${plan.estimate_usd:.4f}, "
                                 f"more than the budget of ${self.budget_usd:.4f}; nothing was called",
                                 hint="raise --budget, use fewer scenes, or check the plan with --dry-run")

    def _budget_left(self, reports: list[RunReport]) -> float | None:
        if self.budget_usd is None:
            return None
        return max(0.0, self.budget_usd - sum(r.summary.get("cost_usd", 0.0) for r in reports))

    # --- set-up ----------------------------------------------------------------------------

    @property
    def provider(self) -> str:
        return self.spec.provider

    @property
    def frame_size(self) -> tuple[int, int]:
        aw, ah = ASPECTS[self.spec.aspect]
        short = RESOLUTIONS[self.spec.resolution]
        return (even(short * aw / ah), short) if aw >= ah else (short, even(short * ah / aw))

    def _builder(self, generator: ImageGenerator) -> StepGraphBuilder:
        if self._needs_generator():  # what the provider cannot do is refused before any call
            check_request(self.provider, generator.capabilities, ImageRequest("scene", self.spec.aspect))
        aspect = generator.delivered_aspect(self.spec.aspect)
        return StepGraphBuilder(self.spec, self.provider, generator.model, self.frame_size, aspect,
                                generator.capabilities.seed, self.settings)

    def _needs_generator(self) -> bool:
        return any(scene.prompt is not None for scene in self.spec.scenes)

    def _runner(self, ctx: RuntimeContext, *, planning: bool, notes: list[str]) -> tuple[Runner, ImageGenerator]:
        from reelforge.providers.images import IMAGE_GENERATORS

        settings = self.settings
        pricing = load_pricing(settings.pricing_file)
        if self.spec.model:
            self._check_model(pricing)
            settings = settings.model_copy(update={f"{self.provider}_model": self.spec.model})
        limits: Limits = IMAGE_GENERATORS.limits(self.provider, settings).merged(self.limits)
        # A spec of image files only calls no generator: plan-style, with nothing to say about it.
        needed = self._needs_generator()
        generator = choose_generator(self.provider, settings, limits, planning=planning or not needed,
                                     notes=notes if needed else [])
        if not planning:
            self._check_cloud_cutout()
        runner = generation_runner(ctx, all_actions() + clip_actions(self.settings), {self.provider: limits}, generator,
                                   pools=scene_pools(os.cpu_count() or 1))
        return runner, generator

    def _check_model(self, pricing: Any) -> None:
        """A model the pricing table does not know is most likely a typo: refuse it before any
        call (a new model is enabled by giving it a price row)."""
        known = sorted({p.model for p in pricing.prices if p.provider == self.provider})
        if "*" in known or self.spec.model in known:
            return
        raise InputError(f"unknown model {self.spec.model!r} for {self.provider}", field="model",
                         hint=f"use one of: {', '.join(known) or '(none listed)'}; for a model we do not list yet, "
                              "add its price with REELFORGE_PRICING_FILE")

    def _check_cloud_cutout(self) -> None:
        method = self.spec.cutout_method
        if self.spec.mode == "speed" or method not in CLOUD_CUTOUTS:
            return
        from reelforge.providers.cutout.registry import CUTOUTS

        why = CUTOUTS.check(method, self.settings).reason
        if why is not None:
            from reelforge.errors import ProviderUnavailable

            raise ProviderUnavailable(f"cutout.method: the cut-out provider {method} is not usable: {why}",
                                      hint="set its key, or use cutout.method: refine (local)")

    def _check_output(self) -> None:
        if self.output.suffix.lower() != ".mp4":
            raise InputError(f"the output must be an .mp4 file, got {self.output.name}", field="-o",
                             hint="e.g. -o out/ad.mp4")
        if self.output.is_dir():
            raise InputError(f"{self.output} is a folder", field="-o", hint="name the .mp4 file to write")

    def _title(self, variation: int) -> str:
        first = next((s.prompt or s.image for s in self.spec.scenes), "")
        more = f" (+{len(self.spec.scenes) - 1})" if len(self.spec.scenes) > 1 else ""
        again = f" [regenerate {variation}]" if variation else ""
        return f"scenes [{self.spec.mode}, {self.provider}] {str(first)[:50]}{more}{again}"


class _LoopRenders:
    """The final render as a RenderJob on the job's event loop (under the job's CancelToken),
    called from `finish`, which runs on a worker thread: cancelling the scenes job kills the
    render's ffmpeg, and the job ends only once it is gone."""

    def __init__(self, job: ScenesJob, ctx: RuntimeContext, token: CancelToken) -> None:
        self.job, self.ctx, self.token = job, ctx, token
        self.loop = asyncio.get_running_loop()
        self.pending: list[concurrent.futures.Future[Any]] = []

    def __call__(self, timeline: dict[str, Any], output: Path) -> Any:
        from reelforge.pipelines.render import RenderJob

        job = RenderJob(timeline, output, settings=self.job.settings)
        future = asyncio.run_coroutine_threadsafe(job.arun(self.ctx, self._progress, self.token), self.loop)
        self.pending.append(future)
        return future.result()

    def _progress(self, event: Event) -> None:
        from reelforge.ffmpeg.run import Progress

        callback = self.job.on_render_progress
        if callback is None or event.type != "step.progress" or event.step == "join":
            return
        d = event.data
        callback(Progress(d["seconds"], d.get("frame") or 0, d.get("speed"), d["overall"] >= 1.0),
                 d["total_seconds"])

    async def finish_in_thread(self, fn: Callable[..., ScenesResult], *args: Any) -> ScenesResult:
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args, render_video=self))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            for future in self.pending:  # also when the task was cancelled without the token
                future.cancel()
            await asyncio.wait([work])
            if not work.cancelled():
                work.exception()  # retrieved: the cancellation is what the caller sees
            raise


def scene_pools(cpus: int) -> dict[str, int | str]:
    """One process holds the ML session for cut-outs (about 600 MB while it works). On two cores
    composites and backgrounds share that process — a second worker would cost ~270 MB for ~10 %
    of the work (the 100-scene 1080p run peaked at 1.11 GB with two) — and beside it elsewhere."""
    if cpus <= 2:
        return {CUTOUT_POOL: 1, SCENES_POOL: CUTOUT_POOL}
    return {CUTOUT_POOL: 1, SCENES_POOL: cpus - 1}
