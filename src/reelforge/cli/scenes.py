"""`reelforge scenes`: scene prompts or images → a finished video. Parse, call the library, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelforge.cli._common import fail

if TYPE_CHECKING:
    from reelforge.pipelines.scenes import ScenesJob


def scenes(
    spec: Annotated[Path, typer.Argument(help="A scenes spec (.yaml/.json), or a text file with one prompt per line.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The video to write (.mp4).")],
    mode: Annotated[str | None, typer.Option("--mode", help="speed, balanced or premium (overrides the spec).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Image provider (overrides the spec).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model id for the provider.")] = None,
    aspect: Annotated[str | None, typer.Option("--aspect", help="Frame aspect, e.g. 9:16.")] = None,
    resolution: Annotated[str | None, typer.Option("--resolution", help="480p, 720p, 1080p, 1440p or 4k.")] = None,
    background: Annotated[str | None, typer.Option("--background", "--bg", help="A colour (#223344) or texture name (marble, wood, …).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Seconds per scene.")] = None,
    music: Annotated[str | None, typer.Option("--music", help="Background music file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the prompts, planned calls and estimated cost; call nothing.")] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="Stop before any call that would take the run past this many USD.")] = None,
    refresh: Annotated[list[str] | None, typer.Option("--refresh", help="Recompute a step id (s03.image), a step kind (scene.cutout), or 'all'.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Provider calls in flight at once.")] = None,
    rpm: Annotated[float | None, typer.Option("--rpm", help="Provider requests per minute.")] = None,
) -> None:
    """Generate (or take) one image per scene, cut out and composite it, and render the video."""
    from reelforge.errors import ReelforgeError

    # a path given on the command line is relative to where the command runs, not to the spec
    music = str(Path(music).resolve()) if music else None
    overrides = {"mode": mode, "provider": provider, "model": model, "aspect": aspect, "resolution": resolution,
                 "background": background, "duration": duration, "music": music}
    try:
        job = _job(spec, output, overrides, budget, refresh or [], {"max_concurrency": concurrency, "rpm": rpm})
        if dry_run:
            _print_plan(job)
            return
        result = _run(job)
    except ReelforgeError as exc:
        fail(exc)
        return
    typer.echo(result.summary)
    typer.echo(f"wrote {result.output}\nwrote {result.contact_sheet}\nwrote {result.report_path}")


def _job(spec: Path, output: Path, overrides: dict[str, Any], budget: float | None, refresh: list[str],
         limits: dict[str, Any]) -> ScenesJob:
    from reelforge.errors import SpecError
    from reelforge.pipelines.scenes import ScenesJob, load_scenes
    from reelforge.settings import get_settings

    if budget is not None and budget < 0:
        raise SpecError("--budget must not be negative")
    loaded = load_scenes(spec, overrides=overrides)
    return ScenesJob(loaded, output, get_settings(), budget, refresh=tuple(refresh),
                     limits={k: v for k, v in limits.items() if v is not None})


def _print_plan(job: ScenesJob) -> None:
    planned = job.plan()
    for note in planned.notes:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    typer.echo(f"mode {job.spec.mode}, provider {planned.provider}/{planned.model}"
               + ("" if job.spec.mode == "speed" else f", cut-out {job.spec.cutout_method}"))
    for index, prompt in planned.prompts.items():
        typer.echo(f"scene {index + 1} prompt: {prompt}")
    for step in planned.plan.steps:
        state = "cached" if step.cached else ("call" if step.step.provider else "local")
        cost = "?" if step.estimate_usd is None else f"${step.estimate_usd:.4f}"
        typer.echo(f"{step.step.id:>14}  {step.step.kind:17} {state:6}  {cost:>9}  {step.step.label[:60]}")
    plan = planned.plan
    total = "unknown (no price for this model)" if plan.estimate_usd is None else f"${plan.estimate_usd:.4f}"
    typer.echo(f"plan: {plan.calls} call(s), {plan.cached} cached step(s), estimated cost {total} "
               f"(regenerations after failed checks would add to it)")


def _run(job: ScenesJob) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, highlight=False)
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
                  disable=not sys.stderr.isatty()) as progress:
        steps = progress.add_task("scenes", total=None)
        render = progress.add_task("render", total=1.0, visible=False)

        def on_event(event: Any) -> None:
            if event.type == "run.started":
                progress.update(steps, total=event.data["steps"], completed=0)
            elif event.type in ("step.cached", "step.finished", "step.failed", "step.skipped"):
                progress.advance(steps)
            if event.type == "step.retried":
                console.print(f"retry {event.step}: {event.data['error']}", markup=False)
            elif event.type == "step.failed":
                console.print(f"failed {event.step}: {event.data['error']}", markup=False)

        def on_render(done: Any, total: float) -> None:  # done: ffmpeg's progress report
            progress.update(render, visible=True, total=total, completed=done.out_seconds)

        job.on_event, job.on_render_progress = on_event, on_render
        return job.run()
