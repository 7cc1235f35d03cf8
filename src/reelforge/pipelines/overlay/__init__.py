"""The overlay pipeline: burn images or styled text onto videos, one ffmpeg run per video, many
videos in parallel. Audio is copied untouched; frame size, rate and orientation are kept; the
encoder matches the input unless told otherwise.

    spec = OverlayJob(overlays=[Overlay(image="logo.png", position="top-right", opacity=0.8)])
    result = overlay_batch([Path("clips/")], spec, Path("out/"), jobs=2)

As a job (kind "overlay", `OverlayBatchJob`): each video is a step named by its path —
step.started / step.progress (fraction of the video written) / step.finished or step.failed —
between run.started and run.finished (whose summary counts the good and failed videos). A bad
video fails alone and the others go on; cancelling kills every ffmpeg of the batch and leaves no
half-written output.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from reelforge.atomic import atomic_output
from reelforge.errors import FFmpegError, InputError, ReelforgeError, SpecError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import compile_argv
from reelforge.ffmpeg.probe import MediaInfo, probe
from reelforge.ffmpeg.run import Progress, arun_ffmpeg, damage_warning
from reelforge.lifeline import temp_dir
from reelforge.pipelines.job import CancelToken, EventSink
from reelforge.pipelines.overlay.assets import AssetCache, PlacedOverlay, place, window
from reelforge.pipelines.overlay.plan import build_overlay_command
from reelforge.pipelines.run_events import RunEvents, run_light
from reelforge.render.match import FORMAT_EXTENSIONS, VideoEncoding, match_encoding
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings
from reelforge.spec.overlay import OverlayJob

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
ProgressHandler = Callable[[Progress, float | None], None]


@dataclass(frozen=True)
class FileResult:
    video: Path
    output: Path | None
    ok: bool
    seconds: float  # wall time spent on this file
    duration: float | None = None  # the video's length
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResult:
    results: list[FileResult]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if not r.ok]


def collect_videos(paths: list[Path]) -> list[Path]:
    """Files as given (a missing one fails on its own later); folders → their video files."""
    videos: list[Path] = []
    for path in paths:
        if path.is_dir():
            videos += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        else:
            videos.append(path)
    return videos


def _extension(video: Path, fmt: str) -> str:
    if fmt in FORMAT_EXTENSIONS:
        return FORMAT_EXTENSIONS[fmt]
    return video.suffix.lower() if video.suffix.lower() in VIDEO_EXTENSIONS else ".mp4"


def output_paths(videos: list[Path], output: Path, fmt: str, *, many: bool) -> list[Path]:
    """Where each result goes: `output` itself for one video and a file name, else
    `output/<name><ext>`. Refuses to overwrite an input or to write two results to one file."""
    single = not many and len(videos) == 1 and output.suffix and not output.is_dir()
    outs = [output] if single else [output / f"{v.stem}{_extension(v, fmt)}" for v in videos]
    if single and fmt in FORMAT_EXTENSIONS and output.suffix.lower() != FORMAT_EXTENSIONS[fmt]:
        raise SpecError(f"output {output.name} does not match --format {fmt}",
                        hint=f"name it *{FORMAT_EXTENSIONS[fmt]}, or leave --format out")
    seen: dict[Path, Path] = {}
    for video, out in zip(videos, outs):
        if out.resolve() == video.resolve():
            raise SpecError(f"the output {out} would overwrite its input", hint="write to another folder or name")
        if out.resolve() in seen:
            raise SpecError(f"{video} and {seen[out.resolve()]} would both be written to {out}",
                            hint="rename one of them, or process them into different folders")
        seen[out.resolve()] = video
    return outs


def _facts(video: Path) -> tuple[MediaInfo, tuple[int, int]]:
    info = probe(video, field_name=None)
    if info.video is None:
        raise InputError(f"{video} has no video stream", hint="pass a video file (an audio file cannot take overlays)")
    frame = info.video.display_size
    if frame is None:
        raise InputError(f"{video}: cannot read the frame size", hint="re-export the video as MP4 (H.264)")
    return info, frame


def _odd_size_encoding(encoding: VideoEncoding, frame: tuple[int, int]) -> VideoEncoding:
    """4:2:0 and 4:2:2 need even sizes in x264/x265; an odd-sized video keeps every pixel by
    switching to 4:4:4 at the same bit depth (and says so)."""
    if encoding.encoder not in ("libx264", "libx265") or (frame[0] % 2 == 0 and frame[1] % 2 == 0) \
            or "444" in encoding.pix_fmt:
        return encoding
    pix_fmt = "yuv444p10le" if encoding.pix_fmt.endswith("10le") else "yuv444p"
    options = list(encoding.options)
    options[options.index("-pix_fmt") + 1] = pix_fmt
    note = f"odd frame size {frame[0]}x{frame[1]}: encoded as 4:4:4 ({pix_fmt}) to keep every pixel"
    return replace(encoding, pix_fmt=pix_fmt, options=tuple(options), warnings=encoding.warnings + (note,))


def _placed(job: OverlayJob, cache: AssetCache, info: MediaInfo, frame: tuple[int, int],
            video: Path) -> tuple[list[PlacedOverlay], list[str]]:
    placed, warnings = [], []
    for index, item in enumerate(job.overlays):
        png, size, notes = cache.picture(index, frame)
        warnings += [f"{video.name}: {n}" for n in notes]
        x, y = place(item, size, frame, index, str(video))
        start, end, fade = window(item, info.duration, index, str(video))
        placed.append(PlacedOverlay(png, size, x, y, start, end, fade))
    return placed, warnings


@dataclass(frozen=True)
class _Prepared:
    info: MediaInfo
    encoding: VideoEncoding
    placed: list[PlacedOverlay]
    warnings: list[str]
    decoder: str | None


def _prepare(video: Path, job: OverlayJob, cache: AssetCache) -> _Prepared:
    """Probe the video, choose its encoding, render and place the overlays (blocking work)."""
    info, frame = _facts(video)
    assert info.video is not None
    enc = job.encoding
    encoding = _odd_size_encoding(match_encoding(info.video, fmt=enc.format, codec=enc.codec, crf=enc.crf,
                                                 preset=enc.preset), frame)
    placed, warnings = _placed(job, cache, info, frame, video)
    # VP8/VP9 keep alpha in a side stream that only the libvpx decoders read.
    decoder = {"vp9": "libvpx-vp9", "vp8": "libvpx"}.get(info.video.codec) if info.video.alpha and encoding.alpha \
        else None
    return _Prepared(info, encoding, placed, warnings, decoder)


async def aoverlay_video(video: Path, job: OverlayJob, output: Path, cache: AssetCache,
                         on_progress: ProgressHandler | None = None) -> FileResult:
    """Burn the job's overlays onto one video; raises ReelforgeError for what the user can fix.
    Cancelling kills its ffmpeg; the output path is then left as it was."""
    began = time.perf_counter()
    prepared = await asyncio.to_thread(_prepare, video, job, cache)
    info, encoding = prepared.info, prepared.encoding
    reached = [0.0]

    def report(p: Progress) -> None:
        reached[0] = max(reached[0], p.out_seconds)
        if on_progress is not None:
            on_progress(p, info.duration)

    with atomic_output(output) as tmp:
        command, audio = build_overlay_command(str(video), info, prepared.placed, encoding, str(tmp),
                                               decoder=prepared.decoder)
        argv = compile_argv(command, ffmpeg=ffmpeg_path())
        run = await arun_ffmpeg(argv, report)
        _check_complete(video, reached[0], info.duration)
    damaged = [await asyncio.to_thread(damage_warning, path, errors)
               for path, errors in run.damaged_inputs(argv).items()]
    notes = tuple(prepared.warnings) + encoding.warnings + ((audio.warning,) if audio.warning else ()) + tuple(damaged)
    status = "ok, but the input is damaged" if damaged else "ok"
    return FileResult(video, output, True, time.perf_counter() - began, info.duration, status, notes, tuple(argv))


def overlay_video(video: Path, job: OverlayJob, output: Path, cache: AssetCache,
                  on_progress: ProgressHandler | None = None) -> FileResult:
    """Blocking form of `aoverlay_video`."""
    from reelforge.render.api import run_coroutine_sync

    return run_coroutine_sync(lambda: aoverlay_video(video, job, output, cache, on_progress))


def _check_complete(video: Path, reached: float, duration: float | None) -> None:
    """ffmpeg skips over damaged data and exits 0, so a truncated file would quietly give a
    shorter video. Fail it instead when clearly less than the header's duration came out."""
    if duration and reached < duration - max(0.5, 0.02 * duration):
        raise InputError(f"{video} is truncated or corrupt: only {reached:.2f} of its {duration:.2f} s could be "
                         "decoded", hint="re-download or re-export the file (nothing was written)")


