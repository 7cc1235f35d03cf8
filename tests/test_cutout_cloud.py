"""Cloud cut-outs (remove.bg, Photoroom, Clipdrop) against local fakes of their APIs.

Two levels. The adapters: one request per `cut()`, its answer classified (reason, Retry-After)
and decoded — every test looks at the pixels, the message and the requests the fake saw. The
runtime steps: the ONE retry layer, timeouts that close the request, prices and budgets, and
the batch job — where the requests the fake saw must equal the calls the report counts.
"""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.errors import BudgetExceeded, ProviderError, ProviderUnavailable
from reelforge.pipelines.cutout import CutoutJob, CutoutOptions, cutout_result
from reelforge.providers.cutout.cloud import CloudCutout
from reelforge.providers.cutout.registry import CUTOUTS, available, get_cutout_provider, names
from reelforge.providers.errors import parse_retry_after
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings, get_settings
from reelforge.spec.provider_names import CLOUD_CUTOUTS, CUTOUT_METHODS
from tests.fakes.cutout_servers import APIS, TEST_KEY, FakeCutoutServer

SUBJECT = (200, 30, 30)
PRICES = {"removebg": 0.225, "photoroom": 0.02, "clipdrop": 0.03}
FAST = {"backoff_initial_s": 0.02, "backoff_max_s": 0.05}
# What each adapter must send besides image_file, by the providers' documentation.
FIELDS = {
    "removebg": {"size": "full", "format": "png", "channels": "rgba"},
    "photoroom": {"format": "png", "channels": "rgba", "size": "full", "crop": "false"},
    "clipdrop": {},
}
CREDITS: dict[str, dict[str, Any]] = {
    "removebg": {"credits_charged": 1.0, "foreground_type": "product"},
    "photoroom": {"uncertainty": 0.07},
    "clipdrop": {"credits_charged": 1.0, "remaining": 99.0},
}

Serve = Callable[..., FakeCutoutServer]


@pytest.fixture
def product() -> Image.Image:
    """A red box on a white sweep, 64x48."""
    image = Image.new("RGB", (64, 48), "white")
    ImageDraw.Draw(image).rectangle((20, 12, 43, 35), fill=SUBJECT)
    return image


