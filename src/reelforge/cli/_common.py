"""Helpers every `reelforge` subcommand shares: how an error is printed and exits, usage errors,
choice checks, warnings and the render progress bar. Kept apart from `main.py` so subcommand
modules never import the command module that registers them."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer


def fail(exc: Exception) -> NoReturn:
    """Print `exc` as a one-line error and exit with its exit code (2 for bad input, else 1)."""
    from rich.console import Console
    from rich.text import Text

    # the message is Text, not markup: a file name such as `a[/b.mp4` must print, not crash
    Console(stderr=True).print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
    raise typer.Exit(getattr(exc, "exit_code", 1))


def usage_error(message: str) -> Exception:
    """A bad flag or argument: a SpecError, so it exits with code 2."""
    from reelforge.errors import SpecError

    return SpecError(message)


def check_choice(flag: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        fail(usage_error(f"{flag} {value!r} is not one of: {', '.join(choices)}"))


def print_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)


class ProgressBar:
    """A rich progress bar with ETA fed by a job's step.progress events (silent when not a TTY)."""

    def __init__(self, description: str) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
                                 disable=not sys.stderr.isatty())
        self.description = description
        self.task: Any = None

    def __enter__(self) -> Callable[[Any], None]:
        self.progress.start()

        def on_event(event: Any) -> None:
            if event.type != "step.progress":
                return
            if self.task is None:
                self.task = self.progress.add_task(self.description, total=1.0)
            self.progress.update(self.task, completed=event.data.get("overall", event.data["fraction"]))

        return on_event

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


_signalled: int | None = None


def handle_sigterm_like_ctrl_c() -> None:
    """SIGTERM (`kill`, `docker stop`, systemd, CI) does what Ctrl-C does: the job is cancelled,
    ffmpeg and pool workers are stopped, temp files removed, and the command exits 143 (130 for
    Ctrl-C). Without this Python dies on the spot and its children keep running."""
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):  # SIGHUP: the terminal went away
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:  # `nohup` stays ignored
            signal.signal(signum, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _signalled
    _signalled = signum
    # whatever handles SIGINT now: asyncio.run's handler cancels the main task (cleanup runs in
    # its `finally` blocks); outside an event loop, Python's default raises KeyboardInterrupt
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt


def exit_code_for_interrupt(exc: SystemExit) -> int | str | None:
    """128 + the signal for a command stopped by SIGTERM/SIGHUP or Ctrl-C (click turns
    KeyboardInterrupt into "Aborted!" and exit 1), else the command's own exit code."""
    if exc.code in (0, None) or not _interrupted(exc):
        return exc.code
    return 128 + (_signalled or signal.SIGINT)


def _interrupted(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None:
            return _signalled is not None
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return _signalled is not None


def step_lines() -> Callable[[Any], None] | None:
    """On a terminal: one stderr line per step that finished, came from the cache, failed or was
    retried (the product-shots and story commands; their steps are few and slow)."""
    if not sys.stderr.isatty():
        return None

    def show(event: Any) -> None:
        kind, data = event.type, event.data
        if kind in ("step.finished", "step.cached", "step.failed", "step.retried"):
            typer.echo(f"{kind.split('.')[1]:8} {data.get('label') or event.step}"
                       + (f": {data.get('error')}" if data.get("error") else ""), err=True)

    return show

