"""One contract every image adapter passes, driven through its real SDK client (google-genai,
openai, huggingface_hub, httpx) pointed at a local fake of its API: success, 429 + Retry-After,
5xx, a hung connection, a malformed body, no image, a safety block and a rejected key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reelforge.pipelines.images import ImageItem, ImageJob, ImageJobResult
from reelforge.settings import Settings, get_settings

from .fakes.image_apis import FakeImageAPI, tiny_png

ADAPTERS = ["gemini", "imagen", "openai", "flux", "sdwebui"]
NOT_APPLICABLE = {
    ("flux", "safety"): "Hugging Face inference has no safety-block answer to map",
    ("sdwebui", "safety"): "AUTOMATIC1111 has no safety-block answer to map",
    ("flux", "noimage"): "the API answers with image bytes: an empty answer is a malformed body",
}
FAST = {"timeout_s": 5, "max_attempts": 3, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "rpm": 0,
        "breaker_threshold": 10}


@pytest.fixture(params=ADAPTERS)
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeImageAPI]:
    with FakeImageAPI(request.param) as api:
        for name, value in api.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path / "data"))
        for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
            if name not in api.env():
                monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield api
    get_settings.cache_clear()


def applicable(fake: FakeImageAPI, mode: str) -> None:
    reason = NOT_APPLICABLE.get((fake.dialect, mode))
    if reason:
        pytest.skip(reason)


def generate(fake: FakeImageAPI, tmp_path: Path, *prompts: str, aspect: str = "16:9",
             refs: tuple[Path, ...] = (), **limits: Any) -> ImageJobResult:
    items = [ImageItem(p, aspect=aspect, refs=refs) for p in prompts]
    job = ImageJob(items, tmp_path / "out", fake.dialect, Settings(), limits={**FAST, **limits})
    return job.run()


def only_error(result: ImageJobResult) -> str:
    assert result.report is not None and len(result.report.failed) == 1
    return result.report.failed[0].error or ""


def test_success_writes_the_image_and_sends_the_aspect(fake: FakeImageAPI, tmp_path: Path) -> None:
    result = generate(fake, tmp_path, "a red fox in snow")
    assert result.report is not None and result.report.state == "succeeded"
    [path] = result.files["001"]
    with Image.open(path) as img:
        assert img.size == (64, 36)
    assert fake.prompts() == ["a red fox in snow"]
    body = fake.calls[0].body
    sent = {"gemini": lambda: body["generationConfig"]["imageConfig"]["aspectRatio"],
            "imagen": lambda: body["parameters"]["aspectRatio"],
            "openai": lambda: body["size"],
            "flux": lambda: round(body["parameters"]["width"] / body["parameters"]["height"], 1),
            "sdwebui": lambda: round(body["width"] / body["height"], 1)}[fake.dialect]()
    assert sent == {"openai": "1536x1024", "flux": 1.8, "sdwebui": 1.8}.get(fake.dialect, "16:9")


def test_429_waits_for_retry_after_then_succeeds(fake: FakeImageAPI, tmp_path: Path) -> None:
    fake.script = ["429", "ok"]
    result = generate(fake, tmp_path, "a lighthouse")
    assert result.report is not None and result.report.state == "succeeded"
    assert len(fake.calls) == 2 and result.report.summary["retries"] == 1
    assert fake.calls[1].started - fake.calls[0].ended >= 0.95  # Retry-After: 1


def test_5xx_is_retried(fake: FakeImageAPI, tmp_path: Path) -> None:
    fake.script = ["500", "503", "ok"]
    result = generate(fake, tmp_path, "a lighthouse")
    assert result.report is not None and result.report.state == "succeeded"
    assert [c.mode for c in fake.calls] == ["500", "503", "ok"]


def test_hung_connection_times_out_and_retries_are_bounded(fake: FakeImageAPI, tmp_path: Path) -> None:
    fake.default = "hang"
    started = time.monotonic()
    result = generate(fake, tmp_path, "a lighthouse", timeout_s=0.5, max_attempts=2)
    assert "timed out" in only_error(result) or "Timeout" in only_error(result)
    assert len(fake.calls) == 2 and time.monotonic() - started < 5
    assert not any((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("mode, message", [
    ("malformed", "could not be read"),
    ("noimage", "no image"),
    ("safety", "safety filter"),
])
def test_bad_answers_fail_fast_with_a_clear_message(fake: FakeImageAPI, tmp_path: Path, mode: str, message: str) -> None:
    applicable(fake, mode)
    fake.default = mode
    result = generate(fake, tmp_path, "a lighthouse")
    assert message in only_error(result)
    assert len(fake.calls) == 1  # not retried: the same request would fail the same way


def test_a_rejected_key_names_the_variable_to_fix(fake: FakeImageAPI, tmp_path: Path) -> None:
    fake.default = "badkey"
    result = generate(fake, tmp_path, "a lighthouse")
    variable = {"gemini": "GEMINI_API_KEY", "imagen": "GOOGLE_API_KEY", "openai": "OPENAI_API_KEY",
                "flux": "HF_TOKEN", "sdwebui": "REELFORGE_SDWEBUI_AUTH"}[fake.dialect]
    assert f"{variable} is rejected" in only_error(result)
    assert len(fake.calls) == 1


def test_reference_images_reach_the_api(fake: FakeImageAPI, tmp_path: Path) -> None:
    if fake.dialect in ("imagen", "flux"):
        pytest.skip("text-to-image only")
    ref = tmp_path / "ref.png"
    ref.write_bytes(tiny_png((10, 200, 10)))
    result = generate(fake, tmp_path, "the same mug on marble", refs=(ref,))
    assert result.report is not None and result.report.state == "succeeded"
    call = fake.calls[0]
    if fake.dialect == "gemini":
        parts = call.body["contents"][-1]["parts"]
        assert any("inlineData" in p or "inline_data" in p for p in parts)
    elif fake.dialect == "openai":
        assert call.path == "/v1/images/edits" and call.body["images"] == 1
    else:
        assert call.path == "/sdapi/v1/img2img" and call.body["init_images"]
