"""One contract every image adapter passes, driven through its real SDK client (google-genai,
openai, huggingface_hub, httpx) pointed at a local fake of its API: success, 429 with the wait the
API names (Retry-After, or Gemini's RetryInfo in the body), 5xx, a hung connection, a malformed
body, no image, a safety block, a rejected key, and the answers that must fail at once (a daily
quota, insufficient_quota, 402 payment required). The fakes check credentials and request
fields as the real APIs do (tests/fakes/image_apis.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reelforge.pipelines.images import ImageItem, ImageJob, ImageJobResult
from reelforge.settings import Settings, get_settings

from .fakes.image_apis import TEST_KEY, FakeImageAPI, tiny_png

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
        for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                     "REELFORGE_SDWEBUI_AUTH"):
            if name not in api.env():
                monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(tmp_path)  # no stray .env
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


def only_reason(result: ImageJobResult) -> str | None:
    assert result.report is not None and len(result.report.failed) == 1
    return getattr(result.report.failed[0].exception, "reason", None)


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


def test_429_waits_as_long_as_the_api_says_then_succeeds(fake: FakeImageAPI, tmp_path: Path) -> None:
    fake.script = ["429", "ok"]
    fake.retry_after = "2"  # Retry-After: 2, or for Gemini RetryInfo {"retryDelay": "2s"} in the body only
    result = generate(fake, tmp_path, "a lighthouse")
    assert result.report is not None and result.report.state == "succeeded"
    assert [c.status for c in fake.calls] == [429, 200] and result.report.summary["retries"] == 1
    waited = fake.calls[1].started - fake.calls[0].ended
    if fake.dialect == "imagen":  # Vertex AI names no wait: the runtime's own backoff (0.05 s here)
        assert waited < 1.5
    else:
        assert waited >= 1.95


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


@pytest.mark.parametrize("mode, message, reason", [
    ("malformed", "could not be read", "malformed"),
    ("noimage", "no image", "empty"),
    ("safety", "safety filter", "blocked"),
])
def test_bad_answers_fail_fast_with_a_clear_message(fake: FakeImageAPI, tmp_path: Path, mode: str, message: str,
                                                    reason: str) -> None:
    applicable(fake, mode)
    fake.default = mode
    result = generate(fake, tmp_path, "a lighthouse")
    assert message in only_error(result) and only_reason(result) == reason
    assert len(fake.calls) == 1  # not retried: the same request would fail the same way


def test_a_rejected_key_names_the_variable_to_fix(fake: FakeImageAPI, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake.key = "the-right-key"  # the adapter sends test-key
    if fake.dialect == "sdwebui":
        fake.basic_auth = "artist:right"
        monkeypatch.setenv("REELFORGE_SDWEBUI_AUTH", "artist:wrong")
    result = generate(fake, tmp_path, "a lighthouse")
    variable = {"gemini": "GEMINI_API_KEY", "imagen": "GOOGLE_API_KEY", "openai": "OPENAI_API_KEY",
                "flux": "HF_TOKEN", "sdwebui": "REELFORGE_SDWEBUI_AUTH"}[fake.dialect]
    assert f"{variable} is rejected" in only_error(result) and only_reason(result) == "auth"
    assert [c.status for c in fake.calls] == [{"gemini": 400, "imagen": 400}.get(fake.dialect, 401)]


def test_the_key_goes_in_the_header_the_api_reads(fake: FakeImageAPI, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if fake.dialect == "sdwebui":
        fake.basic_auth = "artist:s3cret"
        monkeypatch.setenv("REELFORGE_SDWEBUI_AUTH", "artist:s3cret")
    result = generate(fake, tmp_path, "a lighthouse")
    assert result.report is not None and result.report.state == "succeeded"
    headers = fake.calls[0].headers
    expected = {"gemini": ("x-goog-api-key", TEST_KEY), "imagen": ("x-goog-api-key", TEST_KEY),
                "openai": ("authorization", f"Bearer {TEST_KEY}"), "flux": ("authorization", f"Bearer {TEST_KEY}"),
                "sdwebui": ("authorization", "Basic YXJ0aXN0OnMzY3JldA==")}[fake.dialect]
    assert headers.get(expected[0]) == expected[1]


@pytest.mark.parametrize("dialect, mode, reason, words", [
    ("gemini", "quota", "quota_exhausted", "billing"),
    ("openai", "quota", "quota_exhausted", "billing"),
    ("flux", "402", "payment_required", "credits"),
])
def test_exhausted_quota_and_payment_required_fail_at_once(fake: FakeImageAPI, tmp_path: Path, dialect: str,
                                                           mode: str, reason: str, words: str) -> None:
    if fake.dialect != dialect:
        pytest.skip(f"{dialect} only")
    fake.default = mode
    result = generate(fake, tmp_path, "a lighthouse")
    error = only_error(result)
    assert only_reason(result) == reason and words in error and "check the prompt" not in error
    assert len(fake.calls) == 1  # not retried: waiting seconds refills neither a daily quota nor credits


def test_gemini_prompt_feedback_block_fails_at_once(fake: FakeImageAPI, tmp_path: Path) -> None:
    if fake.dialect != "gemini":
        pytest.skip("promptFeedback.blockReason is Gemini's")
    fake.default = "blocked"
    result = generate(fake, tmp_path, "a lighthouse")
    assert "safety filter (PROHIBITED_CONTENT)" in only_error(result) and only_reason(result) == "blocked"
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


def test_the_fakes_refuse_fields_the_api_does_not_document(fake: FakeImageAPI) -> None:
    """What a misspelt field gets from the real API, so an adapter sending one fails its tests."""
    import httpx

    request = {
        "gemini": ("/v1beta/models/m:generateContent", {"x-goog-api-key": TEST_KEY},
                   {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"aspect_ratio": "1:1"}}),
        "imagen": ("/v1beta1/publishers/google/models/m:predict", {"x-goog-api-key": TEST_KEY},
                   {"instances": [{"prompt": "x"}], "parameters": {"numberOfImages": 1}}),
        "openai": ("/v1/images/generations", {"authorization": f"Bearer {TEST_KEY}"},
                   {"model": "gpt-image-1", "prompt": "x", "aspect_ratio": "1:1"}),
        "flux": ("/models/m", {"authorization": f"Bearer {TEST_KEY}"},
                 {"inputs": "x", "parameters": {"aspect_ratio": "1:1"}}),
        "sdwebui": ("/sdapi/v1/txt2img", {}, {"prompt": "x", "aspect_ratio": "1:1"}),
    }[fake.dialect]
    response = httpx.post(fake.url + request[0], headers=request[1], json=request[2])
    body = response.json()
    if fake.dialect in ("gemini", "imagen"):
        assert response.status_code == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
        assert "Unknown name" in body["error"]["message"]
    elif fake.dialect == "openai":
        assert response.status_code == 400 and body["error"]["code"] == "unknown_parameter"
        assert body["error"]["param"] == "aspect_ratio"
    elif fake.dialect == "flux":
        assert response.status_code == 400 and "aspect_ratio" in body["error"]
    else:
        assert response.status_code == 422 and body["detail"][0]["loc"] == ["body", "aspect_ratio"]
    assert fake.calls[0].mode == "refused"
