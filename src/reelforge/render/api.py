"""The renderer's public entry points: render a timeline, render one frame, show the command.

A render is `prepare_render` (validate, prepare stills, decide the ffmpeg runs — all a dry run
needs) then `await execute(work, on_step)` (the ffmpeg runs, cancellable). `render()` is the
blocking wrapper; `pipelines.render.RenderJob` the job form with runtime events."""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from reelforge.atomic import atomic_output
from reelforge.errors import SpecError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import Command, OutputFile, compile_argv, feeds_of, needs_script
from reelforge.ffmpeg.feed import Feed
from reelforge.ffmpeg.graph import Chain, Filter, FilterGraph
from reelforge.ffmpeg.run import Progress, arun_ffmpeg, damage_warning, run_ffmpeg
from reelforge.lifeline import temp_dir
from reelforge.logging import get_logger
from reelforge.render import model as m
from reelforge.render.encode import EXTENSIONS, MUXERS, container_options, encode_settings
from reelforge.render.graph import F, FilterGraphBuilder, build_graph
from reelforge.render.prepare import prepare
from reelforge.render.segments import Segment, plan_segments, segment_plan
from reelforge.settings import get_settings
from reelforge.spec.loader import load_timeline
from reelforge.spec.timeline import Timeline

log = get_logger(__name__)
ProgressHandler = Callable[[Progress, float], None]
R = TypeVar("R")


@dataclass(frozen=True)
class RenderResult:
    output: Path | None
    duration: float
    frames: int
    commands: list[list[str]]  # every ffmpeg run, in order (segments, then the final mux)
    graph: str  # the filter graph of the first run
    warnings: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        """The ffmpeg command that produced the file (the only one unless segmented)."""
        return self.commands[-1]


def _as_timeline(spec: Timeline | str | Path | dict[str, Any]) -> Timeline:
    return spec if isinstance(spec, Timeline) else load_timeline(spec)


def _with_overrides(tl: Timeline, output: Path | None, quality: str | None, fmt: str | None,
                    hardware: str | None) -> tuple[Timeline, tuple[str, ...]]:
    """CLI flags win over the spec; with no format anywhere, the output's extension decides —
    and where the extension is ambiguous (.mov: H.264 or ProRes), what was chosen is said."""
    out, notes = tl.output, ()
    if fmt is None and "format" not in out.model_fields_set and output is not None:
        fmt, notes = _format_for_extension(tl, output.suffix.lower())
    updates = {k: v for k, v in {"quality": quality, "format": fmt, "hardware": hardware}.items() if v}
    return (tl.model_copy(update={"output": out.model_copy(update=updates)}) if updates else tl), notes


def _format_for_extension(tl: Timeline, ext: str) -> tuple[str | None, tuple[str, ...]]:
    if ext != ".mov":
        return {".webm": "webm", ".gif": "gif"}.get(ext), ()
    from reelforge.spec.common import parse_color

    if parse_color(tl.canvas.background)[3] < 255:  # a transparent canvas: only ProRes 4444 keeps it
        return "mov-prores", ("a .mov with a transparent background is written as ProRes 4444 with alpha "
                              "(large files); set output.format to choose",)
    return "mp4", ("a .mov is written as H.264 + AAC in a QuickTime file; for ProRes 4444 (with alpha, "
                   "large files) use --format mov-prores",)


def _finish_video(g: FilterGraphBuilder, pad: str, fmt: str, tail: tuple[Filter, ...]) -> str:
    pad = g.chain((pad,), list(tail), "tail") if tail else pad
    if fmt != "gif":
        return pad
    a, b = g.label("ga"), g.label("gb")
    g.chains.append(Chain((pad,), (F("split"),), (a, b)))
    palette = g.chain((a,), [F("palettegen", stats_mode="diff")], "pal")
    return g.chain((b, palette), [F("paletteuse", dither="sierra2_4a")], "gif")


def build_command(plan: m.RenderPlan, output: str, fmt: str, quality: str, hardware: str) -> tuple[Command, tuple[str, ...]]:
    """The single ffmpeg run that renders the whole plan to `output`."""
    enc = encode_settings(fmt, quality, hardware, float(plan.fps))
    # GIF has no sound: its audio chains are not built at all (built and left unmapped, ffmpeg
    # failed with "Filter 'amix' has output 0 unconnected")
    g, video, audio = build_graph(plan, audio=fmt != "gif")
    assert video is not None
    video = _finish_video(g, video, fmt, enc.tail)
    maps = (video,) + ((audio,) if audio else ())
    suffix = Path(output).suffix.lower()
    muxer = MUXERS.get(suffix, MUXERS[EXTENSIONS[fmt]])
    options = (*enc.video, *(enc.audio if audio else ()), *container_options(suffix),
               "-r", g.fps, "-f", muxer)
    cmd = Command(tuple(g.inputs), FilterGraph(tuple(g.chains)), (OutputFile(output, maps, options),),
                  ("-hide_banner", "-nostdin", "-y", *enc.global_options))
    return cmd, plan.warnings + enc.warnings + _gif_sound_warning(plan, fmt)


