"""Veo through the same client code users run, against a strict fake of the REST surface on
127.0.0.1: every mode's body, validation before any request, polling, RAI, 429, download by
redirect, Vertex with inline bytes, and a run killed mid-poll that resumes the same operation."""

from __future__ import annotations

import base64
import io
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reelforge.errors import InputError
from reelforge.pipelines.clip import ClipJob
from reelforge.settings import Settings
from tests.fakes.veo_api import KEY, TOKEN, FakeVeo, make_clip


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("veo") / "veo.mp4")


def png(path: Path, color: tuple[int, int, int] = (200, 80, 40)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def settings(tmp_path: Path, fake: FakeVeo, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", gemini_api_key=KEY, veo_base_url=fake.url,
                    veo_poll_interval_s=0.05, veo_poll_max_interval_s=0.1, veo_max_wait_s=30, **extra)


def job(tmp_path: Path, fake: FakeVeo, **options: Any) -> ClipJob:
    extra = options.pop("settings_extra", {})
    return ClipJob(options.pop("prompt", "a red fox runs through snow"), tmp_path / "out.mp4",
                   settings(tmp_path, fake, **extra), provider="veo", **options)


def test_text_to_video_polls_to_done_and_downloads_by_redirect(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes, generation_s=2.5) as fake:
        result = job(tmp_path, fake, duration=8).run()
    assert result.report is not None and result.report.state == "succeeded", result.report
    body = fake.submissions()[0].body
    assert body == {"instances": [{"prompt": "a red fox runs through snow"}],
                    "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8,
                                   "sampleCount": 1, "personGeneration": "allow_all"}}
    assert fake.submissions()[0].path == "/v1beta/models/veo-3.1-fast-generate-preview:predictLongRunning"
    assert len(fake.polls()) >= 2  # not done, then done
    assert any(c.path.startswith("/storage/") for c in fake.calls)  # followed the redirect, without the key
    assert result.files[0].read_bytes() == clip_bytes
    meta = result.meta[0]
    assert meta["duration"] == pytest.approx(8.0, abs=0.1) and meta["has_audio"] is True
    assert (meta["width"], meta["height"]) == (320, 180) and meta["operation"].endswith("/operations/op0")
    assert result.report.summary["cost_usd"] == pytest.approx(0.10 * 8)


def test_every_mode_sends_its_documented_body(tmp_path: Path, clip_bytes: bytes) -> None:
    first, last = png(tmp_path / "a.png"), png(tmp_path / "b.png", (10, 200, 10))
    ref = png(tmp_path / "r.png", (0, 0, 255))
    b64 = base64.b64encode(first.read_bytes()).decode()
    with FakeVeo(clip_bytes, generation_s=0.0) as fake:
        assert job(tmp_path, fake, image=first, duration=6, aspect="9:16").run().report.state == "succeeded"
        assert job(tmp_path, fake, image=first, last_frame=last, duration=4).run().report.state == "succeeded"
        assert job(tmp_path, fake, refs=((ref, "asset"),), negative_prompt="blur").run().report.state == "succeeded"
        assert job(tmp_path, fake, extend_uri="https://generativelanguage.googleapis.com/v1beta/files/abc:download"
                   "?alt=media", count=2).run().report.state == "succeeded"
    image, interp, refs, extend = [c.body for c in fake.submissions()]
    assert image["instances"][0]["image"] == {"bytesBase64Encoded": b64, "mimeType": "image/png"}
    assert image["parameters"]["aspectRatio"] == "9:16" and image["parameters"]["personGeneration"] == "allow_adult"
    assert set(interp["instances"][0]) == {"prompt", "image", "lastFrame"}
    assert refs["instances"][0]["referenceImages"][0]["referenceType"] == "asset"
    assert refs["parameters"]["negativePrompt"] == "blur"
    assert extend["instances"][0]["video"] == {
        "uri": "https://generativelanguage.googleapis.com/v1beta/files/abc:download?alt=media"}
    assert extend["parameters"]["sampleCount"] == 2


@pytest.mark.parametrize(("options", "field"), [
    ({"duration": 5}, "--duration"),
    ({"resolution": "1080p", "duration": 6}, "--duration"),
    ({"resolution": "8k"}, "--resolution"),
    ({"aspect": "1:1"}, "--aspect"),
    ({"seed": 3}, "--seed"),
    ({"audio": False}, "--no-audio"),
    ({"count": 5}, "--count"),
    ({"model": "veo-3.1-lite-generate-preview", "resolution": "4k"}, "--resolution"),
    ({"model": "veo-3.0-generate-001"}, "--model"),
    ({"extend_uri": "https://x/files/a:download", "resolution": "1080p"}, "--resolution"),
])
def test_limits_are_checked_before_any_request(tmp_path: Path, clip_bytes: bytes, options: dict[str, Any],
                                               field: str) -> None:
    with FakeVeo(clip_bytes) as fake, pytest.raises(InputError) as info:
        job(tmp_path, fake, **options).run()
    assert info.value.field == field
    assert fake.calls == []


def test_last_frame_needs_a_first_frame_and_refs_need_a_model_that_takes_them(tmp_path: Path,
                                                                              clip_bytes: bytes) -> None:
    last, ref = png(tmp_path / "b.png"), png(tmp_path / "r.png")
    with FakeVeo(clip_bytes) as fake:
        with pytest.raises(InputError, match="first frame"):
            job(tmp_path, fake, last_frame=last).run()
        with pytest.raises(InputError, match="style"):
            job(tmp_path, fake, refs=((ref, "style"),)).run()
        with pytest.raises(InputError, match="asset reference"):
            job(tmp_path, fake, refs=((ref, "asset"),), model="veo-3.1-lite-generate-preview").run()
    assert fake.calls == []


