"""The scenes pipeline end to end: specs in, MP4 + contact sheet + report out, checked the way a
user would (durations, pixels at timestamps, the fake provider's call log, exit codes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from .conftest import frame_at
from .fakes.products import ProductAPI

ROOT = Path(__file__).resolve().parents[1]
FAST = {"resolution": "480p", "quality": "draft", "duration": 1.0, "transition": {"name": "fade", "duration": 0.3}}


@pytest.fixture()
def api() -> Any:
    with ProductAPI() as fake:
        yield fake


def write_spec(tmp: Path, scenes: list[dict[str, Any]], **fields: Any) -> Path:
    spec = tmp / "scenes.yaml"
    spec.write_text(yaml.safe_dump({**FAST, **fields, "scenes": scenes}, sort_keys=False))
    return spec


def run_cli(*args: str, data: Path, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.update({"REELFORGE_DATA_DIR": str(data), "COLUMNS": "200", **(env or {})})
    return subprocess.run([sys.executable, "-m", "reelforge", *args], capture_output=True, text=True,
                          env=full_env, timeout=300, **kwargs)


def probe_duration(path: Path) -> float:
    from reelforge.ffmpeg.probe import probe

    return float(probe(path).duration or 0)


# --- offline, local provider ---------------------------------------------------------------------

def test_offline_balanced_run_composites_subjects_on_the_background(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [
        {"prompt": "a red ceramic mug", "caption": "Morning"},
        {"prompt": "a glass bottle of olive oil"},
        {"image": str(ROOT / "examples/media/mug-on-grey.jpg"), "duration": 1.5},
    ], provider="local", background="#1e3a5f", motion="none")
    out = tmp_path / "out" / "ad.mp4"
    result = run_cli("scenes", str(spec), "-o", str(out), data=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    # 1 + 1 + 1.5 s, two 0.3 s fades overlap
    assert probe_duration(out) == pytest.approx(3.5 - 0.6, abs=0.05)
    report = json.loads((tmp_path / "out" / "ad.report.json").read_text())
    assert [s["state"] for s in report["scenes"]] == ["generated"] * 3
    assert {"image.generate", "scene.check", "scene.cutout", "scene.background", "scene.composite", "render"} \
        <= set(report["stages"])
    assert report["totals"]["cost_usd"] == 0 and report["scenes"][0]["cutout"]["method"] == "key"
    assert "pure white (#FFFFFF) background" in report["scenes"][0]["prompt_sent"]
    # the frame: background colour in the corners, the subject (a draft card) in the middle
    frame = frame_at(out, 0.35).astype(int)
    assert np.abs(frame[8, 8] - (0x1E, 0x3A, 0x5F)).max() < 14
    assert np.abs(frame[240, 427] - (0x1E, 0x3A, 0x5F)).max() > 40
    sheet = Image.open(tmp_path / "out" / "ad.contact.png")
    assert sheet.width > 3 * 400 and sheet.height > 200
    assert "wrote" in result.stdout and "3 scene(s)" in result.stdout


def test_speed_mode_describes_the_background_and_cuts_nothing(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a lighthouse at dusk"}, {"prompt": "a fishing boat"}],
                      provider="local", mode="speed", background={"type": "texture", "name": "marble"})
    plan = run_cli("scenes", str(spec), "-o", str(tmp_path / "v.mp4"), "--dry-run", data=tmp_path / "data")
    assert plan.returncode == 0, plan.stderr
    assert "a lighthouse at dusk, on a polished white marble surface, 16:9 aspect ratio" in plan.stdout
    assert "scene.cutout" not in plan.stdout and "plan: 2 call(s)" in plan.stdout
    assert not (tmp_path / "v.mp4").exists()
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "v.mp4"), data=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "v.report.json").read_text())
    assert "scene.cutout" not in report["stages"] and report["cutout"] is None


def test_a_prompt_list_file_takes_its_settings_from_flags(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# our spring ad\na green teapot\n\na bamboo whisk\n")
    out = tmp_path / "tea.mp4"
    result = run_cli("scenes", str(prompts), "-o", str(out), "--mode", "speed", "--aspect", "9:16",
                     "--resolution", "480p", "--duration", "1", data=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    from reelforge.ffmpeg.probe import probe

    video = probe(out).video
    assert video is not None and (video.width, video.height) == (480, 854)
    assert probe_duration(out) == pytest.approx(2 - 0.45, abs=0.05)  # default 0.5 s fade, capped at 45 % of 1 s


# --- a paid provider (fake Gemini on 127.0.0.1) ----------------------------------------------------

def test_balanced_run_against_gemini_costs_and_caches(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a blue water bottle"}, {"prompt": "a yellow sneaker"}],
                      provider="gemini", background={"type": "texture", "name": "wood"})
    out = tmp_path / "g.mp4"
    first = run_cli("scenes", str(spec), "-o", str(out), data=tmp_path / "data", env=api.env())
    assert first.returncode == 0, first.stderr
    assert len(api.calls) == 2 and all("pure white (#FFFFFF) background" in p for p in api.prompts())
    report = json.loads((tmp_path / "g.report.json").read_text())
    assert report["totals"]["cost_usd"] == pytest.approx(2 * 0.039)
    # the subject is cut out: the frame is wood where the generated image was white
    corner = frame_at(out, 0.35)[10:70, 10:70].astype(float)
    assert corner.mean() < 235 and corner.std() > 2  # wood grain, not the generated white
    again = run_cli("scenes", str(spec), "-o", str(out), data=tmp_path / "data", env=api.env())
    assert again.returncode == 0, again.stderr
    assert len(api.calls) == 2  # nothing requested twice
    assert json.loads((tmp_path / "g.report.json").read_text())["totals"]["saved_usd"] == pytest.approx(0.078)


def test_editing_one_prompt_regenerates_only_that_scene(api: ProductAPI, tmp_path: Path) -> None:
    scenes = [{"prompt": f"product number {i}"} for i in range(3)]
    spec = write_spec(tmp_path, scenes, provider="gemini", mode="speed")
    assert run_cli("scenes", str(spec), "-o", str(tmp_path / "a.mp4"), data=tmp_path / "d", env=api.env()).returncode == 0
    scenes[1]["prompt"] = "product number 1, now in red"
    spec = write_spec(tmp_path, scenes, provider="gemini", mode="speed")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "a.mp4"), data=tmp_path / "d", env=api.env())
    assert result.returncode == 0, result.stderr
    assert len(api.calls) == 4 and api.prompts(3)[0].startswith("product number 1, now in red")


def test_a_killed_run_resumes_without_requesting_finished_scenes(tmp_path: Path) -> None:
    with ProductAPI(delay=0.4) as api:
        scenes = [{"prompt": f"scene {i} product"} for i in range(12)]
        spec = write_spec(tmp_path, scenes, provider="gemini", mode="speed")
        env = {**os.environ, **api.env(), "REELFORGE_DATA_DIR": str(tmp_path / "d"),
               "REELFORGE_LIMITS": json.dumps({"gemini": {"max_concurrency": 2, "rpm": 0}})}
        env = {k: v for k, v in env.items() if k != "OPENAI_API_KEY"}
        proc = subprocess.Popen([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(tmp_path / "k.mp4")],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while len([c for c in api.calls if c.status == 200]) < 4 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert not (tmp_path / "k.mp4").exists()
        finished = len(api.calls)
        # answered well before the kill = received and stored by the killed run
        stored = {c.prompt for c in api.calls[:finished] if c.status == 200 and c.ended and c.ended < killed_at - 0.5}
        assert len(stored) >= 4 and finished < 12
        result = subprocess.run([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(tmp_path / "k.mp4")],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert not set(api.prompts(finished)) & stored, "a finished scene was requested again"
        assert len({c.prompt for c in api.calls}) == 12


# --- QA, regeneration and the failure policy --------------------------------------------------------

def test_a_blank_image_is_regenerated_with_a_new_variation(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "BLANKONCE lamp"}, {"prompt": "a chair"}], provider="gemini")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "q.mp4"), data=tmp_path / "d", env=api.env())
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "q.report.json").read_text())
    lamp = report["scenes"][0]
    assert lamp["state"] == "generated" and lamp["attempts"] == 2 and "blank" in lamp["errors"][0]
    assert len(api.calls) == 3 and len(report["runs"]) == 2


@pytest.mark.parametrize("policy", ["draft-card", "skip", "fail"])
def test_a_scene_that_keeps_failing_follows_the_policy(api: ProductAPI, tmp_path: Path, policy: str) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a BLANK box"}, {"prompt": "a chair"}], provider="gemini",
                      qa={"retries": 1, "on_fail": policy})
    out = tmp_path / "p.mp4"
    result = run_cli("scenes", str(spec), "-o", str(out), data=tmp_path / "d", env=api.env())
    assert len([p for p in api.prompts() if "BLANK" in p]) == 2  # first try + one regeneration
    report = json.loads((tmp_path / "p.report.json").read_text())
    if policy == "fail":
        assert result.returncode == 1 and not out.exists()
        assert "failed after their retries" in result.stderr and report["video"] is None
        return
    assert result.returncode == 0, result.stderr
    states = [s["state"] for s in report["scenes"]]
    assert states == [{"skip": "skipped"}.get(policy, policy), "generated"] and report["warnings"]
    assert probe_duration(out) == pytest.approx(1.7 if policy == "draft-card" else 1.0, abs=0.05)


# --- bad input: clear errors before anything is spent ----------------------------------------------

@pytest.mark.parametrize(("scenes", "expected"), [
    ([], "has no scenes"),
    ([{"prompt": "a", "image": "x.png"}], "either a prompt or an image"),
    ([{"duration": 2}], "either a prompt or an image"),
    ([{"image": "missing.png"}], "scenes[0].image"),
])
def test_bad_scene_lists_are_refused(tmp_path: Path, scenes: list[dict[str, Any]], expected: str) -> None:
    spec = write_spec(tmp_path, scenes, provider="local")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), data=tmp_path / "d")
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_unknown_provider_and_missing_key_fail_before_any_call(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a mug"}], provider="midjourney")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), data=tmp_path / "d")
    assert result.returncode == 2 and "midjourney" in result.stderr and "gemini" in result.stderr
    spec = write_spec(tmp_path, [{"prompt": "a mug"}], provider="gemini")
    no_key = {k: v for k, v in api.env().items() if k != "GEMINI_API_KEY"}
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), data=tmp_path / "d",
                     env={**no_key, "GOOGLE_API_KEY": ""})
    assert result.returncode == 2 and "GEMINI_API_KEY" in result.stderr, result.stderr
    assert api.calls == []


def test_a_budget_smaller_than_the_plan_spends_nothing(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": f"item {i}"} for i in range(3)], provider="gemini")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), "--budget", "0.05",
                     data=tmp_path / "d", env=api.env())
    assert result.returncode == 2 and "budget" in result.stderr and "$0.1170" in result.stderr, result.stderr
    assert api.calls == [] and not (tmp_path / "x.mp4").exists()


def test_the_dry_run_needs_no_key_and_shows_prompts_and_cost(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a mug"}, {"prompt": "a plate"}], provider="gemini")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), "--dry-run", data=tmp_path / "d",
                     env={"GEMINI_API_KEY": "", "GOOGLE_API_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert "estimate only" in result.stderr and "estimated cost $0.0780" in result.stdout
    assert "scene 1 prompt: a mug, 16:9 aspect ratio, isolated on a pure white (#FFFFFF) background" in result.stdout


def test_the_schema_is_exported() -> None:
    result = subprocess.run([sys.executable, "-m", "reelforge", "schema", "scenes"], capture_output=True, text=True)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert {"scenes", "mode", "background", "qa"} <= set(schema["properties"])


def test_a_cloud_cut_out_without_its_key_fails_before_any_call(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a mug"}], provider="gemini", mode="premium",
                      cutout={"method": "removebg"})
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), data=tmp_path / "d",
                     env={**api.env(), "REMOVEBG_API_KEY": ""})
    assert result.returncode == 2 and "REMOVEBG_API_KEY" in result.stderr, result.stderr
    assert api.calls == []


def test_a_cut_out_without_a_subject_is_regenerated_then_follows_the_policy(api: ProductAPI, tmp_path: Path) -> None:
    # no product covers 90 % of the frame: every cut-out fails its subject check (in the pool)
    spec = write_spec(tmp_path, [{"prompt": "a small mug"}], provider="gemini", qa={"retries": 1, "min_subject": 0.9})
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "n.mp4"), data=tmp_path / "d", env=api.env())
    assert result.returncode == 0, result.stderr
    scene = json.loads((tmp_path / "n.report.json").read_text())["scenes"][0]
    assert scene["state"] == "draft-card" and scene["attempts"] == 2 and scene["qa_flags"] == ["no-subject"]
    assert len(api.calls) == 2 and api.calls[0].body != api.calls[1].body  # the regeneration asked anew


def test_a_rejected_key_stops_the_run_instead_of_drawing_placeholders(api: ProductAPI, tmp_path: Path) -> None:
    env = api.env()  # sends test-key
    api.key = "another-key"  # the only key the fake accepts now
    spec = write_spec(tmp_path, [{"prompt": "a mug"}, {"prompt": "a cup"}], provider="gemini")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "b.mp4"), data=tmp_path / "d", env=env)
    assert result.returncode == 1 and "API key not valid" in result.stderr, result.stderr
    assert not (tmp_path / "b.mp4").exists()
    assert "API key" in json.loads((tmp_path / "b.report.json").read_text())["error"]


def test_an_unknown_model_is_refused_before_any_call(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a mug"}], provider="gemini", model="gemini-9-ultra")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "m.mp4"), data=tmp_path / "d", env=api.env())
    assert result.returncode == 2 and "unknown model 'gemini-9-ultra'" in result.stderr, result.stderr
    assert "gemini-2.5-flash-image" in result.stderr and api.calls == []


def test_two_scenes_with_one_prompt_are_two_images(api: ProductAPI, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"prompt": "a mug"}, {"prompt": "a mug"}], provider="gemini", mode="speed")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "t.mp4"), data=tmp_path / "d", env=api.env())
    assert result.returncode == 0, result.stderr
    assert len(api.calls) == 2
    frames = [s["frame"] for s in json.loads((tmp_path / "t.report.json").read_text())["scenes"]]
    assert len(frames) == 2


def test_per_scene_backgrounds_and_image_scenes_in_the_plan(tmp_path: Path) -> None:
    photo = ROOT / "examples/media/mug-on-grey.jpg"
    spec = write_spec(tmp_path, [{"prompt": "a kettle"}, {"prompt": "a teapot", "background": "wood"},
                                 {"image": str(photo)}], provider="local", mode="speed", background="#1b2a4a")
    result = run_cli("scenes", str(spec), "-o", str(tmp_path / "x.mp4"), "--dry-run", data=tmp_path / "d")
    assert result.returncode == 0, result.stderr
    assert "scene 1 prompt: a kettle, against a plain navy (#1b2a4a) background" in result.stdout
    assert "scene 2 prompt: a teapot, on a warm natural wood surface" in result.stdout
    assert "scene 3 prompt" not in result.stdout and "mug-on-grey.jpg: check" in result.stdout
    assert "plan: 2 call(s)" in result.stdout
    balanced = write_spec(tmp_path, [{"prompt": "a kettle"}, {"prompt": "a teapot", "background": "wood"},
                                     {"image": str(photo), "background": "wood"}], provider="local")
    result = run_cli("scenes", str(balanced), "-o", str(tmp_path / "x.mp4"), "--dry-run", data=tmp_path / "d")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("scene.background") == 2  # studio (the default) and wood, each drawn once
