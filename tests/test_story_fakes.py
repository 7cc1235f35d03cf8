"""The story pipeline through the real SDKs against fakes on 127.0.0.1: Gemini writes the script
(with the schema), Gemini draws the keyframes (a last frame with two reference images), Veo
makes the clips; an RAI-filtered clip falls back to the local morph; a run killed with SIGKILL
and run again repeats no call the fakes saw."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from reelforge.ffmpeg.probe import probe
from reelforge.pipelines.story import StoryJob
from reelforge.settings import Settings
from tests.fakes.story_apis import FakeGeminiStory, script_answer
from tests.fakes.veo_api import KEY, FakeVeo, make_clip

ROOT = Path(__file__).resolve().parents[1]


def character_png(path: Path) -> Path:
    img = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 40, 196, 220), fill=(240, 120, 40))
    draw.ellipse((95, 90, 115, 110), fill="black")
    draw.ellipse((140, 90, 160, 110), fill="black")
    img.save(path)
    return path


def keyframe_like(character: Path) -> bytes:
    """What the fake image model draws: the character in a scene (so consistency is high)."""
    scene = Image.new("RGB", (1024, 576), (90, 140, 200))
    with Image.open(character) as img:
        scene.paste(img.convert("RGB").resize((300, 300)), (362, 200))
    buffer = io.BytesIO()
    scene.save(buffer, "PNG")
    return buffer.getvalue()


def settings_for(tmp: Path, gemini: FakeGeminiStory, veo: FakeVeo) -> dict[str, Any]:
    return {"data_dir": str(tmp / "data"), "gemini_api_key": KEY, "gemini_base_url": gemini.url,
            "veo_base_url": veo.url, "veo_poll_interval_s": 0.05, "veo_poll_max_interval_s": 0.2}


def job_options(character: Path, out: Path, segments: int) -> dict[str, Any]:
    return {"output": str(out), "idea": "Floof finds a box", "character": str(character), "segments": segments,
            "duration": 4, "writer": "gemini", "image_provider": "gemini", "video_provider": "veo",
            "video_model": "veo-3.1-fast-generate-preview"}


@pytest.fixture
def fakes(tmp_path: Path) -> Any:
    clip = make_clip(tmp_path / "veo.mp4", seconds=4.0)
    with FakeGeminiStory(key=KEY) as gemini, FakeVeo(clip, generation_s=0.3) as veo:
        yield gemini, veo


def test_rai_filtered_segment_falls_back_to_the_local_morph(tmp_path: Path, fakes: Any) -> None:
    gemini, veo = fakes
    character = character_png(tmp_path / "floof.png")
    gemini.answer = script_answer(2)
    gemini.answer_with(keyframe_like(character))
    veo.script = ["ok", "rai"]
    options = job_options(character, tmp_path / "out", 2)
    job = StoryJob(settings=Settings(_env_file=None, **settings_for(tmp_path, gemini, veo)),  # type: ignore[call-arg]
                   **{**options, "output": Path(options["output"])})
    result = job.run()
    report = result.report

    # the script request carried the schema; keyframes: 1 reference for the first, 2 for each last frame
    [text] = gemini.text_calls()
    assert "segments" in text.body["generationConfig"]["responseJsonSchema"]["properties"]
    images = gemini.image_calls()
    assert len(images) == 3
    assert [gemini.images_in(c) for c in images] == [1, 2, 2]
    assert all("second reference image" in c.prompt for c in images[1:])

    first, second = report["segments"]
    assert first["clip"]["provider"] == "veo" and first["clip"]["fallback"] is None
    assert second["clip"]["provider"] == "local" and second["clip"]["fallback"] == "local morph"
    assert "responsible-AI" in second["clip"]["error"]
    assert any("segment 2: veo failed" in w for w in report["warnings"])
    assert len(veo.submissions()) == 2
    assert veo.submissions()[1].body["instances"][0].keys() >= {"image", "lastFrame", "prompt"}

    info = probe(result.video)
    assert info.duration == pytest.approx(8.0, abs=0.1)
    assert any(s.kind == "audio" for s in info.streams)  # Veo's own sound is kept
    # costs by stage from the pricing table: 4 delivered Veo seconds at $0.10, 3 images at $0.039
    assert report["cost_by_stage"]["clips"]["cost_usd"] == pytest.approx(0.4)
    assert report["cost_by_stage"]["keyframes"]["cost_usd"] == pytest.approx(0.117)
    assert report["cost_by_stage"]["script"]["cost_usd"] > 0
    assert first["last_frame"]["sha256"] == second["first_frame"]["sha256"]
    assert report["draft"] is False and report["providers"]["writer"] == "gemini"


RUNNER = """
import json, sys
from pathlib import Path
from reelforge.settings import Settings
from reelforge.pipelines.story import StoryJob

