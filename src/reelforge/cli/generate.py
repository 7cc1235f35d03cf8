"""`reelforge image`, `reelforge runs` and `reelforge providers`: parse, call the library, print.
Only typer and the standard library load at import time (the CLI's --help stays fast)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelforge.cli._common import fail

if TYPE_CHECKING:
    from reelforge.pipelines.images import ImageJob, ImageJobResult
    from reelforge.runtime import Event

runs_app = typer.Typer(no_args_is_help=True, help="Past runs: status, steps, cost.")


def register(app: typer.Typer) -> None:
    app.command("image")(image)
    app.command("providers")(providers)
    app.add_typer(runs_app, name="runs")


def image(
    prompt: Annotated[str | None, typer.Argument(help="What to generate (or use --batch).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the images.")] = Path("."),
    count: Annotated[int, typer.Option("-n", "--count", help="Images per prompt.")] = 1,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="local, gemini, imagen, openai, flux, sdwebui (default: REELFORGE_IMAGE_PROVIDER or local).")] = None,
    aspect: Annotated[str, typer.Option("--aspect", help="Aspect ratio W:H, e.g. 16:9.")] = "1:1",
    refs: Annotated[list[Path] | None, typer.Option("--ref", help="Reference image (repeatable) to edit or keep consistent with.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed, where the provider supports one.")] = None,
    negative: Annotated[str | None, typer.Option("--negative", help="Negative prompt, where supported.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="A file of prompts: one per line (.txt) or JSON objects (.jsonl).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the planned calls and estimated cost; call nothing.")] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="Refuse any call that would take the run past this many USD.")] = None,
    refresh: Annotated[list[str] | None, typer.Option("--refresh", help="Recompute a step id (e.g. 003), a step kind, or 'all'.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Calls in flight at once.")] = None,
    rpm: Annotated[float | None, typer.Option("--rpm", help="Requests per minute (spaced evenly).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds one call may take.")] = None,
    deadline: Annotated[float | None, typer.Option("--deadline", help="Seconds the whole run may take.")] = None,
) -> None:
    """Generate images from a prompt or a batch file (finished images are never paid for twice)."""
    from reelforge.errors import ReelforgeError

    try:
        job = _job(prompt, batch, output, count, provider, aspect, refs or [], seed, negative, budget,
                   refresh or [], {"max_concurrency": concurrency, "rpm": rpm, "timeout_s": timeout}, deadline)
        if dry_run:
            _print_plan(job)
            return
        result = _run_with_display(job)
    except ReelforgeError as exc:
        fail(exc)
        return
    raise typer.Exit(_report(job, result))


def _job(prompt: str | None, batch: Path | None, output: Path, count: int, provider: str | None, aspect: str,
         refs: list[Path], seed: int | None, negative: str | None, budget: float | None, refresh: list[str],
         limits: dict[str, Any], deadline: float | None) -> ImageJob:
    from dataclasses import replace

    from reelforge.errors import SpecError
    from reelforge.pipelines.images import ImageItem, ImageJob, read_batch
    from reelforge.settings import get_settings

    if (prompt is None) == (batch is None):
        raise SpecError("give a PROMPT or --batch FILE (one of them)", hint='reelforge image "a red fox" -o out/')
    if budget is not None and budget < 0:
        raise SpecError("--budget must not be negative")
    bad: list[str] = []
    if batch is not None:
        items, bad = read_batch(batch)
        if batch.suffix != ".jsonl":  # a plain prompt list takes its options from the command line
            items = [replace(i, count=count, aspect=aspect, refs=tuple(refs), seed=seed, negative_prompt=negative)
                     for i in items]
    else:
        items = [ImageItem(prompt or "", count, aspect, tuple(refs), seed, negative, source="PROMPT")]
    settings = get_settings()
    return ImageJob(items, output, provider or settings.image_provider, settings, budget, deadline, tuple(refresh),
                    {k: v for k, v in limits.items() if v is not None}, bad_items=bad)


def _print_plan(job: ImageJob) -> None:
    plan, bad = job.plan()
    for note in job.notes:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    for step in plan.steps:
        state = "cached" if step.cached else "call"
        cost = "?" if step.estimate_usd is None else f"${step.estimate_usd:.4f}"
        typer.echo(f"{step.step.id:>8}  {state:6}  {job.provider}/{step.step.model}  {cost:>9}  {step.step.label[:70]}")
    total = "unknown (no price for this model)" if plan.estimate_usd is None else f"${plan.estimate_usd:.4f}"
    typer.echo(f"plan: {plan.calls} call(s), {plan.cached} cached, estimated cost {total}")
    _print_bad(bad)
    if bad:
        raise typer.Exit(2)


def _run_with_display(job: ImageJob) -> ImageJobResult:
    display = _RunDisplay()
    job.on_event = display
    with display:
        return job.run()


def _report(job: ImageJob, result: ImageJobResult) -> int:
    """Print what was written, what failed and the cost; return the exit code."""
    for paths in result.files.values():
        for path in paths:
            typer.echo(f"wrote {path}")
    report = result.report
    failed = report.failed if report else []
    for outcome in failed:
        typer.secho(f"failed {outcome.step.id} ({outcome.step.label[:50]}): {outcome.error}", fg="red", err=True)
    _print_bad(result.bad_items)
    if report:
        s = report.summary
        typer.echo(f"run {report.run_id}: {s['succeeded']} generated, {s['cached']} cached, {s['failed'] + s['skipped']} "
                   f"failed; {s['calls']} call(s), {s['retries']} retried; cost ${s['cost_usd']:.4f}"
                   f" (saved ${s['saved_usd']:.4f} by cache) in {s['seconds']:.1f} s")
    if result.bad_items or any(_is_input_error(o.exception) for o in failed):
        return 2
    return 1 if failed else 0


def _is_input_error(exc: BaseException | None) -> bool:
    return getattr(exc, "exit_code", 1) == 2


def _print_bad(bad: list[str]) -> None:
    for message in bad:
        typer.secho(f"skipped (bad input) {message}", fg="red", err=True)


class _RunDisplay:
    """Renders the event stream: a progress bar on a terminal, one line per notable event."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True, highlight=False)
        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("${task.fields[cost]:.4f}"), TimeElapsedColumn(),
                                 console=self.console, transient=True, disable=not sys.stderr.isatty())
        self.task: Any = None

    def __enter__(self) -> _RunDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.type == "run.started":
            self.task = self.progress.add_task("images", total=d["steps"], cost=0.0)
        elif event.type in ("step.cached", "step.finished", "step.failed", "step.skipped"):
            self.progress.advance(self.task)
        if event.type == "cost":
            self.progress.update(self.task, cost=d["total_usd"])
        elif event.type == "step.retried":
            self.console.print(f"retry {event.step}: {d['error']} — waiting {d['wait_s']:.1f} s", markup=False)
        elif event.type == "step.cached":
            self.console.print(f"cached {event.step}: already generated, not paid again", markup=False)


