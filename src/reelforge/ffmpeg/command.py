"""An ffmpeg invocation as data (inputs, graph, outputs) and the pure function that makes argv."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reelforge.ffmpeg.graph import FilterGraph

# Graphs longer than this go through a script file instead of the command line.
SCRIPT_THRESHOLD_CHARS = 4000


@dataclass(frozen=True)
class Input:
    """One `-i` input with the options that precede it (e.g. `-stream_loop -1`)."""

    path: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputFile:
    """One output file: which pads/streams to map and the encoder/muxer options."""

    path: str
    maps: tuple[str, ...]
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    inputs: tuple[Input, ...]
    graph: FilterGraph
    outputs: tuple[OutputFile, ...]
    global_options: tuple[str, ...] = field(default=("-hide_banner", "-nostdin", "-y"))


def _map_arg(label: str) -> str:
    """Graph pads are mapped as `[label]`; input streams like `1:a` as-is."""
    return label if label[:1].isdigit() else f"[{label}]"


def compile_argv(command: Command, *, ffmpeg: str = "ffmpeg", script_path: Path | None = None) -> list[str]:
    """Turn a Command into argv. With `script_path`, the graph is read from that file
    (`-/filter_complex FILE`, ffmpeg ≥ 7); the caller writes `command.graph.compile()` there."""
    argv = [ffmpeg, *command.global_options]
    for item in command.inputs:
        argv += [*item.options, "-i", item.path]
    if command.graph.chains:
        if script_path is not None:
            argv += ["-/filter_complex", str(script_path)]
        else:
            argv += ["-filter_complex", command.graph.compile()]
    for out in command.outputs:
        for label in out.maps:
            argv += ["-map", _map_arg(label)]
        argv += [*out.options, out.path]
    return argv


def needs_script(command: Command) -> bool:
    return len(command.graph.compile()) > SCRIPT_THRESHOLD_CHARS
