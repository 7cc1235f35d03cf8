"""The `reelforge` command. Parse, call the library, print. Heavy modules load lazily so
`reelforge --version` and `--help` stay fast."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from reelforge import __version__

app = typer.Typer(
    name="reelforge", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Turn specs, images and clips into finished videos (one FFmpeg run per render).",
)
SCHEMAS = ("timeline",)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reelforge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens (debug level).")] = False,
) -> None:
    from reelforge.logging import configure_logging
    from reelforge.settings import get_settings

    settings = get_settings()
    configure_logging("debug" if verbose else settings.log_level, settings.log_format)


def _fail(exc: Exception) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(getattr(exc, "exit_code", 1))


@app.command()
def render(
    spec: Annotated[Path, typer.Argument(help="Timeline spec (YAML or JSON).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.mp4, .webm, .mov, .gif).")],
    preset: Annotated[str | None, typer.Option("--preset", help="Quality: draft, standard or high.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="mp4, mp4-h265, webm, webm-alpha, mov-prores, gif.")] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", help="nvenc, vaapi or qsv (falls back to software).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ffmpeg command instead of running it.")] = False,
) -> None:
    """Render a timeline spec to a video file."""
    from reelforge.errors import ReelforgeError
    from reelforge.render.api import render as do_render
    from reelforge.render.api import shell_command

    _check_choice("--preset", preset, ("draft", "standard", "high"))
    _check_choice("--format", fmt, ("mp4", "mp4-h265", "webm", "webm-alpha", "mov-prores", "gif"))
    _check_choice("--hardware", hardware, ("none", "nvenc", "vaapi", "qsv"))
    try:
        if dry_run:
            result = do_render(spec, output, quality=preset, fmt=fmt, hardware=hardware, dry_run=True)
            _print_warnings(result.warnings)
            for argv in result.commands:
                typer.echo(shell_command(argv))
            return
        with _progress_bar(f"rendering {output.name}") as on_progress:
            result = do_render(spec, output, quality=preset, fmt=fmt, hardware=hardware, on_progress=on_progress)
    except ReelforgeError as exc:
        _fail(exc)
    _print_warnings(result.warnings)
    typer.echo(f"wrote {output} ({result.duration:.2f} s, {result.frames} frames)")


@app.command()
def frame(
    spec: Annotated[Path, typer.Argument(help="Timeline spec (YAML or JSON).")],
    at: Annotated[float, typer.Option("--at", help="Time in seconds.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")],
) -> None:
    """Render the single frame shown at a given time (a quick preview)."""
    from reelforge.errors import ReelforgeError
    from reelforge.render.api import render_frame

    try:
        render_frame(spec, at, output)
    except ReelforgeError as exc:
        _fail(exc)
    typer.echo(f"wrote {output}")


@app.command()
def probe(
    file: Annotated[Path, typer.Argument(help="A video, audio or image file.")],
    count_frames: Annotated[bool, typer.Option("--count-frames", help="Decode to count frames exactly.")] = False,
) -> None:
    """Describe a media file as JSON (duration, streams, sizes, codecs)."""
    from reelforge.errors import ReelforgeError
    from reelforge.ffmpeg.probe import probe as do_probe

    try:
        info = do_probe(file, count_frames=count_frames)
    except ReelforgeError as exc:
        _fail(exc)
    typer.echo(json.dumps(info.to_dict(), indent=2))


@app.command()
def schema(name: Annotated[str, typer.Argument(help="Which schema: " + ", ".join(SCHEMAS))] = "timeline") -> None:
    """Print the JSON Schema of a spec document."""
    from reelforge.spec.schema import json_schema

    if name not in SCHEMAS:
        _fail(_usage(f"unknown schema {name!r}; use one of: {', '.join(SCHEMAS)}"))
    typer.echo(json.dumps(json_schema(name), indent=2))


@app.command()
def fonts() -> None:
    """List the bundled font families usable as `font:` in text layers."""
    from reelforge.imaging.fonts import bundled_families

    for name, face in sorted(bundled_families().items()):
        typer.echo(f"{name:14} {face.path}")


def _usage(message: str) -> Exception:
    from reelforge.errors import SpecError

    return SpecError(message)


def _check_choice(flag: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        _fail(_usage(f"{flag} {value!r} is not one of: {', '.join(choices)}"))


def _print_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)


class _progress_bar:
    """A rich progress bar with ETA fed by ffmpeg's -progress reports (silent when not a TTY)."""

    def __init__(self, description: str) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
                                 disable=not sys.stderr.isatty())
        self.description = description
        self.task: Any = None

    def __enter__(self) -> Callable[[Any, float], None]:
        self.progress.start()

        def on_progress(p: Any, total: float) -> None:
            if self.task is None:
                self.task = self.progress.add_task(self.description, total=max(total, 0.001))
            self.progress.update(self.task, completed=total if p.done else min(p.out_seconds, total))

        return on_progress

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


from reelforge.cli.generate import register as _register_generation  # noqa: E402 (needs `app`)

_register_generation(app)


def run() -> None:
    app()