def _gif_sound_warning(plan: m.RenderPlan, fmt: str) -> tuple[str, ...]:
    if fmt != "gif" or build_graph(plan, video=False)[2] is None:
        return ()
    return ("GIF has no sound: the timeline's audio (music, video sound) is left out; "
            "render to mp4 or webm to keep it",)


def build_segment_command(plan: m.RenderPlan, segment: Segment, output: str, fmt: str, quality: str,
                          hardware: str) -> Command:
    """Video only, frames [skip, skip + frames) of the segment's sub-timeline, into a NUT file
    (exact timestamps, any codec) that the final pass joins by stream copy."""
    enc = encode_settings(fmt, quality, hardware, float(plan.fps))
    sub = segment_plan(plan, segment)
    kept = FilterGraphBuilder(sub, discard_before=segment.skip, discard_until=segment.skip + segment.frames)
    g, video, _ = build_graph(sub, audio=False, g=kept)
    assert video is not None
    video = g.chain((video,), [F("trim", start_frame=segment.skip, end_frame=segment.skip + segment.frames),
                               F("setpts", "PTS-STARTPTS"), *enc.tail], "seg")
    return Command(tuple(g.inputs), FilterGraph(tuple(g.chains)),
                   (OutputFile(output, (video,), (*_untagged(enc.video), "-r", g.fps, "-f", "nut")),),
                   ("-hide_banner", "-nostdin", "-y", *enc.global_options))


def _untagged(video: tuple[str, ...]) -> tuple[str, ...]:
    """Encoder options without `-tag:v` (NUT refuses MP4 codec tags such as hvc1: the tag is set
    where the segments are joined into the final container)."""
    out: list[str] = []
    skip = False
    for option in video:
        if skip:
            skip = False
        elif option == "-tag:v":
            skip = True
        else:
            out.append(option)
    return tuple(out)


def _tag_options(video: tuple[str, ...]) -> tuple[str, ...]:
    return ("-tag:v", video[video.index("-tag:v") + 1]) if "-tag:v" in video else ()


def build_join_command(plan: m.RenderPlan, concat_list: str, output: str, fmt: str, quality: str) -> Command:
    """Join the encoded segments by stream copy and mix the whole audio track in the same pass."""
    enc = encode_settings(fmt, quality, "none", float(plan.fps))
    g = FilterGraphBuilder(plan)
    g.add_input(concat_list, "-f", "concat", "-safe", "0")
    _, _, audio = build_graph(plan, video=False, g=g)
    suffix = Path(output).suffix.lower()
    options = ("-c:v", "copy", *_tag_options(enc.video), *(enc.audio if audio else ()), *container_options(suffix),
               "-f", MUXERS.get(suffix, MUXERS[EXTENSIONS[fmt]]))
    maps = ("0:v",) + ((audio,) if audio else ())
    return Command(tuple(g.inputs), FilterGraph(tuple(g.chains)), (OutputFile(output, maps, options),))


def concat_list_text(entries: list[tuple[str, float]]) -> str:
    """An ffconcat script. Exact durations keep the joined timestamps on the frame grid (the
    demuxer would otherwise estimate them from each file); single quotes in paths are escaped."""
    lines = ["ffconcat version 1.0"]
    for path, seconds in entries:
        lines += ["file '" + path.replace("'", "'\\''") + "'", f"duration {seconds:.6f}"]
    return "\n".join(lines) + "\n"


def _check_output(output: Path, fmt: str) -> None:
    ext = output.suffix.lower()
    if ext not in MUXERS:
        raise SpecError(f"output {output} has an unsupported extension {ext or '(none)'}",
                        hint=f"use {EXTENSIONS[fmt]} for format {fmt!r}")
    if ext != EXTENSIONS[fmt] and not (fmt.startswith("mp4") and ext in (".mp4", ".mkv", ".mov")):
        raise SpecError(f"output {output} does not match output.format {fmt!r}",
                        hint=f"name the file *{EXTENSIONS[fmt]} or set output.format to match")