@pytest.fixture(params=list(CLOUD_CUTOUTS))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(name: str) -> Iterator[Serve]:
    servers: list[FakeCutoutServer] = []

    def start(*script: str, api: str | None = None, **options: object) -> FakeCutoutServer:
        server = FakeCutoutServer(APIS[api or name], script or ("ok",), **options).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def settings_for(name: str, server: FakeCutoutServer | None, tmp: Path | None = None, *, key: str | None = TEST_KEY,
                 limits: dict[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {f"{name.upper()}_API_KEY": key or ""}
    if server is not None:
        values[f"{name}_base_url"] = server.url
    if tmp is not None:
        values["data_dir"] = tmp / "data"
    values["limits"] = {name: {**FAST, **(limits or {})}}
    return Settings(**values)


def adapter(name: str, server: FakeCutoutServer, **kw: Any) -> CloudCutout:
    built: CloudCutout = CUTOUTS.create(name, settings_for(name, server, **kw))
    return built


def cut(provider: CloudCutout, image: Image.Image, **options: Any) -> Any:
    async def once() -> Any:
        try:
            return await provider.cut(image, **options)
        finally:
            await provider.aclose()

    return asyncio.run(once())


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(image)[y, x])


# --- the adapters: one request, classified ---------------------------------------------------------

def test_success_returns_rgba_cutout_of_input_size(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    before = product.tobytes()
    result = cut(adapter(name, server), product)

    assert result.image.mode == "RGBA" and result.image.size == product.size
    assert pixel(result.image, 2, 2)[3] == 0  # white sweep is gone
    assert pixel(result.image, 31, 23) == (*SUBJECT, 255)  # the box is kept, opaque
    assert (result.method, result.reason) == (name, "requested")
    assert result.details == {"provider": name, **CREDITS[name]}
    assert product.tobytes() == before  # input untouched


def test_request_matches_the_documented_wire_format(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    cut(adapter(name, server), product)

    (call,) = server.calls
    assert call.path == APIS[name].path and call.status == 200
    assert call.headers[APIS[name].key_header] == TEST_KEY
    assert call.fields == FIELDS[name]
    upload = call.files["image_file"]
    assert upload.content_type == "image/png"
    assert Image.open(io.BytesIO(upload.data)).size == product.size


@pytest.mark.parametrize(("script", "reason", "retryable"), [
    ("429", "rate_limited", True), ("500", "server", True), ("402", "payment_required", False),
    ("403", "auth", False), ("400", "bad_request", False), ("garbage", "malformed", False)])
def test_each_answer_is_one_request_classified(name: str, serve: Serve, product: Image.Image, script: str,
                                               reason: str, retryable: bool) -> None:
    server = serve(script, retry_after="7")
    with pytest.raises(ProviderError) as caught:
        cut(adapter(name, server), product)
    assert len(server.calls) == 1  # the adapter never retries: the runtime does
    assert (caught.value.reason, caught.value.retryable) == (reason, retryable)
    assert caught.value.retry_after == (7.0 if script == "429" else None)
    if script in ("402", "403", "400"):
        assert APIS[name].messages[int(script)][0] in str(caught.value)  # the service's own words
    if script == "402":
        assert "top up at https://" in str(caught.value)
    if script == "403":
        assert f"{APIS[name].name.upper()}_API_KEY is rejected (403)" in str(caught.value)


def test_unreachable_service_is_a_connection_failure(name: str, product: Image.Image) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(**{f"{name.upper()}_API_KEY": TEST_KEY, f"{name}_base_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(ProviderError, match="could not reach") as caught:
        cut(CUTOUTS.create(name, settings), product)
    assert caught.value.reason == "connection" and caught.value.retryable


def test_missing_key_is_unavailable_before_any_call(name: str, serve: Serve) -> None:
    server = serve("ok")
    with pytest.raises(ProviderUnavailable) as caught:
        CUTOUTS.create(name, settings_for(name, server, key=None))
    assert caught.value.exit_code == 2
    assert f"{name.upper()}_API_KEY" in str(caught.value)
    assert server.calls == []


def test_smaller_result_is_resized_to_the_input(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("half")
    result = cut(adapter(name, server), product)
    assert result.image.size == product.size
    assert pixel(result.image, 2, 2)[3] == 0 and pixel(result.image, 31, 23)[3] == 255
    assert any("resized" in warning for warning in result.warnings)


def test_keep_shadow(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    result = cut(adapter(name, server), product, keep_shadow=True)
    if name == "removebg":  # remove.bg documents add_shadow (car photos only)
        assert server.calls[0].fields["add_shadow"] == "true"
        assert "add_shadow" in result.details["keep_shadow"]
    else:
        assert server.calls[0].fields == FIELDS[name]
        assert result.details["keep_shadow"].startswith("ignored")


# --- one registry, one list of names -------------------------------------------------------------

def test_one_list_of_names_feeds_registry_spec_and_cli() -> None:
    from reelforge.cli.cutout import METHODS
    from reelforge.spec.scenes import CutoutSpec

    assert tuple(names()) == CUTOUT_METHODS == METHODS
    assert tuple(CutoutSpec.model_json_schema()["properties"]["method"]["anyOf"][0]["enum"]) == CUTOUT_METHODS
    assert [e.name for e in CUTOUTS if e.paid] == list(CLOUD_CUTOUTS)
    assert "cutout" in __import__("reelforge.runtime.context", fromlist=["REGISTRIES"]).REGISTRIES


def test_every_cloud_cutout_has_a_dated_price(name: str) -> None:
    from reelforge.runtime.pricing import load_pricing

    row = load_pricing().price(name, "background-removal", "image")
    assert row is not None and row.usd == PRICES[name] and "https://" in row.source and "2025" in row.source


def test_unknown_provider_names_the_choices() -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        get_cutout_provider("magic")
    assert "removebg, photoroom, clipdrop" in str(caught.value)


def test_available_reports_which_keys_are_set() -> None:
    settings = Settings(REMOVEBG_API_KEY="k", PHOTOROOM_API_KEY="", CLIPDROP_API_KEY=" ")
    rows = {row[0]: row[1:] for row in available(settings)}
    assert rows["removebg"][0] is True
    assert rows["photoroom"] == (False, "PHOTOROOM_API_KEY is not set")
    assert rows["clipdrop"][0] is False and "CLIPDROP_API_KEY" in rows["clipdrop"][1]


def test_reelforge_limits_apply_to_a_cutout_provider() -> None:
    settings = Settings(limits={"removebg": {"timeout_s": 0.5, "max_attempts": 2}})
    limits = RuntimeContext(settings=settings, store=None, pricing=None).limits("cutout", "removebg")  # type: ignore[arg-type]
    assert (limits.timeout_s, limits.max_attempts, limits.max_concurrency) == (0.5, 2, 4)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_key_and_base_url_come_from_the_environment(
        name: str, serve: Serve, product: Image.Image, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    server = serve("ok")
    monkeypatch.setenv(f"REELFORGE_{name.upper()}_BASE_URL", server.url + "/")
    monkeypatch.setenv(f"{name.upper()}_API_KEY", TEST_KEY)
    result = cut(get_cutout_provider(name), product)
    assert result.image.size == product.size and len(server.calls) == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after("2") == 2.0
    assert 25 <= (parse_retry_after(soon) or 0) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --- runtime steps: one retry layer, timeouts, prices, budgets -----------------------------------

def write_products(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (64, 48), "white")
        ImageDraw.Draw(image).rectangle((10 + i, 12, 43, 35), fill=SUBJECT)
        paths.append(folder / f"p{i}.png")
        image.save(paths[-1])
    return paths


def run_job(job: CutoutJob, settings: Settings) -> tuple[Any, list[Any]]:
    events: list[Any] = []

    async def main() -> Any:
        ctx = RuntimeContext.from_settings(settings, records=False)
        try:
            return await job.arun(ctx, events.append)
        finally:
            await ctx.aclose()

    return asyncio.run(main()), events


def test_server_errors_are_retried_by_the_runtime_alone_and_priced(tmp_path: Path, product: Image.Image) -> None:
    with FakeCutoutServer(APIS["removebg"], ("500", "500", "500", "ok")) as server:
        settings = settings_for("removebg", server, tmp_path)
        [src] = write_products(tmp_path / "in", 1)
        result, events = run_job(CutoutJob([src], tmp_path / "out", CutoutOptions(method="removebg")), settings)
    assert [item.ok for item in result.items] == [True]
    [outcome] = result.report.outcomes.values()
    assert server.statuses == [500, 500, 500, 200]
    assert outcome.attempts == len(server.calls) == result.report.summary["calls"] == 4  # one retry layer
    assert result.report.summary["cost_usd"] == outcome.cost_usd == PRICES["removebg"]
    assert [e.data["attempt"] for e in events if e.type == "step.retried"] == [1, 2, 3]
    assert Image.open(tmp_path / "out" / "p0.png").mode == "RGBA"


def test_a_timeout_cancels_the_request_before_the_next_one(tmp_path: Path) -> None:
    with FakeCutoutServer(APIS["removebg"], ("hang",), slow_s=10.0) as server:
        settings = settings_for("removebg", server, tmp_path, limits={"timeout_s": 0.5, "max_attempts": 2})
        [src] = write_products(tmp_path / "in", 1)
        started = time.monotonic()
        result, _ = run_job(CutoutJob([src], tmp_path / "out", CutoutOptions(method="removebg")), settings)
        took = time.monotonic() - started
        time.sleep(0.2)  # let the fake notice the last close
    assert took < 5
    [item] = result.items
    assert not item.ok and "no answer within 0.5 s" in (item.error or "")
    first, second = server.calls
    assert len(server.calls) == 2 == result.report.summary["calls"]
    assert first.closed_at is not None and first.closed_at <= second.at  # no overlapping request
    assert second.closed_at is not None
    assert not (tmp_path / "out" / "p0.png").exists()


def test_rate_limit_retry_after_is_waited_out(tmp_path: Path) -> None:
    with FakeCutoutServer(APIS["photoroom"], ("429", "ok"), retry_after="1") as server:
        settings = settings_for("photoroom", server, tmp_path)
        [src] = write_products(tmp_path / "in", 1)
        result, _ = run_job(CutoutJob([src], tmp_path / "out", CutoutOptions(method="photoroom")), settings)
    assert [item.ok for item in result.items] == [True]
    assert server.statuses == [429, 200]
    assert server.calls[1].at - server.calls[0].at >= 1.0
    assert result.report.summary["calls"] == 2 and result.report.summary["cost_usd"] == PRICES["photoroom"]


def test_budget_accepts_a_priced_cutout_and_refuses_one_past_it(tmp_path: Path) -> None:
    with FakeCutoutServer(APIS["removebg"], ("ok",)) as server:
        settings = settings_for("removebg", server, tmp_path)
        srcs = write_products(tmp_path / "in", 2)
        ok, _ = run_job(CutoutJob(srcs[:1], tmp_path / "a", CutoutOptions(method="removebg"), budget_usd=0.25),
                        settings)
        assert [i.ok for i in ok.items] == [True] and ok.report.summary["cost_usd"] == 0.225
        refused, _ = run_job(CutoutJob(srcs[1:], tmp_path / "b", CutoutOptions(method="removebg"), budget_usd=0.2),
                             settings)
    assert len(server.calls) == 1  # the refused one never called
    [item] = refused.items
    assert not item.ok and "past the budget of $0.20" in (item.error or "")
    assert isinstance(next(iter(refused.report.outcomes.values())).exception, BudgetExceeded)


def test_cli_budget_and_dry_run_price_a_cloud_cutout(tmp_path: Path) -> None:
    from tests.conftest import cli

    srcs = write_products(tmp_path / "in", 2)
    plan = cli("cutout", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "clipdrop", "--dry-run")
    assert plan.returncode == 0 and "2 paid call(s)" in plan.stdout and "$0.0600" in plan.stdout, plan.stderr
    with FakeCutoutServer(APIS["clipdrop"], ("ok",)) as server:
        env = {"CLIPDROP_API_KEY": TEST_KEY, "REELFORGE_CLIPDROP_BASE_URL": server.url,
               "REELFORGE_DATA_DIR": str(tmp_path / "data")}
        import os
        import subprocess
        import sys

        done = subprocess.run([sys.executable, "-m", "reelforge", "cutout", str(srcs[0]), str(srcs[1]), "-o",
                               str(tmp_path / "out"), "--method", "clipdrop", "--budget", "0.04", "-j", "1"],
                              capture_output=True, text=True, env={**os.environ, **env, "COLUMNS": "200"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(server.calls) == 1 and "past the budget" in done.stdout
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


def test_a_cloud_cutout_of_one_image_in_memory_is_a_runtime_step(
        tmp_path: Path, product: Image.Image, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    with FakeCutoutServer(APIS["removebg"], ("500", "ok")) as server:
        monkeypatch.setenv("REMOVEBG_API_KEY", TEST_KEY)
        monkeypatch.setenv("REELFORGE_REMOVEBG_BASE_URL", server.url)
        monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("REELFORGE_LIMITS", '{"removebg": {"backoff_initial_s": 0.02}}')
        result = cutout_result(product, "removebg")
        again = cutout_result(product, "removebg")  # cached by content: never paid twice
    assert server.statuses == [500, 200]
    assert result.method == again.method == "removebg" and result.qa is not None
    assert pixel(result.image, 31, 23) == (*SUBJECT, 255) and pixel(again.image, 2, 2)[3] == 0


# --- the batch job ---------------------------------------------------------------------------------

def test_a_batch_with_a_corrupt_file_writes_the_rest_and_names_it(tmp_path: Path) -> None:
    srcs = write_products(tmp_path / "in", 4)
    corrupt = tmp_path / "in" / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    settings = Settings(data_dir=tmp_path / "data")
    result, events = run_job(CutoutJob([tmp_path / "in"], tmp_path / "out", CutoutOptions(method="key"), workers=2),
                             settings)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{p.stem}.png" for p in srcs)
    [bad] = result.failed
    assert bad.source == str(corrupt)
    assert str(corrupt) in (bad.error or "") and "corrupt" in (bad.error or "") and "fix:" in (bad.error or "")
    failed = [e for e in events if e.type == "step.failed"]
    assert len(failed) == 1 and str(corrupt) in failed[0].data["error"]
    finished = {e.step for e in events if e.type == "step.finished"}
    started = {e.step for e in events if e.type == "step.started"}
    assert len(finished) == 4 and started == finished | {failed[0].step}
    assert result.report.summary["cost_usd"] == 0 and result.report.summary["failed"] == 1
