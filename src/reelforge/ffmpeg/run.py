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
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from reelforge.errors import FFmpegError, InputError
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

# ffmpeg ≥ 7 names the input of a decoder's complaint: "[vist#1:0/h264 @ 0x…] [dec:h264 @ 0x…] corrupt
# decoded frame". The decoders' own lines ("[h264 @ 0x…] error while decoding MB …") come with them
# but say nothing of which file, so only these are counted.
_DECODE_ERROR = re.compile(r"^\[[va]ist#(\d+):\d+/[^\]]*\]\s*(?:\[dec:[^\]]*\]\s*)?(.*(?:corrupt decoded frame|"
                           r"Error submitting packet to decoder|Decoding error|error while decoding).*)$")


@dataclass(frozen=True)
class DecodeError:
    """An input that could not be decoded cleanly: ffmpeg conceals the damage (frozen or smeared
    frames) and goes on, so without this a corrupt file renders 'successfully'."""

    input_index: int
    message: str
    at_seconds: float  # of the output, when ffmpeg said it


@dataclass
class FFmpegRun:
    """What one ffmpeg run reported besides its output."""

    decode_errors: list[DecodeError] = field(default_factory=list)
    out_seconds: float = 0.0

    def watch(self, line: str) -> None:
        match = _DECODE_ERROR.match(line)
        if match:
            self.decode_errors.append(DecodeError(int(match.group(1)), match.group(2).strip(), self.out_seconds))

    def damaged_inputs(self, argv: list[str]) -> dict[str, list[DecodeError]]:
        """The input files ffmpeg could not decode cleanly, with their complaints."""
        inputs = input_paths(argv)
        damaged: dict[str, list[DecodeError]] = {}
        for error in self.decode_errors:
            name = inputs[error.input_index] if error.input_index < len(inputs) else f"input {error.input_index}"
            damaged.setdefault(name, []).append(error)
        return damaged


_PACKET_TIME = re.compile(r"demuxer\+ffmpeg -> .*? pkt_pts_time:([0-9.]+)")
_COMPLAINT = re.compile(r"(?i)error|invalid|corrupt|conceal")


def locate_damage(path: str, timeout_s: float = 120) -> float | None:
    """Where in `path` the first damaged packet is (seconds), from a single-threaded decode that
    logs each packet's time before the decoder complains about it. Only run for files a render
    found damaged, so its cost (one more decode) is paid only then."""
    from reelforge.ffmpeg.binary import ffmpeg_path

    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-debug_ts", "-threads", "1", "-i", f"file:{path}",
            "-map", "0:v:0?", "-f", "null", "-"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout_s,
                              preexec_fn=child_preexec(), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    last: float | None = None
    for line in done.stderr.splitlines():
        packet = _PACKET_TIME.search(line)
        if packet:
            last = float(packet.group(1))
        elif last is not None and _COMPLAINT.search(line):
            return last
    return None


def damage_warning(path: str, errors: list[DecodeError]) -> str:
    at = locate_damage(path) if os.path.isfile(path) else None
    where = f"from about {at:.2f} s into the file" if at is not None else "somewhere in the file"
    return (f"{path} is damaged {where} ({len(errors)} decode error(s): {errors[0].message}); ffmpeg hid the "
            f"damage with frozen or smeared frames — re-encode the file or use an undamaged copy")


def _failure(argv: list[str], returncode: int, tail: deque[str], report: FFmpegRun) -> Exception:
    """ffmpeg's exit is the user's to fix when an input could not be decoded (a corrupt JPEG
    handed to it as is, a broken video): name the file instead of showing ffmpeg's log."""
    damaged = report.damaged_inputs(argv)
    if damaged:
        path, errors = next(iter(damaged.items()))
        return InputError(f"{path} cannot be decoded: it is corrupt or truncated ({errors[0].message})",
                          hint="re-export or re-download the file (check that it opens in a viewer or player)")
    return FFmpegError(argv, returncode, "\n".join(tail))


def input_paths(argv: list[str]) -> list[str]:
    """The files of an ffmpeg command's `-i` options, in input order (`file:` prefix removed)."""
    return [argv[i + 1].removeprefix("file:") for i, arg in enumerate(argv[:-1]) if arg == "-i"]


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


def _drain(stream: IO[str], sink: deque[str], report: FFmpegRun) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))
        report.watch(line.rstrip("\n"))
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


def run_ffmpeg(argv: list[str], on_progress: ProgressCallback | None = None,
               feeds: Sequence[Feed] = ()) -> FFmpegRun:
    """Run one ffmpeg command to completion; raise FFmpegError with the stderr tail on failure.
    `feeds` supply the command's `pipe:@K` inputs (`reelforge.ffmpeg.feed`)."""
    feeding = Feeding(argv, feeds, child_setup=_child_setup())
    try:
        proc = subprocess.Popen(
            _with_progress(feeding.argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, encoding="utf-8", errors="replace", preexec_fn=_child_setup(), pass_fds=feeding.pass_fds,
        )
    except BaseException:
        feeding.finish_quietly()
        raise
    try:
        feeding.spawned()
    except BaseException:  # the feeds could not start: ffmpeg must not wait on their pipes
        proc.kill()
        proc.wait()
        feeding.finish_quietly()
        raise
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    report = FFmpegRun()
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail, report), daemon=True)
    reader.start()
    block: dict[str, str] = {}
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            block[key] = value
            if key == "progress":
                progress = parse_progress_block(block)
                report.out_seconds = progress.out_seconds
                if on_progress is not None:
                    on_progress(progress)
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
        raise _failure(argv, returncode, tail, report)
    feeding.finish()
    return report


async def _adrain(stream: asyncio.StreamReader, sink: deque[str], report: FFmpegRun) -> None:
    async for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        sink.append(line)
        report.watch(line)


async def _read_progress(stream: asyncio.StreamReader, on_progress: ProgressCallback | None,
                         report: FFmpegRun) -> None:
    block: dict[str, str] = {}
    async for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        block[key] = value
        if key == "progress":
            progress = parse_progress_block(block)
            report.out_seconds = progress.out_seconds
            if on_progress is not None:
                on_progress(progress)
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
                      feeds: Sequence[Feed] = ()) -> FFmpegRun:
    """Run one ffmpeg command on the event loop; raise FFmpegError with the stderr tail on
    failure. Cancelling the awaiting task kills ffmpeg (SIGKILL: the output is a temp file that
    is thrown away anyway), waits for it to exit, and re-raises the cancellation."""
    feeding = Feeding(argv, feeds, child_setup=_child_setup())
    try:
        proc = await asyncio.create_subprocess_exec(
            *_with_progress(feeding.argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL, limit=1 << 20, preexec_fn=_child_setup(), pass_fds=feeding.pass_fds)
    except BaseException:
        feeding.finish_quietly()
        raise
    try:
        feeding.spawned()
    except BaseException:  # the feeds could not start: ffmpeg must not wait on their pipes
        await _kill(proc)
        await asyncio.to_thread(feeding.finish_quietly)
        raise
    assert proc.stdout is not None and proc.stderr is not None
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    report = FFmpegRun()
    drain = asyncio.create_task(_adrain(proc.stderr, tail, report))
    try:
        await _read_progress(proc.stdout, on_progress, report)
        returncode = await proc.wait()
        await drain
    except BaseException:
        drain.cancel()
        await _kill(proc)
        await asyncio.to_thread(feeding.finish_quietly)
        raise
    if returncode != 0:
        await asyncio.to_thread(feeding.finish_quietly)
        raise _failure(argv, returncode, tail, report)
    await asyncio.to_thread(feeding.finish)
    return report
