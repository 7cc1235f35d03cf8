"""Filter graphs as data: escaping, compilation, and argv snapshots of whole renders."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from reelforge.ffmpeg.command import Command, Input, OutputFile, compile_argv, needs_script
from reelforge.ffmpeg.escape import escape_graph, escape_value, format_number
from reelforge.ffmpeg.graph import Chain, Filter, FilterGraph
from reelforge.render import model as m
from reelforge.render.api import build_command
from reelforge.spec.timeline import KenBurns, Music

SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/NAME; REELFORGE_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("REELFORGE_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing snapshot {path}; run with REELFORGE_UPDATE_SNAPSHOTS=1 once and review it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("raw", "value", "graph"), [
    ("plain", "plain", "plain"),
    ("a:b", r"a\:b", r"a\\:b"),
    ("it's", r"it\'s", r"it\\\'s"),
    ("x,y;[z]", "x,y;[z]", r"x\,y\;\[z\]"),
    ("back\\slash", r"back\\slash", r"back\\\\slash"),
])
def test_two_level_escaping(raw: str, value: str, graph: str) -> None:
    assert escape_value(raw) == value
    assert escape_graph(escape_value(raw)) == graph


def test_numbers_print_without_float_noise() -> None:
    assert [format_number(v) for v in (3.0, 2.5, 1 / 3, 7, True)] == ["3", "2.5", "0.333333333", "7", "1"]


def test_filters_chains_and_graphs_compile() -> None:
    chain = Chain(("0:v",), (Filter.of("scale", 1280, 720, flags="lanczos"), Filter.of("setpts", "PTS-STARTPTS")), ("v",))
    assert chain.compile() == "[0:v]scale=1280:720:flags=lanczos,setpts=PTS-STARTPTS[v]"
    expr = Filter.of("overlay", x="if(gte(t,1),10,20)", eof_action="pass")
    assert expr.compile() == r"overlay=x=if(gte(t\,1)\,10\,20):eof_action=pass"
    assert Filter.of("null").compile() == "null"
    assert Filter.of("fade", t="in", d=None).compile() == "fade=t=in"  # None means "leave out"
    graph = FilterGraph((chain, Chain(("v", "1:v"), (Filter.of("overlay"),), ("out",))))
    assert graph.output_labels() == {"out"}
    assert graph.compile() == "[0:v]scale=1280:720:flags=lanczos,setpts=PTS-STARTPTS[v];\n[v][1:v]overlay[out]"


def test_long_graphs_go_through_a_script_file(tmp_path: Path) -> None:
    chains = tuple(Chain((f"{i}:v",), (Filter.of("scale", 1920, 1080),), (f"s{i}",)) for i in range(300))
    cmd = Command(tuple(Input(f"/in/{i}.png") for i in range(300)), FilterGraph(chains),
                  (OutputFile("out.mp4", ("s0",), ("-c:v", "libx264")),))
    assert needs_script(cmd)
    argv = compile_argv(cmd, ffmpeg="ffmpeg", script_path=tmp_path / "graph.txt")
    assert argv[argv.index("-/filter_complex") + 1] == str(tmp_path / "graph.txt")
    assert "-filter_complex" not in argv


def test_paths_with_spaces_quotes_and_unicode_stay_single_argv_items() -> None:
    evil = "/tmp/my clips/it's [1]; a,b ünï 图.png"
    cmd = Command((Input(evil, ("-framerate", "24")),), FilterGraph(), (OutputFile("/o ut.mp4", ("0:v",)),))
    argv = compile_argv(cmd)
    assert argv[argv.index("-i") + 1] == "file:" + evil
    assert argv[-1] == "file:/o ut.mp4" and argv[argv.index("-map") + 1] == "0:v"


@pytest.mark.parametrize("name", ["2024-05-01T12:30:00.mp4", "file:x.mp4", "pct%d.png", "-x.png"])
def test_every_path_means_exactly_that_file(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21: a relative name with `:` was taken for a protocol, `file:x.mp4` opened x.mp4 and
    a still `pct%d.png` was read as the image2 pattern (pct0.png)."""
    monkeypatch.chdir(tmp_path)
    cmd = Command((Input(name, ("-loop", "1")), Input("color=red", ("-f", "lavfi"))), FilterGraph(),
                  (OutputFile("out:1.mp4", ("0:v",)),))
    argv = compile_argv(cmd)
    first = argv.index("-i")
    assert argv[first + 1] == f"file:{tmp_path / name}"
    assert ("-pattern_type" in argv[:first]) == name.endswith(".png")
    assert argv[argv.index("-i", first + 1) + 1] == "color=red"  # a lavfi graph is not a file
    assert argv[-1] == f"file:{tmp_path / 'out:1.mp4'}"


def _plan() -> m.RenderPlan:
    whole = m.Window(0, 48)
    clip_a = m.ClipPlan(48, (
        m.StillLayer("/stills/a.png", 0, 0, whole, opaque_full=True),
        m.StillLayer("/stills/title.png", 40, 20, m.Window(12, 24), fade_in=0.25, fade_out=0.25),
    ), transition="wipeleft", transition_frames=12)
    clip_b = m.ClipPlan(48, (
        m.MotionLayer("/stills/b.png", 0, 0, (640, 360), (320, 180), KenBurns(zoom_to=1.2), whole, opaque_full=True),
        m.VideoLayer("/media/v.mp4", 80, 45, (160, 90), "contain", 0.5, None, True, 2.0, whole, True, 0.5),
    ))
    return m.RenderPlan(320, 180, Fraction(24), "#000000", (clip_a, clip_b),
                        music=Music(path="/media/music.m4a", volume=0.5, fade_in=0.5, fade_out=1.0))


def test_render_argv_snapshot() -> None:
    """A still with a timed, faded title → wipeleft → Ken Burns under a looped, sped-up video, with music."""
    cmd, warnings = build_command(_plan(), "/out/video.mp4", "mp4", "standard", "none")
    assert warnings == ()
    argv = compile_argv(cmd, ffmpeg="ffmpeg")
    graph = argv[argv.index("-filter_complex") + 1]
    rest = argv[:argv.index("-filter_complex")] + argv[argv.index("-filter_complex") + 2:]
    assert_snapshot("render_argv.txt", " ".join(rest) + "\n" + graph + "\n")


def test_plan_timing_maths() -> None:
    plan = _plan()
    assert plan.total_frames == 48 + 48 - 12
    assert plan.duration == pytest.approx(3.5)
    assert plan.clip_starts() == [0, 36]