def main():
    settings, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    job = StoryJob(settings=Settings(_env_file=None, **settings), **{**options, "output": Path(options["output"])})
    result = job.run()
    print(json.dumps({"summary": result.report["run"], "video": str(result.video)}))

if __name__ == "__main__":
    main()
"""


def _start(script: Path, settings: dict[str, Any], options: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, str(script), json.dumps(settings), json.dumps(options)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=script.parent)


def test_kill_9_mid_run_then_rerun_repeats_no_call(tmp_path: Path, fakes: Any) -> None:
    gemini, veo = fakes
    character = character_png(tmp_path / "floof.png")
    gemini.answer = script_answer(3)
    gemini.answer_with(keyframe_like(character))
    veo.generation_s = 120.0  # the clips are still rendering when the process is killed
    script = tmp_path / "run_story.py"
    script.write_text(RUNNER)
    settings, options = settings_for(tmp_path, gemini, veo), job_options(character, tmp_path / "out", 3)

    proc = _start(script, settings, options)
    deadline = time.monotonic() + 120
    while len({c.path for c in veo.polls()}) < 3:  # every operation submitted and its handle recorded
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the clips were never all submitted"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    seen = (len(gemini.text_calls()), len(gemini.image_calls()), len(veo.submissions()))
    assert seen == (1, 4, 3)

    veo.generation_s = 0.2
    proc = _start(script, settings, options)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    done = json.loads(out.strip().splitlines()[-1])

    # nothing the fakes saw before the kill was asked again
    assert (len(gemini.text_calls()), len(gemini.image_calls()), len(veo.submissions())) == seen
    prompts = [c.prompt for c in gemini.image_calls()]
    assert len(prompts) == len(set(prompts))
    assert done["summary"]["cached"] == 5  # the script and four keyframes
    assert probe(Path(done["video"])).duration == pytest.approx(12.0, abs=0.1)


def test_the_budget_stops_the_story_before_a_call_would_pass_it(tmp_path: Path, fakes: Any) -> None:
    from reelforge.errors import BudgetExceeded

    gemini, veo = fakes
    character = character_png(tmp_path / "floof.png")
    gemini.answer = script_answer(2)
    gemini.answer_with(keyframe_like(character))
    options = job_options(character, tmp_path / "out", 2)
    job = StoryJob(settings=Settings(_env_file=None, **settings_for(tmp_path, gemini, veo)),  # type: ignore[call-arg]
                   **{**options, "output": Path(options["output"])}, budget_usd=0.05)
    with pytest.raises(BudgetExceeded) as err:
        job.run()
    assert "budget" in str(err.value)
    # the script ($0.0045) and one keyframe ($0.039) fit; the second keyframe would not, and no
    # local draft card papers over a budget stop
    assert len(gemini.text_calls()) == 1 and len(gemini.image_calls()) == 1
    assert veo.submissions() == []
    assert not (tmp_path / "out" / "story.mp4").exists()