def _failure(video: Path, exc: ReelforgeError, began: float) -> FileResult:
    message = str(exc)
    if isinstance(exc, FFmpegError):
        message = (f"{video}: ffmpeg could not process this file (corrupt, truncated or unsupported?):\n"
                   f"{exc.stderr_tail.strip()[-800:]}\n  fix: check that the file plays; re-export it as MP4 (H.264)")
    return FileResult(video, None, False, time.perf_counter() - began, message=message)


@dataclass(frozen=True)
class OverlayPlan:
    """What a batch would do: each video and where its result goes."""

    targets: list[tuple[Path, Path]]
    jobs: int


@dataclass
class OverlayBatchJob:
    """Videos (files and folders) with the overlays of `spec`, written to `output` (a file for
    one video, else a folder); up to `jobs` ffmpeg runs at once (default: the CPU count)."""

    videos: list[Path]
    spec: OverlayJob
    output: Path
    jobs: int | None = None
    settings: Settings | None = None
    on_event: EventSink | None = None

    kind: ClassVar[str] = "overlay"

    def _targets(self) -> list[tuple[Path, Path]]:
        files = collect_videos(self.videos)
        if not files:
            raise InputError("no videos to process",
                             hint=f"pass video files or folders holding {', '.join(VIDEO_EXTENSIONS)}")
        many = len(self.videos) > 1 or any(v.is_dir() for v in self.videos)
        return list(zip(files, output_paths(files, self.output, self.spec.encoding.format, many=many)))

    @property
    def _concurrency(self) -> int:
        return max(1, self.jobs or os.cpu_count() or 1)

    async def aplan(self, ctx: RuntimeContext) -> OverlayPlan:
        return OverlayPlan(await asyncio.to_thread(self._targets), self._concurrency)

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> BatchResult:
        targets = await asyncio.to_thread(self._targets)
        run = RunEvents(ctx, events)
        summary: dict[str, Any] = {"videos": len(targets)}
        async with run.run(cancel, summary, kind=self.kind, title=_title(targets), steps=len(targets),
                           jobs=self._concurrency):
            with temp_dir("overlay") as work:
                cache = AssetCache(self.spec.overlays, Path(work))
                slots = asyncio.Semaphore(self._concurrency)
                results = await _all([self._one(run, cache, video, out, slots) for video, out in targets])
            summary.update(succeeded=sum(r.ok for r in results), failed=sum(not r.ok for r in results),
                           outputs=[str(r.output) for r in results if r.ok],
                           errors={str(r.video): r.message for r in results if not r.ok})
        return BatchResult(results)

    async def _one(self, run: RunEvents, cache: AssetCache, video: Path, out: Path,
                   slots: asyncio.Semaphore) -> FileResult:
        async with slots:
            return await _overlay_step(run, self.spec, cache, video, out)

    def plan(self) -> OverlayPlan:
        return run_light(self.aplan, self.settings)

    def run(self, cancel: CancelToken | None = None) -> BatchResult:
        return run_light(lambda ctx: self.arun(ctx, self.on_event, cancel), self.settings)


