"""The story pipeline offline (local draft writer, draft-card keyframes, local morph), as a user
checks it: the video is as long as its segments, segment N's last frame is segment N+1's first
(the same bytes), the thumbnails carry the title, a rerun pays nothing, and editing one segment
redoes only what touches it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.ffmpeg.probe import probe
from reelforge.pipelines.story import StoryJob, load_script
from reelforge.settings import Settings
from reelforge.spec.story import ScriptCharacter, Segment, StoryScript


def character_png(path: Path) -> Path:
    img = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 40, 196, 220), fill=(240, 120, 40))
    draw.ellipse((95, 90, 115, 110), fill="black")
    img.save(path)
    return path


def settings(tmp: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp / "data")  # type: ignore[call-arg]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offline_four_segment_story(tmp_path: Path) -> None:
    character = character_png(tmp_path / "floof.png")
    out = tmp_path / "out"
    job = StoryJob(out, settings(tmp_path), idea="a mysterious box", character=str(character),
                   description="a round orange furball", segments=4, duration=4)
    result = job.run()
    report = result.report

    # the layout of the notes, frames kept
    assert sorted(p.name for p in (out / "videos").iterdir()) == [f"segment_0{n}.mp4" for n in range(1, 5)]
    assert len(list((out / "frames").iterdir())) == 8
    assert {"story.mp4", "thumbnail.png", "thumbnail_vertical.png", "script.yaml", "report.json"} <= \
        {p.name for p in out.iterdir()}

    # durations add up: four 4 s clips cut together make 16 s
    assert [round(probe(p).duration, 2) for p in sorted((out / "videos").iterdir())] == [4.0] * 4
    assert probe(result.video).duration == pytest.approx(16.0, abs=0.05)
    assert report["duration_s"] == 16

    # chaining: segment N's last frame is segment N+1's first, byte for byte, and the report's digests say so
    segments = report["segments"]
    for before, after in zip(segments, segments[1:], strict=False):
        assert before["last_frame"]["sha256"] == after["first_frame"]["sha256"]
        assert sha(Path(before["last_frame"]["file"])) == sha(Path(after["first_frame"]["file"])) \
            == before["last_frame"]["sha256"]
    assert len({s["last_frame"]["sha256"] for s in segments}) == 4  # every boundary is its own picture
    assert all(s["first_frame"]["consistency"] > 0 for s in segments)

    # the thumbnails: both sizes, the title set in white with a dark outline inside its box
    for name, size in (("thumbnail.png", (1280, 720)), ("thumbnail_vertical.png", (1080, 1920))):
        with Image.open(out / name) as img:
            assert img.size == size
            x0, y0, x1, y1 = report["thumbnails"][name]["title_box"]
            box = np.asarray(img.convert("RGB").crop((x0, y0, x1, y1))).reshape(-1, 3)
        assert (box.min(axis=1) > 235).mean() > 0.05  # glyph fill
        assert (box.max(axis=1) < 30).mean() > 0.02  # outline

    # the draft is marked as one, in the script and the report; nothing was paid
    assert load_script(out / "script.yaml").draft and report["draft"] and "draft" in report["draft_note"]
    assert report["cost_usd"] == 0 and report["providers"]["video"] == "local"

    # a rerun pays nothing and calls nothing
    again = StoryJob(out, settings(tmp_path), idea="a mysterious box", character=str(character),
                     description="a round orange furball", segments=4, duration=4).run()
    assert again.report["run"]["calls"] == 0 and again.report["run"]["succeeded"] == 0  # the merge too
    assert sha(again.video) == sha(result.video)
    assert [s["clip"]["sha256"] for s in again.report["segments"]] == [s["clip"]["sha256"] for s in segments]

    # editing segment 2's length (not its frames) redoes only segment 2's clip and the merge
    script = load_script(out / "script.yaml")
    script.segments[1].duration = 6
    edited = StoryJob(out, settings(tmp_path), script=script, character=str(character),
                      description="a round orange furball").run()
    assert edited.run is not None
    made = sorted(sid for sid, o in edited.run.outcomes.items() if o.state == "succeeded")
    assert made == ["merge", "s02-clip"]
    assert [s["clip"]["sha256"] == e["clip"]["sha256"] for s, e in zip(segments, edited.report["segments"],
                                                                      strict=True)] == [True, False, True, True]
    assert probe(edited.video).duration == pytest.approx(18.0, abs=0.05)


def test_a_drifting_keyframe_is_drawn_again_a_bounded_number_of_times(tmp_path: Path) -> None:
    import subprocess

    from reelforge.ffmpeg.binary import ffmpeg_path

    character = character_png(tmp_path / "floof.png")
    music = tmp_path / "music.wav"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=3", str(music)],
                   check=True)
    script = StoryScript(title="One beat", characters=[ScriptCharacter(name="Floof")],
                         segments=[Segment(scene="a room", action="Floof waves", first_frame="Floof standing",
                                           last_frame="Floof waving", duration=1)])
    job = StoryJob(tmp_path / "out", settings(tmp_path), script=script, character=str(character),
                   min_consistency=0.99, max_regenerations=1, music=music)
    result = job.run()
    report = result.report
    assert [s.kind for s in probe(result.video).streams] == ["video", "audio"]  # the music bed under silent morphs
    first = report["segments"][0]["first_frame"]
    assert [a["step"] for a in first["attempts"]] == ["s01-first", "s01-first-r1"]
    assert first["consistency"] == max(a["score"] for a in first["attempts"])
    assert any("stays under 0.99 after 2 attempt(s)" in w for w in report["warnings"])


def test_the_script_reference_is_generated_from_the_schema() -> None:
    from reelforge.spec.docs import render_markdown

    docs = Path(__file__).resolve().parents[1] / "docs" / "story-script.md"
    assert docs.read_text(encoding="utf-8") == render_markdown("story"), "run `make docs` to regenerate it"
