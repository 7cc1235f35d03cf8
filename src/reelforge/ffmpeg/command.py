"""An ffmpeg invocation as data (inputs, graph, outputs) and the pure function that makes argv."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reelforge.ffmpeg.feed import Feed
from reelforge.ffmpeg.graph import FilterGraph

# Graphs longer than this go through a script file instead of the command line.
SCRIPT_THRESHOLD_CHARS = 4000


@dataclass(frozen=True)
class Input:
    """One `-i` input with the options that precede it (e.g. `-stream_loop -1`)."""

    path: str
    options: tuple[str, ...] = ()
    # Frames made in-process for a `pipe:@K` input (reelforge.ffmpeg.feed); not part of argv.
    feed: Feed | None = field(default=None, compare=False, repr=False)


def feeds_of(command: Command) -> list[Feed]:
    """The command's feeds, in the order their `pipe:@K` placeholders were numbered."""
    return [item.feed for item in command.inputs if item.feed is not None]


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


# Stills are read by the image2 demuxer with patterns off: `pct%d.png` is that file, not pct0.png.
STILL_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def file_url(path: str) -> str:
    """The one spelling of a local path ffmpeg reads as exactly that file: an absolute `file:`
    URL. A relative `2024-05-01T12:30:00.mp4` is otherwise taken for a protocol ("Protocol not
    found") and `file:x.mp4` silently opens x.mp4. Pipes and `-` stay as they are."""
    if path == "-" or path.startswith("pipe:"):
        return path
    return "file:" + os.path.abspath(path)


def input_args(item: Input) -> list[str]:
    """`[options…, -i, path]` for one input, the path made exact (lavfi inputs are graphs, not files)."""
    options = list(item.options)
    forced = options[options.index("-f") + 1] if "-f" in options[:-1] else None
    if forced == "lavfi":
        return [*options, "-i", item.path]
    if forced is None and Path(item.path).suffix.lower() in STILL_SUFFIXES:
        options = ["-f", "image2", "-pattern_type", "none", *options]
    return [*options, "-i", file_url(item.path)]


def compile_argv(command: Command, *, ffmpeg: str = "ffmpeg", script_path: Path | None = None) -> list[str]:
    """Turn a Command into argv. With `script_path`, the graph is read from that file
    (`-/filter_complex FILE`, ffmpeg ≥ 7); the caller writes `command.graph.compile()` there."""
    argv = [ffmpeg, *command.global_options]
    for item in command.inputs:
        argv += input_args(item)
    if command.graph.chains:
        if script_path is not None:
            argv += ["-/filter_complex", str(script_path)]
        else:
            argv += ["-filter_complex", command.graph.compile()]
    for out in command.outputs:
        for label in out.maps:
            argv += ["-map", _map_arg(label)]
        argv += [*out.options, file_url(out.path)]
    return argv


def needs_script(command: Command) -> bool:
    return len(command.graph.compile()) > SCRIPT_THRESHOLD_CHARS