async def _all(coroutines: list[Any]) -> list[FileResult]:
    """Await every video; on a cancel (or a bug) cancel the rest and wait until their ffmpeg
    processes are gone before going on."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise


async def _overlay_step(run: RunEvents, spec: OverlayJob, cache: AssetCache, video: Path, out: Path) -> FileResult:
    step = str(video)
    began = time.perf_counter()
    run.emit("step.started", step, kind="overlay.video", label=video.name, output=str(out))

    def progress(p: Progress, total: float | None) -> None:
        fraction = 1.0 if p.done else min(1.0, p.out_seconds / total) if total else 0.0
        run.emit("step.progress", step, fraction=round(fraction, 4), message=f"{video.name}: {p.out_seconds:.1f} s",
                 seconds=p.out_seconds, total_seconds=total)

    try:
        result = await aoverlay_video(video, spec, out, cache, progress)
    except ReelforgeError as exc:
        result = _failure(video, exc, began)
    except asyncio.CancelledError:
        run.emit("step.failed", step, kind="overlay.video", label=video.name, error="cancelled")
        raise
    if result.ok:
        run.emit("step.finished", step, kind="overlay.video", label=video.name, output=str(result.output),
                 seconds=round(result.seconds, 3), duration=result.duration, warnings=list(result.warnings))
    else:
        run.emit("step.failed", step, kind="overlay.video", label=video.name, error=result.message,
                 seconds=round(result.seconds, 3))
    return result


def _title(targets: list[tuple[Path, Path]]) -> str:
    more = f" (+{len(targets) - 1} more)" if len(targets) > 1 else ""
    return f"overlay {targets[0][0].name}{more}"


def overlay_batch(videos: list[Path], job: OverlayJob, output: Path, *, jobs: int | None = None,
                  on_event: EventSink | None = None, cancel: CancelToken | None = None) -> BatchResult:
    """Process every video with up to `jobs` ffmpeg runs at once (default: the CPU count).
    A video that fails is reported and the others carry on. `on_event` gets the runtime events
    (see `OverlayBatchJob`); blocks until the batch is done."""
    return OverlayBatchJob(videos, job, output, jobs, on_event=on_event).run(cancel)