def test_rai_filtering_fails_with_the_reasons_and_is_not_retried(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes, generation_s=0.0) as fake:
        fake.script = ["rai"]
        result = job(tmp_path, fake).run()
    assert result.report.state == "failed"
    error = result.report.outcomes["clip"].error or ""
    assert "responsible-AI" in error and "violate our policies" in error
    assert len(fake.submissions()) == 1 and result.report.summary["cost_usd"] == 0


def test_429_then_success(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes, generation_s=0.0) as fake:
        fake.script = ["429", "500"]
        result = job(tmp_path, fake).run()
    assert result.report.state == "succeeded"
    assert len(fake.submissions()) == 3 and len(fake.operations) == 1


def test_a_failed_operation_says_what_to_do(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes, generation_s=0.0) as fake:
        fake.script = ["fail"]
        result = job(tmp_path, fake).run()
    assert result.report.state == "failed" and "run again" in (result.report.outcomes["clip"].error or "") \
        or "code 13" in (result.report.outcomes["clip"].error or "")
    assert len(fake.submissions()) == 1


def test_a_finished_clip_is_not_generated_twice(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes, generation_s=0.0) as fake:
        job(tmp_path, fake).run()
        again = job(tmp_path, fake).run()
    assert again.report.state == "succeeded" and len(fake.submissions()) == 1
    assert again.report.summary["cost_usd"] == 0


def test_vertex_polls_with_fetch_predict_operation_and_reads_inline_bytes(tmp_path: Path, clip_bytes: bytes) -> None:
    from reelforge.providers.limits import Limits
    from reelforge.providers.video.veo import VeoVideos

    with FakeVeo(clip_bytes, generation_s=0.1, vertex=True) as fake:
        s = settings(tmp_path, fake, google_genai_use_vertexai=True, google_cloud_project="proj",
                     google_cloud_location="us-central1")
        adapter = VeoVideos(s, Limits(), token=lambda: TOKEN)
        result = ClipJob("a fox", tmp_path / "v.mp4", s, provider="veo", generator=adapter, seed=7,
                         audio=False, count=2).run()
    assert result.report.state == "succeeded", result.report.outcomes["clip"].error
    submit = fake.submissions()[0]
    assert submit.path == ("/v1/projects/proj/locations/us-central1/publishers/google/models/"
                           "veo-3.1-fast-generate-preview:predictLongRunning")
    assert submit.body["parameters"]["seed"] == 7 and submit.body["parameters"]["generateAudio"] is False
    assert any(c.path.endswith(":fetchPredictOperation") for c in fake.polls())
    assert [f.read_bytes() == clip_bytes for f in result.files] == [True, True]


KILL_SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path
    from reelforge.pipelines.clip import ClipJob
    from reelforge.settings import Settings
    root, url = Path(sys.argv[1]), sys.argv[2]
    s = Settings(data_dir=root / "data", gemini_api_key="{key}", veo_base_url=url, veo_poll_interval_s=0.05,
                 veo_poll_max_interval_s=0.1, veo_max_wait_s=60)
    result = ClipJob("a fox", root / "out.mp4", s, provider="veo").run()
    print(result.report.state, result.report.summary["cost_usd"])
''')


def test_a_run_killed_while_polling_resumes_the_same_operation(tmp_path: Path, clip_bytes: bytes) -> None:
    script = tmp_path / "clip.py"
    script.write_text(KILL_SCRIPT.replace("{key}", KEY))
    with FakeVeo(clip_bytes, generation_s=2.0) as fake:
        first = subprocess.Popen([sys.executable, str(script), str(tmp_path), fake.url], stdout=subprocess.PIPE,
                                 cwd=Path(__file__).parents[1])
        deadline = time.monotonic() + 30
        while not fake.polls():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = subprocess.run([sys.executable, str(script), str(tmp_path), fake.url], capture_output=True,
                                text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["succeeded", "0.8"]
    assert len(fake.submissions()) == 1 and len(fake.operations) == 1  # the rerun polled op0, never resubmitted
    assert (tmp_path / "out.mp4").read_bytes() == clip_bytes


def test_dry_run_prices_without_a_key(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data")
    plan = ClipJob("a fox", tmp_path / "o.mp4", s, provider="veo", model="veo-3.1-generate-preview",
                   resolution="4k", duration=8, count=2).plan()
    assert plan.calls == 1 and plan.estimate_usd == pytest.approx(0.60 * 16)


def test_budget_refuses_what_would_exceed_it(tmp_path: Path, clip_bytes: bytes) -> None:
    with FakeVeo(clip_bytes) as fake:
        result = job(tmp_path, fake, budget_usd=0.5).run()
    assert result.report.state == "failed" and fake.calls == []
    assert "budget" in (result.report.outcomes["clip"].error or "").lower()


def test_polls_land_just_after_the_learned_render_time() -> None:
    from reelforge.providers.video.base import RenderTiming

    timing = RenderTiming()
    assert timing.next_poll(0.0) is None  # nothing learned: the runtime's backoff
    timing.pending("op0", 47.5)
    timing.finished("op0", 77.5)  # done somewhere in (47.5, 77.5]
    assert timing.next_poll(0.1) == pytest.approx(47.4)  # first look: when the last one was still running
    assert timing.next_poll(47.5) == pytest.approx(0.01 * 47.5)  # then often
