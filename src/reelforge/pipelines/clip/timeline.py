"""A timeline's `generate:` blocks: each video layer that asks for a clip gets one cached clip
step (`video.local` or `video.generate`), run before the render; the layer then reads the
generated file. A rerun finds every clip in the cache and calls nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.errors import ReelforgeError
from reelforge.pipelines.clip.steps import ClipAsk, check_ask, check_usable, clip_actions, clip_step
from reelforge.runtime import Plan, Runner, RunOptions, RunReport, Step
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.runner import StepFailed
from reelforge.settings import Settings
from reelforge.spec.timeline import GenerateVideo, Timeline


def ask_of(block: GenerateVideo, canvas_size: tuple[int, int]) -> ClipAsk:
    aspect = block.aspect or ("9:16" if canvas_size[1] > canvas_size[0] else "16:9")
    return ClipAsk(block.provider, block.prompt, block.duration, aspect, block.resolution, block.model,
                   Path(block.image) if block.image else None, Path(block.last_frame) if block.last_frame else None,
                   block.negative_prompt)


def clip_steps(tl: Timeline, settings: Settings) -> list[tuple[str, Step]]:
    """(field path, step) per generate block, each checked against its model's limits first."""
    steps = []
    for n, (where, layer) in enumerate(tl.generate_blocks()):
        assert layer.generate is not None
        ask = ask_of(layer.generate, tl.canvas.size)
        check_ask(ask, settings, f"{where}.generate")
        steps.append((where, clip_step(f"clip{n + 1}", ask, settings, label=f"{where}: {ask.prompt[:60]}")))
    return steps


def _runner(ctx: RuntimeContext, settings: Settings) -> Runner:
    return Runner(actions={a.kind: a for a in clip_actions(settings)}, context=ctx)


async def plan_clips(tl: Timeline, ctx: RuntimeContext, settings: Settings) -> Plan:
    """What generating the timeline's clips would do: calls, cached steps, cost. Calls nothing."""
    return await _runner(ctx, settings).plan([s for _, s in clip_steps(tl, settings)])


async def generate_clips(tl: Timeline, ctx: RuntimeContext, settings: Settings, *, budget_usd: float | None = None,
                         bus_sink: Any = None) -> tuple[Timeline, RunReport]:
    """A copy of `tl` whose generate blocks read their generated (or cached) clips."""
    pairs = clip_steps(tl, settings)
    runner = _runner(ctx, settings)
    plan = await runner.plan([s for _, s in pairs])
    todo = {p.step.id for p in plan.steps if not p.cached}
    for where, step in pairs:  # a clip to generate needs a usable provider (a cached one does not)
        if step.id in todo:
            check_usable(ClipAsk(step.provider or "local", "", 0), settings, f"{where}.generate")
    if bus_sink is not None:
        runner.bus.subscribe(bus_sink)
    report = await runner.run([s for _, s in pairs], RunOptions(budget_usd, None, (), title="render: generate clips"))
    done = tl.model_copy(deep=True)
    layers = dict(done.generate_blocks())
    for where, step in pairs:
        outcome = report.outcomes.get(step.id)
        if outcome is None or outcome.result is None:
            if outcome is not None and isinstance(outcome.exception, ReelforgeError):
                raise outcome.exception  # a budget, a key, RAI filtering: says what to do
            error = outcome.error if outcome is not None else "did not run"
            raise StepFailed(f"{where}.generate: the clip was not generated: {error}")
        layer = layers[where]
        layer.path = str(ctx.store.path_of(outcome.result.artifacts[0]))  # type: ignore[attr-defined]
        layer.generate = None
    return done, report
