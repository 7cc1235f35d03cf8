"""One video + its placed overlays → one ffmpeg Command. Pure: no I/O.

The video is decoded once (rotated upright by ffmpeg's autorotate, so overlays are placed in
the frame a viewer sees); each overlay PNG is one input. A PNG without fades is a single frame
that `overlay` repeats, switched on and off by `enable=between(t,start,end)`; one with fades is
looped for its window only, faded in its own time and shifted to its start. Audio streams are
copied untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reelforge.ffmpeg.command import Command, Input, OutputFile
from reelforge.ffmpeg.escape import format_number
from reelforge.ffmpeg.graph import Chain, Filter, FilterGraph
from reelforge.ffmpeg.probe import MediaInfo
from reelforge.pipelines.overlay.assets import PlacedOverlay
from reelforge.render.encode import container_options
from reelforge.render.match import AUDIO_IN, VideoEncoding, overlay_format

F = Filter.of
FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class AudioPlan:
    options: tuple[str, ...]
    warning: str | None = None


def audio_plan(info: MediaInfo, suffix: str) -> AudioPlan:
    """Copy every audio stream as it is, unless the container cannot hold its codec."""
    if info.audio is None:
        return AudioPlan(())
    allowed = AUDIO_IN.get(suffix)
    if allowed is None or info.audio.codec in allowed:
        return AudioPlan(("-c:a", "copy"))
    if suffix == ".webm":
        return AudioPlan(("-c:a", "libopus", "-b:a", "160k"),
                         f"a WebM file cannot hold {info.audio.codec} audio; re-encoded it as Opus")
    return AudioPlan(("-c:a", "aac", "-b:a", "256k"),
                     f"an {suffix} file cannot hold {info.audio.codec} audio; re-encoded it as AAC")


def _enable(item: PlacedOverlay) -> str | None:
    if item.start == 0 and item.end is None:
        return None
    end = format_number(item.end) if item.end is not None else "1e9"
    return f"between(t,{format_number(item.start)},{end})"


def _faded(index: int, item: PlacedOverlay, duration: float, rate: float | None) -> tuple[Input, Chain, str]:
    """A looped PNG input lasting the window, faded in and out in its own time, then shifted."""
    end = item.end if item.end is not None else duration
    span = end - item.start
    fps = format_number(min(rate or FALLBACK_FPS, 120.0))
    source = Input(str(item.png), ("-loop", "1", "-framerate", fps, "-t", format_number(span)))
    label = f"f{index}"
    filters = [F("format", "rgba"),
               F("fade", t="in", st=0, d=format_number(item.fade), alpha=1),
               F("fade", t="out", st=format_number(span - item.fade), d=format_number(item.fade), alpha=1),
               F("setpts", f"PTS+{format_number(item.start)}/TB")]
    return source, Chain((f"{index}:v",), tuple(filters), (label,)), label


def build_overlay_command(video: str, info: MediaInfo, items: list[PlacedOverlay], encoding: VideoEncoding,
                          output: str, *, decoder: str | None = None) -> tuple[Command, AudioPlan]:
    """The single ffmpeg run that burns `items` onto `video` and writes `output`."""
    inputs = [Input(video, ("-c:v", decoder) if decoder else ())]
    chains: list[Chain] = []
    current = "0:v"
    if encoding.alpha:  # keep (or add) an alpha plane through the overlays
        chains.append(Chain((current,), (F("format", "yuva420p"),), ("base",)))
        current = "base"
    working = "yuv420" if encoding.alpha else overlay_format(encoding.pix_fmt)
    for n, item in enumerate(items, start=1):
        overlay_kw: dict[str, str | int | float | None] = {"x": item.x, "y": item.y, "eval": "init", "format": working}
        if item.fade > 0:
            source, chain, pad = _faded(n, item, info.duration or 0.0, info.video.fps if info.video else None)
            inputs.append(source)
            chains.append(chain)
            overlay_kw["eof_action"] = "pass"
        else:
            inputs.append(Input(str(item.png)))
            pad = f"{n}:v"
            overlay_kw["enable"] = _enable(item)
        chains.append(Chain((current, pad), (F("overlay", **overlay_kw),), (f"v{n}",)))
        current = f"v{n}"
    suffix = Path(output).suffix.lower()
    audio = audio_plan(info, suffix)
    maps = (current, "0:a?") if info.audio is not None else (current,)
    # passthrough keeps every frame's timestamp: variable-frame-rate phone videos stay in sync
    options = (*encoding.options, "-fps_mode", "passthrough", *audio.options, "-map_metadata", "0",
               *container_options(suffix))
    return Command(tuple(inputs), FilterGraph(tuple(chains)), (OutputFile(output, maps, options),)), audio
