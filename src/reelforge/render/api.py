"""The renderer's public entry points: render a timeline, render one frame, show the command."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reelforge.atomic import atomic_output
from reelforge.errors import SpecError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import Command, OutputFile, compile_argv, needs_script
from reelforge.ffmpeg.graph import Chain, Filter, FilterGraph
from reelforge.ffmpeg.run import Progress, ProgressCallback, run_ffmpeg
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
                    hardware: str | None) -> Timeline:
    """CLI flags win over the spec; with no format anywhere, the output's extension decides."""
    out = tl.output
    if fmt is None and "format" not in out.model_fields_set and output is not None:
        by_ext = {".webm": "webm", ".mov": "mov-prores", ".gif": "gif"}.get(output.suffix.lower())
        fmt = by_ext
    updates = {k: v for k, v in {"quality": quality, "format": fmt, "hardware": hardware}.items() if v}
    return tl.model_copy(update={"output": out.model_copy(update=updates)}) if updates else tl


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
    g, video, audio = build_graph(plan)
    assert video is not None
    video = _finish_video(g, video, fmt, enc.tail)
    maps = (video,) + ((audio,) if audio and fmt != "gif" else ())
    suffix = Path(output).suffix.lower()
    muxer = MUXERS.get(suffix, MUXERS[EXTENSIONS[fmt]])
    options = (*enc.video, *(enc.audio if audio and fmt != "gif" else ()), *container_options(suffix),
               "-r", g.fps, "-f", muxer)
    cmd = Command(tuple(g.inputs), FilterGraph(tuple(g.chains)), (OutputFile(output, maps, options),),
                  ("-hide_banner", "-nostdin", "-y", *enc.global_options))
    return cmd, plan.warnings + enc.warnings


def build_segment_command(plan: m.RenderPlan, segment: Segment, output: str, fmt: str, quality: str,
                          hardware: str) -> Command:
    """Video only, frames [skip, skip + frames) of the segment's sub-timeline, into a NUT file
    (exact timestamps, any codec) that the final pass joins by stream copy."""
    enc = encode_settings(fmt, quality, hardware, float(plan.fps))
    g, video, _ = build_graph(segment_plan(plan, segment), audio=False)
    assert video is not None
    video = g.chain((video,), [F("trim", start_frame=segment.skip, end_frame=segment.skip + segment.frames),
                               F("setpts", "PTS-STARTPTS"), *enc.tail], "seg")
    return Command(tuple(g.inputs), FilterGraph(tuple(g.chains)),
                   (OutputFile(output, (video,), (*enc.video, "-r", g.fps, "-f", "nut")),),
                   ("-hide_banner", "-nostdin", "-y", *enc.global_options))


def build_join_command(plan: m.RenderPlan, concat_list: str, output: str, fmt: str, quality: str) -> Command:
    """Join the encoded segments by stream copy and mix the whole audio track in the same pass."""
    enc = encode_settings(fmt, quality, "none", float(plan.fps))
    g = FilterGraphBuilder(plan)
    g.add_input(concat_list, "-f", "concat", "-safe", "0")
    _, _, audio = build_graph(plan, video=False, g=g)
    suffix = Path(output).suffix.lower()
    options = ("-c:v", "copy", *(enc.audio if audio else ()), *container_options(suffix),
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
    with atomic_output(output) as tmp, tempfile.TemporaryDirectory(prefix="reelforge-") as work:
        return run(str(tmp), Path(work))


def _progress(on_progress: ProgressHandler | None, total: float, offset: float = 0.0) -> ProgressCallback | None:
    """Adapt ffmpeg's reports to the whole render: segments add their start time."""
    if on_progress is None:
        return None

    def report(p: Progress) -> None:
        seconds = min(total, offset + p.out_seconds)
        on_progress(replace(p, out_seconds=seconds, done=p.done and seconds >= total - 1e-6), total)

    return report


def _render_single(cmd: Command, on_progress: ProgressHandler | None, total: float) -> Runner:
    def run(tmp: str, work: Path) -> list[list[str]]:
        argv = _argv(_with_output(cmd, tmp), work)
        run_ffmpeg(argv, _progress(on_progress, total))
        return [argv]

    return run


def _render_segmented(plan: m.RenderPlan, segments: list[Segment], out: Path, fmt: str, quality: str,
                      hardware: str, on_progress: ProgressHandler | None) -> Runner:
    def run(tmp: str, work: Path) -> list[list[str]]:
        commands: list[list[str]] = []
        paths: list[tuple[str, float]] = []
        done = 0
        for k, segment in enumerate(segments):
            path = str(work / f"segment-{k:04d}.nut")
            argv = _argv(build_segment_command(plan, segment, path, fmt, quality, hardware), work)
            run_ffmpeg(argv, _progress(on_progress, plan.duration, float(done / plan.fps)))
            commands.append(argv)
            paths.append((path, float(segment.frames / plan.fps)))
            done += segment.frames
        concat = work / "segments.ffconcat"
        concat.write_text(concat_list_text(paths), encoding="utf-8")
        argv = _argv(build_join_command(plan, str(concat), tmp, fmt, quality), work)
        run_ffmpeg(argv)
        return commands + [argv]

    return run


def _segments_for(plan: m.RenderPlan, fmt: str) -> list[Segment]:
    if fmt == "gif":  # one palette for the whole GIF
        return plan_segments(plan, 0)
    return plan_segments(plan, get_settings().segment_clips)


def render(spec: Timeline | str | Path | dict[str, Any], output: str | Path, *, quality: str | None = None,
           fmt: str | None = None, hardware: str | None = None, dry_run: bool = False,
           on_progress: ProgressHandler | None = None) -> RenderResult:
    """Render a timeline (object, spec path or dict) to `output`.

    One ffmpeg run renders it; timelines longer than `segment_clips` clips are rendered in
    segments joined by stream copy, so memory stays flat."""
    out = Path(output)
    tl = _with_overrides(_as_timeline(spec), out, quality, fmt, hardware)
    o = tl.output
    _check_output(out, o.format)
    plan = prepare(tl)
    segments = _segments_for(plan, o.format)
    if len(segments) == 1:
        cmd, warnings = build_command(plan, str(out), o.format, o.quality, o.hardware)
        runner = _render_single(cmd, on_progress, plan.duration)
        graph = cmd.graph.compile()
    else:
        first = build_segment_command(plan, segments[0], "segment.nut", o.format, o.quality, o.hardware)
        warnings = plan.warnings + encode_settings(o.format, o.quality, o.hardware).warnings
        runner = _render_segmented(plan, segments, out, o.format, o.quality, o.hardware, on_progress)
        graph = first.graph.compile()
    for warning in warnings:
        log.warning(warning)
    if dry_run:
        commands = _dry_run_commands(plan, segments, out, o.format, o.quality, o.hardware)
        return RenderResult(None, plan.duration, plan.total_frames, commands, graph, warnings)
    commands = _run_atomically(out, runner)
    return RenderResult(out, plan.duration, plan.total_frames, commands, graph, warnings)


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
    g, video, _ = build_graph(sub, audio=False)
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
