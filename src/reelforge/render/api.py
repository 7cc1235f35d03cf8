"""The renderer's public entry points: render a timeline, render one frame, show the command."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reelforge.errors import SpecError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import Command, Output, compile_argv, needs_script
from reelforge.ffmpeg.graph import Chain, Filter, FilterGraph
from reelforge.ffmpeg.run import Progress, run_ffmpeg
from reelforge.logging import get_logger
from reelforge.render import model as m
from reelforge.render.encode import EXTENSIONS, MUXERS, encode_settings
from reelforge.render.graph import F, GraphBuilder, build_graph
from reelforge.render.prepare import prepare
from reelforge.spec.loader import load_timeline
from reelforge.spec.timeline import Timeline

log = get_logger(__name__)
ProgressHandler = Callable[[Progress, float], None]


@dataclass(frozen=True)
class RenderResult:
    output: Path | None
    duration: float
    frames: int
    argv: list[str]
    graph: str
    warnings: tuple[str, ...]


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


def _finish_video(g: GraphBuilder, pad: str, fmt: str, tail: tuple[Filter, ...]) -> str:
    pad = g.chain((pad,), list(tail), "tail") if tail else pad
    if fmt != "gif":
        return pad
    a, b = g.label("ga"), g.label("gb")
    g.chains.append(Chain((pad,), (F("split"),), (a, b)))
    palette = g.chain((a,), [F("palettegen", stats_mode="diff")], "pal")
    return g.chain((b, palette), [F("paletteuse", dither="sierra2_4a")], "gif")


def build_command(plan: m.RenderPlan, output: str, fmt: str, quality: str, hardware: str) -> tuple[Command, tuple[str, ...]]:
    enc = encode_settings(fmt, quality, hardware, float(plan.fps))
    g, video, audio = build_graph(plan)
    video = _finish_video(g, video, fmt, enc.tail)
    maps = (video,) + ((audio,) if audio and fmt != "gif" else ())
    muxer = MUXERS.get(Path(output).suffix.lower(), MUXERS[EXTENSIONS[fmt]])
    options = (*enc.video, *(enc.audio if audio and fmt != "gif" else ()), "-r", g.fps, "-f", muxer)
    cmd = Command(tuple(g.inputs), FilterGraph(tuple(g.chains)), (Output(output, maps, options),),
                  ("-hide_banner", "-nostdin", "-y", *enc.global_options))
    return cmd, plan.warnings + enc.warnings


def _check_output(output: Path, fmt: str) -> None:
    ext = output.suffix.lower()
    if ext not in MUXERS:
        raise SpecError(f"output {output} has an unsupported extension {ext or '(none)'}",
                        hint=f"use {EXTENSIONS[fmt]} for format {fmt!r}")
    if ext != EXTENSIONS[fmt] and not (fmt.startswith("mp4") and ext in (".mp4", ".mkv", ".mov")):
        raise SpecError(f"output {output} does not match output.format {fmt!r}",
                        hint=f"name the file *{EXTENSIONS[fmt]} or set output.format to match")


def _run_atomically(cmd: Command, output: Path, total: float, on_progress: ProgressHandler | None) -> list[str]:
    """Write to a temp file beside the target and rename, so the target is never half-written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=f".part{output.suffix}", dir=output.parent)
    os.close(fd)
    script = None
    try:
        cmd = replace(cmd, outputs=tuple(replace(o, path=tmp) for o in cmd.outputs))
        if needs_script(cmd):
            sfd, script = tempfile.mkstemp(prefix="reelforge-graph-", suffix=".txt")
            with os.fdopen(sfd, "w", encoding="utf-8") as fh:
                fh.write(cmd.graph.compile())
        argv = compile_argv(cmd, ffmpeg=ffmpeg_path(), script_path=Path(script) if script else None)
        run_ffmpeg(argv, (lambda p: on_progress(p, total)) if on_progress else None)
        os.replace(tmp, output)
        return argv
    finally:
        for leftover in (tmp, script):
            if leftover and os.path.exists(leftover):
                os.unlink(leftover)


def render(spec: Timeline | str | Path | dict[str, Any], output: str | Path, *, quality: str | None = None,
           fmt: str | None = None, hardware: str | None = None, dry_run: bool = False,
           on_progress: ProgressHandler | None = None) -> RenderResult:
    """Render a timeline (object, spec path or dict) to `output` in one ffmpeg run."""
    out = Path(output)
    tl = _with_overrides(_as_timeline(spec), out, quality, fmt, hardware)
    _check_output(out, tl.output.format)
    plan = prepare(tl)
    cmd, warnings = build_command(plan, str(out), tl.output.format, tl.output.quality, tl.output.hardware)
    for warning in warnings:
        log.warning(warning)
    if dry_run:
        argv = compile_argv(cmd, ffmpeg=ffmpeg_path())
        return RenderResult(None, plan.duration, plan.total_frames, argv, cmd.graph.compile(), warnings)
    argv = _run_atomically(cmd, out, plan.duration, on_progress)
    return RenderResult(out, plan.duration, plan.total_frames, argv, cmd.graph.compile(), warnings)


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
    g, video, _ = build_graph(replace(sub, clip_audio=False))
    pad = g.chain((video,), [F("trim", start_frame=frame), F("setpts", "PTS-STARTPTS"),
                             F("scale", in_color_matrix="bt709", in_range="tv", flags="accurate_rnd+full_chroma_int"),
                             F("format", "rgba" if plan.alpha else "rgb24")], "png")
    cmd = Command(tuple(g.inputs), FilterGraph(tuple(g.chains)),
                  (Output(str(out), (pad,), ("-frames:v", "1", "-update", "1", "-f", "image2")),))
    _run_atomically(cmd, out, 0.0, None)
    return out


def shell_command(argv: list[str]) -> str:
    return shlex.join(argv)