Runner = Callable[[str, Path], list[list[str]]]


def _argv(cmd: Command, script_dir: Path) -> list[str]:
    """argv for a command; a long graph is written to a script file in `script_dir`."""
    if not needs_script(cmd):
        return compile_argv(cmd, ffmpeg=ffmpeg_path())
    fd, script = tempfile.mkstemp(prefix="graph-", suffix=".txt", dir=script_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(cmd.graph.compile())
    return compile_argv(cmd, ffmpeg=ffmpeg_path(), script_path=Path(script))


def _with_output(cmd: Command, path: str) -> Command:
    return replace(cmd, outputs=tuple(replace(o, path=path) for o in cmd.outputs))


def _run_atomically(output: Path, run: Runner) -> list[list[str]]:
    """Run `run(temp_output, work_dir)`, then rename the temp file onto `output`.

    The target is never half-written: on any failure the temp file and work dir are removed. The
    output gets the usual file mode (atomic_output widens mkstemp's owner-only one)."""
    with atomic_output(output) as tmp, temp_dir("render") as work:
        return run(str(tmp), Path(work))


def _render_single(cmd: Command, on_progress: ProgressHandler | None, total: float) -> Runner:
    """A blocking single ffmpeg run (used for one-frame previews)."""
    def run(tmp: str, work: Path) -> list[list[str]]:
        argv = _argv(_with_output(cmd, tmp), work)
        run_ffmpeg(argv, feeds=feeds_of(cmd))
        return [argv]

    return run


StepType = Literal["started", "progress", "finished", "failed"]


@dataclass(frozen=True)
class StepReport:
    """One ffmpeg run of a render (`encode`, or `segment-001`… then `join`) starting, moving on,
    ending or failing. `fraction` is of this step, `overall` of the whole render; `seconds` is
    how much of the video is written so far out of `total`."""

    type: StepType
    step: str
    label: str
    fraction: float = 0.0
    overall: float = 0.0
    seconds: float = 0.0
    total: float = 0.0
    progress: Progress | None = None
    error: str | None = None


StepHandler = Callable[[StepReport], None]


@dataclass(frozen=True)
class RenderStep:
    id: str
    label: str
    start: float  # where its part of the video starts (s)
    seconds: float  # how much of the video it writes (the join: all of it, by stream copy)


@dataclass(frozen=True)
class RenderWork:
    """Everything a render will do, decided before ffmpeg runs (what --dry-run shows)."""

    output: Path
    plan: m.RenderPlan
    segments: list[Segment]
    fmt: str
    quality: str
    hardware: str
    graph: str  # the filter graph of the first run
    warnings: tuple[str, ...]
    command: Command | None = None  # the single run (None when segmented)

    @property
    def steps(self) -> list[RenderStep]:
        if self.command is not None:
            return [RenderStep("encode", f"encode {self.output.name}", 0.0, self.plan.duration)]
        fps, n, steps, done = float(self.plan.fps), len(self.segments), [], 0
        for k, segment in enumerate(self.segments):
            steps.append(RenderStep(f"segment-{k + 1:03d}", f"segment {k + 1}/{n}", done / fps, segment.frames / fps))
            done += segment.frames
        return steps + [RenderStep("join", f"join {n} segments + audio into {self.output.name}", 0.0,
                                   self.plan.duration)]

    def dry_run(self) -> RenderResult:
        commands = _dry_run_commands(self.plan, self.segments, self.output, self.fmt, self.quality, self.hardware)
        return RenderResult(None, self.plan.duration, self.plan.total_frames, commands, self.graph, self.warnings)


def prepare_render(spec: Timeline | str | Path | dict[str, Any], output: str | Path, *, quality: str | None = None,
                   fmt: str | None = None, hardware: str | None = None,
                   segment_clips: int | None = None) -> RenderWork:
    """Validate the timeline, prepare its stills (CPU work) and decide the ffmpeg runs. Logs the
    warnings (a hardware encoder that falls back, …)."""
    out = Path(output)
    tl, notes = _with_overrides(_as_timeline(spec), out, quality, fmt, hardware)
    o = tl.output
    _check_output(out, o.format)
    plan = prepare(tl)
    segments = _segments_for(plan, o.format, segment_clips)
    if len(segments) == 1:
        cmd, warnings = build_command(plan, str(out), o.format, o.quality, o.hardware)
        work = RenderWork(out, plan, segments, o.format, o.quality, o.hardware, cmd.graph.compile(), warnings, cmd)
    else:
        first = build_segment_command(plan, segments[0], "segment.nut", o.format, o.quality, o.hardware)
        warnings = plan.warnings + encode_settings(o.format, o.quality, o.hardware).warnings
        work = RenderWork(out, plan, segments, o.format, o.quality, o.hardware, first.graph.compile(), warnings)
    work = replace(work, warnings=notes + work.warnings)
    for warning in work.warnings:
        log.info(warning)  # the result carries it; the CLI prints it once
    return work


class _Steps:
    """Runs a render's ffmpeg commands one by one, reporting each as a step."""

    def __init__(self, work: RenderWork, on_step: StepHandler | None) -> None:
        self.work, self.on_step = work, on_step
        self.steps = {s.id: s for s in work.steps}
        self.total = work.plan.duration
        self.warnings: list[str] = []  # found while running (damaged inputs)

    def _report(self, type_: StepType, step: RenderStep, fraction: float, progress: Progress | None = None,
                error: str | None = None) -> None:
        if self.on_step is None:
            return
        seconds = min(self.total, step.start + fraction * step.seconds)
        if step.id == "join":
            seconds = self.total
        overall = seconds / self.total if self.total > 0 else 1.0
        self.on_step(StepReport(type_, step.id, step.label, fraction, overall, seconds, self.total, progress, error))

    async def run(self, step_id: str, argv: list[str], feeds: list[Feed] | None = None) -> list[str]:
        step = self.steps[step_id]
        self._report("started", step, 0.0)

        def progress(p: Progress) -> None:
            fraction = 1.0 if p.done else min(1.0, p.out_seconds / step.seconds) if step.seconds > 0 else 0.0
            self._report("progress", step, fraction, p)

        try:
            report = await arun_ffmpeg(argv, progress, feeds or ())
        except asyncio.CancelledError:
            self._report("failed", step, 0.0, error="cancelled")
            raise
        except Exception as exc:
            self._report("failed", step, 0.0, error=str(exc))
            raise
        for path, errors in report.damaged_inputs(argv).items():
            if not any(w.startswith(f"{path} is damaged") for w in self.warnings):
                warning = await asyncio.to_thread(damage_warning, path, errors)
                log.info(warning)
                self.warnings.append(warning)
        self._report("finished", step, 1.0)
        return argv


async def execute(work: RenderWork, on_step: StepHandler | None = None) -> RenderResult:
    """Run the render's ffmpeg command(s) into a temp file renamed onto the output when complete.
    Cancelling the awaiting task kills ffmpeg; the temp file and the segments' work folder are
    removed on any failure or cancellation."""
    steps = _Steps(work, on_step)
    with atomic_output(work.output) as tmp, temp_dir("render") as tmp_dir:
        workdir = Path(tmp_dir)
        if work.command is not None:
            cmd = _with_output(work.command, str(tmp))
            commands = [await steps.run("encode", _argv(cmd, workdir), feeds_of(cmd))]
        else:
            commands = await _run_segments(work, str(tmp), workdir, steps)
    return RenderResult(work.output, work.plan.duration, work.plan.total_frames, commands, work.graph,
                        work.warnings + tuple(steps.warnings))


async def _run_segments(work: RenderWork, tmp: str, workdir: Path, steps: _Steps) -> list[list[str]]:
    plan, commands, paths = work.plan, [], []
    for k, segment in enumerate(work.segments):
        path = str(workdir / f"segment-{k:04d}.nut")
        cmd = build_segment_command(plan, segment, path, work.fmt, work.quality, work.hardware)
        commands.append(await steps.run(f"segment-{k + 1:03d}", _argv(cmd, workdir), feeds_of(cmd)))
        paths.append((path, float(segment.frames / plan.fps)))
    concat = workdir / "segments.ffconcat"
    concat.write_text(concat_list_text(paths), encoding="utf-8")
    join = build_join_command(plan, str(concat), tmp, work.fmt, work.quality)
    commands.append(await steps.run("join", _argv(join, workdir)))
    return commands


def _segments_for(plan: m.RenderPlan, fmt: str, segment_clips: int | None = None) -> list[Segment]:
    if fmt == "gif":  # one palette for the whole GIF
        return plan_segments(plan, 0)
    return plan_segments(plan, get_settings().segment_clips if segment_clips is None else segment_clips)


def _progress_adapter(on_progress: ProgressHandler | None) -> StepHandler | None:
    """The old callback (ffmpeg's report with the whole render's seconds, total) over step reports."""
    if on_progress is None:
        return None

    def report(step: StepReport) -> None:
        if step.type == "progress" and step.progress is not None and step.step != "join":
            done = step.progress.done and step.seconds >= step.total - 1e-6
            on_progress(replace(step.progress, out_seconds=step.seconds, done=done), step.total)

    return report


def run_coroutine_sync(make: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run a coroutine to the end from synchronous code; from inside a running event loop (a
    notebook, a coroutine calling the sync API) it runs on a worker thread's own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reelforge-sync") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def render(spec: Timeline | str | Path | dict[str, Any], output: str | Path, *, quality: str | None = None,
           fmt: str | None = None, hardware: str | None = None, dry_run: bool = False,
           on_progress: ProgressHandler | None = None) -> RenderResult:
    """Render a timeline (object, spec path or dict) to `output`; blocks until done.

    One ffmpeg run renders it; timelines longer than `segment_clips` clips are rendered in
    segments joined by stream copy, so memory stays flat. `on_progress(report, total_seconds)`
    gets ffmpeg's reports with the seconds of the whole video written so far. The job form
    (events, cancellation, many at once on one event loop) is `pipelines.render.RenderJob`."""
    work = prepare_render(spec, output, quality=quality, fmt=fmt, hardware=hardware)
    if dry_run:
        return work.dry_run()
    handler = _progress_adapter(on_progress)
    return run_coroutine_sync(lambda: execute(work, handler))


def _dry_run_commands(plan: m.RenderPlan, segments: list[Segment], out: Path, fmt: str, quality: str,
                      hardware: str) -> list[list[str]]:
    if len(segments) == 1:
        cmd, _ = build_command(plan, str(out), fmt, quality, hardware)
        return [compile_argv(cmd, ffmpeg=ffmpeg_path())]
    commands = [compile_argv(build_segment_command(plan, s, f"segment-{k:04d}.nut", fmt, quality, hardware),
                             ffmpeg=ffmpeg_path()) for k, s in enumerate(segments)]
    join = build_join_command(plan, "segments.ffconcat", str(out), fmt, quality)
    return commands + [compile_argv(join, ffmpeg=ffmpeg_path())]


def _sub_plan(plan: m.RenderPlan, frame: int) -> tuple[m.RenderPlan, int]:
    """Only the clip(s) on screen at `frame` (two during a transition); frame relative to them."""
    starts = plan.clip_starts()
    frame = min(max(0, frame), plan.total_frames - 1)
    first = max(i for i, s in enumerate(starts) if s <= frame)
    while first > 0 and frame < starts[first - 1] + plan.clips[first - 1].frames:
        first -= 1  # still inside the previous clip's transition tail
    last = first
    while last + 1 < len(plan.clips) and frame >= starts[last + 1]:
        last += 1
    clips = list(plan.clips[first:last + 1])
    clips[-1] = replace(clips[-1], transition=None, transition_frames=0)
    return replace(plan, clips=tuple(clips), music=None), frame - starts[first]


def render_frame(spec: Timeline | str | Path | dict[str, Any], at: float, output: str | Path) -> Path:
    """Render the single frame shown at `at` seconds to a PNG (for previews and tests)."""
    out = Path(output)
    if out.suffix.lower() != ".png":
        raise SpecError(f"frame output must be a .png file, got {out.name}", hint="name it e.g. preview.png")
    tl = _as_timeline(spec)
    plan = prepare(tl)
    if at < 0 or at >= plan.duration:
        raise SpecError(f"--at {at} is outside the video (0 to {plan.duration:.3f} s)", hint="pick a time inside it")
    sub, frame = _sub_plan(plan, round(at * float(plan.fps)))
    g, video, _ = build_graph(sub, audio=False, g=FilterGraphBuilder(sub, discard_before=frame, discard_until=frame + 1))
    assert video is not None
    pad = g.chain((video,), [F("trim", start_frame=frame), F("setpts", "PTS-STARTPTS"),
                             F("scale", in_color_matrix="bt709", in_range="tv", flags="accurate_rnd+full_chroma_int"),
                             F("format", "rgba" if plan.alpha else "rgb24")], "png")
    cmd = Command(tuple(g.inputs), FilterGraph(tuple(g.chains)),
                  (OutputFile(str(out), (pad,), ("-frames:v", "1", "-update", "1", "-f", "image2")),))
    _run_atomically(out, _render_single(cmd, None, 0.0))
    return out


def shell_command(argv: list[str]) -> str:
    return shlex.join(argv)
