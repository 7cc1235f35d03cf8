"""The provider registry, pricing table and circuit breaker as small units."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from reelforge.errors import InputError, ProviderUnavailable
from reelforge.providers.errors import parse_retry_after, status_error
from reelforge.providers.images import IMAGE_GENERATORS
from reelforge.providers.images.base import ImageRequest, size_for_aspect
from reelforge.providers.limits import Limits
from reelforge.providers.registry import ProviderEntry, Registry
from reelforge.runtime.breaker import CircuitBreaker, CircuitOpen
from reelforge.runtime.events import Event, EventBus
from reelforge.runtime.pricing import load_pricing
from reelforge.settings import Settings


def test_a_missing_sdk_or_key_makes_a_provider_unavailable_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    registry: Registry[object] = Registry("image")
    registry.register(ProviderEntry("ghost", "needs a package", "nowhere:create", sdk="reelforge_no_such_sdk",
                                    package="ghost-sdk", env=(("GHOST_API_KEY", "key"),)))
    with pytest.raises(ProviderUnavailable) as caught:
        registry.create("ghost", Settings())
    assert "ghost-sdk package is not installed" in str(caught.value) and "pip install ghost-sdk" in str(caught.value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ProviderUnavailable, match="OPENAI_API_KEY is not set"):
        IMAGE_GENERATORS.create("openai", Settings())
    with pytest.raises(ProviderUnavailable, match="use one of: local, gemini"):
        IMAGE_GENERATORS.entry("midjourney")


def test_user_limits_override_the_defaults_and_unknown_names_are_refused() -> None:
    settings = Settings(limits={"gemini": {"rpm": 30, "max_concurrency": 8}})
    limits = IMAGE_GENERATORS.limits("gemini", settings)
    assert (limits.rpm, limits.max_concurrency, limits.rpd) == (30, 8, 1500)
    assert Limits(rpm=10).merged({"rpm": 0}).rpm is None
    with pytest.raises(Exception, match="unknown provider limit"):
        Limits().merged({"rpn": 5})


def test_pricing_is_dated_and_user_rows_win(tmp_path: Path) -> None:
    shipped = load_pricing()
    assert shipped.as_of >= "2025-01-01"
    assert shipped.estimate("gemini", "gemini-2.5-flash-image", "image", 10) == pytest.approx(0.39)
    assert shipped.estimate("local", "anything", "image", 10) == 0.0
    assert shipped.estimate("gemini", "unknown-model", "image", 1) is None
    override = tmp_path / "prices.json"
    override.write_text(json.dumps({"as_of": "2099-01-01", "prices": [
        {"provider": "gemini", "model": "gemini-2.5-flash-image", "unit": "image", "usd": 0.02}]}))
    assert load_pricing(override).estimate("gemini", "gemini-2.5-flash-image", "image", 10) == pytest.approx(0.2)
    override.write_text(json.dumps({"prices": [{"provider": "x", "unit": "frame", "usd": 1}]}))
    with pytest.raises(InputError, match="unit 'frame'"):
        load_pricing(override)


def test_breaker_opens_then_lets_one_probe_through() -> None:
    now = [0.0]
    breaker = CircuitBreaker("p", threshold=2, cooldown_s=10, clock=lambda: now[0])
    breaker.record_failure("503")
    breaker.before_call()
    breaker.record_failure("503")
    with pytest.raises(CircuitOpen, match="2 calls failed in a row"):
        breaker.before_call()
    now[0] = 10.0
    breaker.before_call()  # the half-open probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one probe at a time
    breaker.record_success()
    breaker.before_call()
    assert breaker.state == "closed"


def test_retry_after_and_status_messages() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
    assert parse_retry_after("soon") is None
    error = status_error("gemini", 403, "denied", key_env="GEMINI_API_KEY")
    assert not error.retryable and "GEMINI_API_KEY is rejected (403)" in str(error) and error.reason == "auth"
    busy = status_error("gemini", 503, "busy")
    assert busy.retryable and busy.reason == "server" and busy.health_failure
    limited = status_error("openai", 429, "slow down", retry_after=3.0)
    assert limited.retryable and limited.reason == "rate_limited" and not limited.health_failure
    broke = status_error("flux", 402, "credits exhausted")
    assert not broke.retryable and broke.reason == "payment_required" and "check the prompt" not in str(broke)
    assert status_error("flux", 400, "bad size").reason == "bad_request"
    assert status_error("flux", 404, "no model").reason == "not_found"


def test_transport_failures_are_timeouts_or_connection_errors() -> None:
    import httpx

    from reelforge.providers.errors import transport_error

    timed_out = transport_error("openai", httpx.ReadTimeout("read timed out"))
    refused = transport_error("openai", httpx.ConnectError("connection refused"))
    assert (timed_out.reason, refused.reason) == ("timeout", "connection")
    assert timed_out.retryable and refused.retryable and timed_out.health_failure


def test_gemini_waits_come_from_retry_info_and_daily_quotas_do_not_retry() -> None:
    from reelforge.providers.images.google import _daily_quota, _error_details, _retry_delay

    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.Help", "retryDelay": "99s"},  # not a RetryInfo: ignored
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "23s"}]}}
    assert _retry_delay(_error_details(body)) == 23.0
    daily = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
        {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]
    minute = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
        {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]}]
    assert _daily_quota(daily) == "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    assert _daily_quota(minute) is None and _retry_delay([]) is None


def test_aspect_sizes_and_request_checks() -> None:
    w, h = size_for_aspect("16:9", multiple=16)
    assert w % 16 == 0 and h % 16 == 0 and abs(w / h - 16 / 9) < 0.03
    gemini_caps = IMAGE_GENERATORS.entry("gemini")
    assert gemini_caps.name == "gemini"
    from reelforge.providers.images.base import check_request
    from reelforge.providers.images.google import GeminiImages

    with pytest.raises(InputError, match="does not offer aspect ratio 7:3"):
        check_request("gemini", GeminiImages.capabilities, ImageRequest("x", "7:3"))
    with pytest.raises(InputError, match="at most 3 reference"):
        check_request("gemini", GeminiImages.capabilities, ImageRequest("x", "1:1", references=(b"",) * 4))


def test_event_stream_for_sse() -> None:
    async def collect() -> list[str]:
        bus = EventBus()
        received: list[str] = []

        async def listen() -> None:
            async for event in bus.stream():
                received.append(event.to_sse())

        task = asyncio.create_task(listen())
        await asyncio.sleep(0)
        bus.emit(Event("step.cached", "run1", "001", {"kind": "image.generate"}))
        bus.close()
        await task
        return received

    [message] = asyncio.run(collect())
    assert message.startswith("event: step.cached\n") and '"step": "001"' in message


def test_with_the_sdk_installed_a_missing_key_hints_at_the_key_not_pip(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("REELFORGE_OPENAI_API_KEY", raising=False)
    with pytest.raises(ProviderUnavailable) as caught:
        IMAGE_GENERATORS.create("openai", Settings())
    assert "OPENAI_API_KEY is not set" in str(caught.value)
    assert caught.value.hint is not None and "set OPENAI_API_KEY" in caught.value.hint
    assert "pip install" not in caught.value.hint


@pytest.mark.parametrize("provider, variable, sent", [
    ("openai", "OPENAI_API_KEY", lambda headers: headers["authorization"] == "Bearer key-from-dotenv"),
    ("gemini", "GEMINI_API_KEY", lambda headers: headers["x-goog-api-key"] == "key-from-dotenv"),
    ("flux", "HF_TOKEN", lambda headers: headers["authorization"] == "Bearer key-from-dotenv"),
])
def test_a_key_only_in_dotenv_makes_the_provider_available_and_is_sent(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: str, variable: str, sent: Any) -> None:
    from reelforge.pipelines.images import ImageItem, ImageJob

    from .fakes.image_apis import FakeImageAPI

    with FakeImageAPI(provider, key="key-from-dotenv") as api:
        for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "HF_TOKEN", "GOOGLE_GENAI_USE_VERTEXAI",
                     "GOOGLE_CLOUD_PROJECT", f"REELFORGE_{variable}"):
            monkeypatch.delenv(name, raising=False)
        for name, value in api.env().items():
            if name != variable:
                monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text(f"{variable}=key-from-dotenv\n")
        settings = Settings()
        assert IMAGE_GENERATORS.check(provider, settings).available
        job = ImageJob([ImageItem("a red fox", aspect="1:1")], tmp_path / "out", provider, settings,
                       limits={"max_attempts": 1, "rpm": 0})
        result = job.run()
        assert result.report is not None and result.report.state == "succeeded"
        assert [c.status for c in api.calls] == [200] and sent(api.calls[0].headers)


def test_empty_provider_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    settings = Settings()
    assert settings.google_genai_use_vertexai is False
    assert IMAGE_GENERATORS.check("openai", settings).reason == "OPENAI_API_KEY is not set"