def providers() -> None:
    """List the providers of every capability (images, cut-outs, vision, video, …): available
    here, or why not and what to set. Servers you run yourself (sdwebui) are asked whether they answer."""
    import importlib

    from reelforge.runtime.context import REGISTRIES
    from reelforge.settings import get_settings

    settings = get_settings()
    for capability, ref in REGISTRIES.items():
        module, attr = ref.split(":")
        registry = getattr(importlib.import_module(module), attr)
        typer.secho(f"{capability} providers", bold=True)
        for availability in registry.status(settings, live=True):
            entry = availability.entry
            state = "available" if availability.available else f"unavailable: {availability.reason}"
            typer.echo(f"  {entry.name:10} {state}")
            typer.echo(f"             {entry.summary}")
            for var, meaning in entry.env:
                typer.echo(f"             {var}: {meaning}")


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option("--limit", help="How many runs, newest first.")] = 20) -> None:
    """Recent runs with their state and cost."""
    from reelforge.runtime import RunStore
    from reelforge.settings import get_settings

    store = RunStore(get_settings().database)
    store.mark_interrupted()
    for run in store.list_runs(limit):
        summary = json.loads(run.summary or "{}")
        typer.echo(f"{run.id}  {run.created_at:%Y-%m-%d %H:%M:%S}  {run.state:11}  "
                   f"{summary.get('steps', 0):>4} steps  ${run.cost_usd:.4f}  {run.title}")


@runs_app.command("show")
def runs_show(run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")]) -> None:
    """One run: state, cost summary and every step."""
    from reelforge.errors import InputError
    from reelforge.runtime import RunStore
    from reelforge.settings import get_settings

    found = RunStore(get_settings().database).get_run(run_id)
    if found is None:
        fail(InputError(f"no run {run_id!r} (or the prefix is not unique)", hint="see `reelforge runs list`"))
        return
    run, steps = found
    typer.echo(f"run {run.id}  {run.state}  {run.title}")
    typer.echo(f"started {run.created_at:%Y-%m-%d %H:%M:%S}" + (f", finished {run.finished_at:%H:%M:%S}" if run.finished_at else ""))
    if run.error:
        typer.echo(f"error: {run.error}")
    typer.echo("summary: " + json.dumps(json.loads(run.summary or "{}")))
    for step in steps:
        seconds = f"{step.seconds:.2f} s" if step.seconds is not None else ""
        typer.echo(f"  {step.step_id:>8}  {step.state:9}  attempts {step.attempts}  ${step.cost_usd:.4f}  {seconds:>8}  "
                   f"{step.label[:50]}" + (f"  error: {step.error}" if step.error else ""))
