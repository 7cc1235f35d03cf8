"""The timeline spec: presets, defaults cascade, shorthands, and errors that point at the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelforge.errors import SpecError
from reelforge.spec.loader import load_timeline
from reelforge.spec.timeline import Timeline
from reelforge.spec.transitions import XFADE_NAMES

from .conftest import cli


def _tl(**canvas: object) -> Timeline:
    return load_timeline({"canvas": canvas, "clips": [{"layers": [{"type": "color", "color": "red"}]}]})


@pytest.mark.parametrize(("aspect", "resolution", "size"), [
    ("16:9", "1080p", (1920, 1080)), ("9:16", "1080p", (1080, 1920)), ("1:1", "720p", (720, 720)),
    ("4:5", "1080p", (1080, 1350)), ("4:3", "480p", (640, 480)), ("3:4", "480p", (480, 640)),
    ("21:9", "1080p", (2520, 1080)), ("16:9", "4K", (3840, 2160)), ("16:9", "1440p", (2560, 1440)),
    ("9:16", "720p", (720, 1280)),
])
def test_aspect_and_resolution_presets_give_even_frame_sizes(aspect: str, resolution: str, size: tuple[int, int]) -> None:
    assert _tl(aspect=aspect, resolution=resolution).canvas.size == size


def test_explicit_size_wins_and_needs_both_sides() -> None:
    assert _tl(width=1000, height=500).canvas.size == (1000, 500)
    with pytest.raises(SpecError, match="give both width and height"):
        _tl(width=1000)


def test_yaml_aspect_is_read_as_text_not_a_base60_number(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("canvas:\n  aspect: 9:16\nclips:\n  - layers: [{type: color, color: red}]\n")
    assert load_timeline(spec).canvas.size == (1080, 1920)


def test_defaults_cascade_global_then_type_then_layer() -> None:
    tl = load_timeline({
        "defaults": {"duration": 2.5, "transition": "wipeleft",
                     "layer": {"fade_in": 0.3, "position": "top"},
                     "text": {"size": 0.1, "position": "bottom"}},
        "clips": [{"layers": [
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b", "size": 0.2},
            {"type": "color", "color": "red"},
            {"type": "overlay", "path": "logo.png"},
        ]}],
    })
    a, b, color, overlay = tl.clips[0].layers
    assert (a.size, a.position, a.fade_in) == (0.1, "bottom", 0.3)  # per-type beats global
    assert b.size == 0.2  # the layer's own value wins
    assert overlay.position == "top" and overlay.fade_in == 0.3  # global reaches other types
    assert color.type == "color"  # keys a type doesn't accept are not forced on it
    assert tl.defaults.duration == 2.5 and tl.defaults.transition.name == "wipeleft"


def test_shorthands_expand_before_anything_else() -> None:
    tl = load_timeline({"clips": [
        {"transition": "circleopen", "layers": [{"type": "image", "path": "x.png", "motion": "zoom-out"}]},
        {"layers": [{"type": "color", "color": "blue"}]},
    ]})
    assert tl.clips[0].transition.name == "circleopen" and tl.clips[0].transition.duration == 0.5
    motion = tl.clips[0].layers[0].motion
    assert (motion.zoom_from, motion.zoom_to) == (1.2, 1.0)


def test_relative_paths_resolve_against_the_spec_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    spec = tmp_path / "sub" / "s.yaml"
    spec.write_text("clips:\n  - layers: [{type: image, path: pics/a.png}]\n")
    assert load_timeline(spec).clips[0].layers[0].path == str(tmp_path / "sub" / "pics" / "a.png")


BAD = """\
canvas:
  fps: 30
clips:
  - duration: 2
    layers:
      - type: color
        color: red
    transition: fadee
  - duration: 0
    layers:
      - type: image
        pth: x.png
      - type: text
        text: hi
        start: 3
        end: 1
      - type: sparkles
"""


def test_errors_name_the_field_path_and_the_yaml_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    with pytest.raises(SpecError) as info:
        load_timeline(spec)
    problems = {path: (line, msg) for path, line, msg in info.value.problems}
    assert problems["clips[0].transition.name"][0] == 8
    assert "did you mean fade" in problems["clips[0].transition.name"][1]
    assert problems["clips[1].duration"][0] == 9
    assert problems["clips[1].layers[0].path"] == (11, "Field required")
    assert problems["clips[1].layers[0].pth"][0] == 12
    assert "end (1.0) must be after start (3.0)" in problems["clips[1].layers[1]"][1]
    assert "unknown layer type 'sparkles'" in problems["clips[1].layers[2]"][1]
    assert f"{spec}:8: clips[0].transition.name" in str(info.value)


def test_json_specs_work_and_report_lines_too(tmp_path: Path) -> None:
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"clips": [{"layers": [{"type": "color", "color": "nocolour"}]}]}, indent=2))
    with pytest.raises(SpecError) as info:
        load_timeline(spec)
    (path, line, msg), = info.value.problems
    assert path == "clips[0].layers[0].color" and line == 7 and "unknown colour" in msg


def test_syntax_errors_give_the_line(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("clips:\n  - layers: [\n  oops: : :\n")
    with pytest.raises(SpecError, match=r"s.yaml:\d+: invalid YAML"):
        load_timeline(spec)


def test_every_ffmpeg_xfade_transition_is_accepted(ffmpeg: str) -> None:
    import subprocess

    help_text = subprocess.run([ffmpeg, "-hide_banner", "-h", "filter=xfade"], capture_output=True, text=True).stdout
    listed = {line.split()[0] for line in help_text.splitlines()
              if line.startswith("     ") and len(line.split()) > 2 and line.split()[1].isdigit()}
    listed.discard("custom")
    assert listed and listed <= set(XFADE_NAMES)


def test_schema_command_prints_json_schema_with_descriptions() -> None:
    result = cli("schema", "timeline")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["title"] == "reelforge timeline"
    text_layer = schema["$defs"]["TextLayer"]["properties"]
    assert "description" in text_layer["size"] and "wrap_width" in text_layer
    assert "fade" in json.dumps(schema["$defs"]["Transition"])
    assert cli("schema", "nope").returncode == 2


def test_docs_reference_is_generated_from_the_current_schema() -> None:
    from pathlib import Path

    from reelforge.spec.docs import render_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "timeline.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(), "run `make docs` to regenerate docs/timeline.md"
