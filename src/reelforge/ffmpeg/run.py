"""Run ffmpeg with `-progress`, turning its key=value blocks into progress callbacks.

`arun_ffmpeg` is the async runner every job uses: cancelling the task that awaits it kills
ffmpeg at once and waits for it before the cancellation goes on. `run_ffmpeg` is its blocking
twin for synchronous callers. Both start ffmpeg with the parent-death signal
(`reelforge.lifeline`): if reelforge is killed outright (SIGKILL, OOM), ffmpeg dies with it
instead of finishing an encode no one will use."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from reelforge.errors import FFmpegError
from reelforge.ffmpeg.feed import Feed, Feeding
from reelforge.lifeline import child_preexec

STDERR_TAIL_LINES = 25


@dataclass(frozen=True)
class Progress:
    """One progress report: seconds of output written so far, frames, speed (x realtime)."""

    out_seconds: float
    frame: int
    speed: float | None
    done: bool


ProgressCallback = Callable[[Progress], None]


def parse_progress_block(block: dict[str, str]) -> Progress:
    """`-progress` writes blocks of key=value lines ending in `progress=continue|end`."""
    out_us = block.get("out_time_us") or block.get("out_time_ms") or "0"
    try:
        seconds = max(0.0, int(out_us) / 1_000_000)
    except ValueError:  # "N/A" before the first frame
        seconds = 0.0
    speed_text = block.get("speed", "").rstrip("x").strip()
    try:
        speed: float | None = float(speed_text)
    except ValueError:
        speed = None
    frame = int(block["frame"]) if block.get("frame", "").isdigit() else 0
    return Progress(seconds, frame, speed, block.get("progress") == "end")


def _drain(stream: IO[str], sink: deque[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))
    stream.close()


def _with_progress(argv: list[str]) -> list[str]:
    return [*argv[:1], "-progress", "pipe:1", "-nostats", "-stats_period", "0.25", *argv[1:]]


def _child_setup() -> Callable[[], None] | None:
    """What an ffmpeg child does before it starts: die with reelforge however it dies (the
    parent-death signal, `reelforge.lifeline`), and lower its own CPU priority by
    `REELFORGE_FFMPEG_NICE` (the service sets 10, so a long encode never starves the API and the
    page that watches it; ffmpeg still gets every idle cycle)."""
    from reelforge.settings import get_settings

    lifeline = child_preexec()
    nice = get_settings().ffmpeg_nice if hasattr(os, "nice") else 0
    if nice <= 0:
        return lifeline

    def setup() -> None:
        if lifeline is not None:
            lifeline()
        os.nice(nice)

    return setup


def run_ffmpeg(argv: list[str], on_progress: ProgressCallback | None = None, feeds: Sequence[Feed] = ()) -> None:
    """Run one ffmpeg command to completion; raise FFmpegError with the stderr tail on failure.
    `feeds` supply the command's `pipe:@K` inputs (`reelforge.ffmpeg.feed`)."""
    feeding = Feeding(argv, feeds)
    try:
        proc = subprocess.Popen(
            _with_progress(feeding.argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, encoding="utf-8", errors="replace", preexec_fn=_child_setup(), pass_fds=feeding.pass_fds,
        )
    except BaseException:
        feeding.finish_quietly()
        raise
    feeding.spawned()
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    reader.start()
    block: dict[str, str] = {}
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            block[key] = value
            if key == "progress":
                if on_progress is not None:
                    on_progress(parse_progress_block(block))
                block = {}
        returncode = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        feeding.finish_quietly()
        raise
    reader.join(timeout=5)
    if returncode != 0:
        feeding.finish_quietly()
        raise FFmpegError(argv, returncode, "\n".join(tail))
    feeding.finish()


async def _adrain(stream: asyncio.StreamReader, sink: deque[str]) -> None:
    async for line in stream:
        sink.append(line.decode("utf-8", "replace").rstrip("\n"))


async def _read_progress(stream: asyncio.StreamReader, on_progress: ProgressCallback | None) -> None:
    block: dict[str, str] = {}
    async for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        block[key] = value
        if key == "progress":
            if on_progress is not None:
                on_progress(parse_progress_block(block))
            block = {}


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL and reap, even if this task is cancelled again meanwhile (no zombie, no orphan)."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    while True:
        try:
            await asyncio.shield(proc.wait())
            return
        except asyncio.CancelledError:
            continue


async def arun_ffmpeg(argv: list[str], on_progress: ProgressCallback | None = None,
                      feeds: Sequence[Feed] = ()) -> None:
    """Run one ffmpeg command on the event loop; raise FFmpegError with the stderr tail on
    failure. Cancelling the awaiting task kills ffmpeg (SIGKILL: the output is a temp file that
    is thrown away anyway), waits for it to exit, and re-raises the cancellation."""
    feeding = Feeding(argv, feeds)
    try:
        proc = await asyncio.create_subprocess_exec(
            *_with_progress(feeding.argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL, limit=1 << 20, preexec_fn=_child_setup(), pass_fds=feeding.pass_fds)
    except BaseException:
        feeding.finish_quietly()
        raise
    feeding.spawned()
    assert proc.stdout is not None and proc.stderr is not None
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    drain = asyncio.create_task(_adrain(proc.stderr, tail))
    try:
        await _read_progress(proc.stdout, on_progress)
        returncode = await proc.wait()
        await drain
    except BaseException:
        drain.cancel()
        await _kill(proc)
        await asyncio.to_thread(feeding.finish_quietly)
        raise
    if returncode != 0:
        await asyncio.to_thread(feeding.finish_quietly)
        raise FFmpegError(argv, returncode, "\n".join(tail))
    await asyncio.to_thread(feeding.finish)
