"""Rendering a timeline as a job (kind "render"): `aplan` says what the render would do (the
duration, size and ffmpeg commands `--dry-run` prints), `arun` renders it on the event loop and
reports every ffmpeg run as a step — `encode`, or `segment-001`… and `join` for long timelines:

    run.started (steps, duration, frames, size) → step.started → step.progress (fraction of the
    step, overall fraction of the render, seconds written) … → step.finished → run.finished

Cancelling (a `CancelToken`, or the awaiting task) kills ffmpeg at once; the output path is
left untouched and neither a `.part` file nor a segments folder stays behind.

A video layer with a `generate:` block gets its clip first (pipelines/clip/timeline.py: one cached
step per block — a rerun calls nothing); the render then reads the generated file."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reelforge.pipelines.job import CancelToken, EventSink
from reelforge.pipelines.run_events import RunEvents, run_light
from reelforge.render.api import RenderResult, RenderWork, StepReport, execute, prepare_render
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings
from reelforge.spec.loader import load_timeline
from reelforge.spec.timeline import Timeline


@dataclass
class RenderJob:
    """One timeline (object, spec path or dict) rendered to `output`. `quality`, `fmt` and
    `hardware` override the spec's output section, as the CLI flags do."""

    spec: Timeline | str | Path | dict[str, Any]
    output: Path
    quality: str | None = None
    fmt: str | None = None
    hardware: str | None = None
    settings: Settings | None = None
    on_event: EventSink | None = None

    kind: ClassVar[str] = "render"

    budget_usd: float | None = None  # for generated clips (`generate:` blocks)

    async def _work(self, ctx: RuntimeContext, spec: Timeline | str | Path | dict[str, Any] | None = None) -> RenderWork:
        settings = self.settings or ctx.settings
        # preparing renders stills (text, gradients, images): CPU work, kept off the event loop
        return await asyncio.to_thread(prepare_render, self.spec if spec is None else spec, Path(self.output),
                                       quality=self.quality, fmt=self.fmt, hardware=self.hardware,
                                       segment_clips=settings.segment_clips)

    def _timeline(self) -> Timeline:
        return self.spec if isinstance(self.spec, Timeline) else load_timeline(self.spec)

    async def aplan(self, ctx: RuntimeContext) -> RenderResult:
        """What the render would do; runs no ffmpeg (`output` is None, `commands` the argv's).
        Clips still to generate are listed (with their cost) instead of the render's commands,
        which need the clips' lengths."""
        tl = await asyncio.to_thread(self._timeline)
        if not tl.generate_blocks():
            return (await self._work(ctx, tl)).dry_run()
        from reelforge.pipelines.clip.timeline import generate_clips, plan_clips

        settings = self.settings or ctx.settings
        plan = await plan_clips(tl, ctx, settings)
        todo = [p for p in plan.steps if not p.cached]
        if todo:
            cost = f"${plan.estimate_usd:.2f}" if plan.estimate_usd is not None else "unpriced"
            notes = tuple(f"would generate {p.step.label} ({p.step.provider or 'local'}, "
                          f"{p.step.params['duration']} s)" for p in todo)
            return RenderResult(None, 0.0, 0, [], "", (*notes, f"{plan.calls} paid call(s), {cost}; the render's "
                                                       "ffmpeg commands follow once the clips exist"))
        done, _ = await generate_clips(tl, ctx, settings)  # all cached: reads the store, calls nothing
        return (await self._work(ctx, done)).dry_run()

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> RenderResult:
        run = RunEvents(ctx, events)
        tl = await asyncio.to_thread(self._timeline)
        if tl.generate_blocks():
            from reelforge.pipelines.clip.timeline import generate_clips

            async with (cancel or CancelToken()).scope():
                tl, _ = await generate_clips(tl, ctx, self.settings or ctx.settings, budget_usd=self.budget_usd,
                                             bus_sink=events)
        work = await self._work(ctx, tl)
        plan = work.plan
        summary: dict[str, Any] = {"output": str(work.output), "duration": plan.duration,
                                   "frames": plan.total_frames}
        async with run.run(cancel, summary, kind=self.kind, title=f"render {work.output.name}",
                           steps=len(work.steps), duration=plan.duration, frames=plan.total_frames,
                           size=[plan.width, plan.height], warnings=list(work.warnings)):
            result = await execute(work, lambda report: _emit_step(run, report))
            summary["commands"] = len(result.commands)
        return result

    def plan(self) -> RenderResult:
        return run_light(self.aplan, self.settings, records=self._generates())

    def run(self, cancel: CancelToken | None = None) -> RenderResult:
        # generated clips are provider steps: their run records let a killed Veo poll resume
        return run_light(lambda ctx: self.arun(ctx, self.on_event, cancel), self.settings, records=self._generates())

    def _generates(self) -> bool:
        from reelforge.errors import ReelforgeError

        try:
            return bool(self._timeline().generate_blocks())
        except ReelforgeError:  # an invalid spec: the run reports it with its field paths
            return False


def _emit_step(run: RunEvents, report: StepReport) -> None:
    if report.type == "started":
        run.emit("step.started", report.step, kind="render.ffmpeg", label=report.label)
    elif report.type == "progress":
        p = report.progress
        run.emit("step.progress", report.step, fraction=round(report.fraction, 4), overall=round(report.overall, 4),
                 message=f"{report.seconds:.1f} / {report.total:.1f} s", seconds=report.seconds,
                 total_seconds=report.total, frame=p.frame if p else None, speed=p.speed if p else None)
    elif report.type == "finished":
        run.emit("step.finished", report.step, kind="render.ffmpeg", label=report.label)
    else:
        run.emit("step.failed", report.step, kind="render.ffmpeg", label=report.label, error=report.error)
