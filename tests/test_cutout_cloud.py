"""Cloud cut-out adapters (remove.bg, Photoroom, Clipdrop) against local fakes of their APIs.

Every test looks at what a user gets: the cut-out's pixels and size, the error message, and how
many calls (and so how much money) the provider saw.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.providers.cutout.base import Cutout
from reelforge.providers.cutout.clipdrop import Clipdrop
from reelforge.providers.cutout.cloud import CloudCutout, RetryPolicy, retry_after_seconds
from reelforge.providers.cutout.photoroom import Photoroom
from reelforge.providers.cutout.registry import available, get_cutout_provider, names
from reelforge.providers.cutout.removebg import RemoveBg
from reelforge.settings import get_settings
from tests.fakes.cutout_servers import APIS, TEST_KEY, FakeCutoutServer

ADAPTERS: dict[str, type[CloudCutout]] = {"removebg": RemoveBg, "photoroom": Photoroom, "clipdrop": Clipdrop}
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, max_retry_after=5.0)
SUBJECT = (200, 30, 30)
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


@pytest.fixture(params=list(ADAPTERS))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(name: str) -> Iterator[Serve]:
    servers: list[FakeCutoutServer] = []

    def start(*script: str, **options: object) -> FakeCutoutServer:
        server = FakeCutoutServer(APIS[name], script or ("ok",), **options).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(image)[y, x])


def adapter(name: str, server: FakeCutoutServer, **options: object) -> CloudCutout:
    settings: dict[str, object] = {"api_key": TEST_KEY, "base_url": server.url, "timeout": 5.0, "retry": FAST}
    return ADAPTERS[name](**{**settings, **options})  # type: ignore[arg-type]


def test_success_returns_rgba_cutout_of_input_size(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    before = product.tobytes()
    result = adapter(name, server).cut(product)

    assert result.image.mode == "RGBA" and result.image.size == product.size
    assert pixel(result.image, 2, 2)[3] == 0  # white sweep is gone
    assert pixel(result.image, 31, 23) == (*SUBJECT, 255)  # the box is kept, opaque
    assert (result.method, result.reason) == (name, "requested")
    assert result.details == {"provider": name, **CREDITS[name]}
    assert product.tobytes() == before  # input untouched


def test_request_matches_the_documented_wire_format(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    adapter(name, server).cut(product)

    (call,) = server.calls
    assert call.path == APIS[name].path and call.status == 200
    assert call.headers[APIS[name].key_header] == TEST_KEY
    assert call.fields == FIELDS[name]
    upload = call.files["image_file"]
    assert upload.content_type == "image/png"
    assert Image.open(io.BytesIO(upload.data)).size == product.size


def test_rate_limit_waits_retry_after_then_succeeds(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("429", "ok", retry_after="1")
    result = adapter(name, server).cut(product)

    assert result.image.size == product.size
    assert server.statuses == [429, 200]
    assert server.calls[1].at - server.calls[0].at >= 1.0


def test_long_retry_after_fails_at_once_and_says_how_long(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("429", retry_after="3600")
    with pytest.raises(ProviderError, match="wait 3600 s") as caught:
        adapter(name, server).cut(product)
    assert caught.value.status == 429 and caught.value.retryable
    assert len(server.calls) == 1


def test_server_error_is_retried(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("500", "ok")
    result = adapter(name, server).cut(product)
    assert pixel(result.image, 31, 23)[3] == 255
    assert server.statuses == [500, 200]


def test_server_error_forever_stops_after_bounded_attempts(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("500")
    with pytest.raises(ProviderError, match=r"server error \(500\).*gave up after 4 attempts") as caught:
        adapter(name, server).cut(product)
    assert caught.value.retryable and caught.value.status == 500
    assert server.statuses == [500] * 4


def test_timeout_is_retried(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("slow", "ok", slow_s=1.0)
    result = adapter(name, server, timeout=0.3).cut(product)
    assert result.image.size == product.size
    assert [call.step for call in server.calls] == ["slow", "ok"]


def test_unreachable_service_is_retried_then_fails(name: str, product: Image.Image) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = ADAPTERS[name](api_key=TEST_KEY, base_url=f"http://127.0.0.1:{port}", retry=FAST)
    with pytest.raises(ProviderError, match="could not reach.*gave up after 4 attempts"):
        provider.cut(product)


def test_out_of_credits_fails_after_one_call(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("402")
    provider = adapter(name, server)
    with pytest.raises(ProviderError) as caught:
        provider.cut(product)
    assert str(caught.value).startswith(f"{provider.label}: out of credits (402): top up at https://")
    assert not caught.value.retryable
    assert len(server.calls) == 1


@pytest.mark.parametrize("how", ["wrong key", "scripted 403"])
def test_rejected_key_fails_after_one_call(name: str, serve: Serve, product: Image.Image, how: str) -> None:
    server = serve("403" if how == "scripted 403" else "ok")
    provider = adapter(name, server, api_key="wrong-key" if how == "wrong key" else TEST_KEY)
    with pytest.raises(ProviderError) as caught:
        provider.cut(product)
    message = str(caught.value)
    assert message.startswith(f"{provider.label}: {provider.key_env} is rejected (403): ")
    assert APIS[name].messages[403][0] in message  # the service's own words
    assert len(server.calls) == 1


def test_bad_request_fails_after_one_call_with_the_service_message(
        name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("400")
    with pytest.raises(ProviderError, match=r"request rejected \(400\)") as caught:
        adapter(name, server).cut(product)
    assert APIS[name].messages[400][0] in str(caught.value)
    assert len(server.calls) == 1


def test_garbage_body_is_not_an_image(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("garbage")
    with pytest.raises(ProviderError, match="the response was not an image") as caught:
        adapter(name, server).cut(product)
    assert "text/html" in str(caught.value)
    assert len(server.calls) == 1  # a 200 may have been charged: not retried


def test_missing_key_is_unavailable_before_any_call(
        name: str, serve: Serve, product: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve("ok")
    provider = ADAPTERS[name](base_url=server.url, retry=FAST)
    monkeypatch.delenv(provider.key_env, raising=False)
    with pytest.raises(ProviderUnavailable) as caught:
        provider.cut(product)
    assert caught.value.exit_code == 2
    assert provider.key_env in str(caught.value)
    assert server.calls == []


def test_smaller_result_is_resized_to_the_input(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("half")
    result = adapter(name, server).cut(product)
    assert result.image.size == product.size
    assert pixel(result.image, 2, 2)[3] == 0 and pixel(result.image, 31, 23)[3] == 255
    assert any("resized" in warning for warning in result.warnings)


def test_keep_shadow(name: str, serve: Serve, product: Image.Image) -> None:
    server = serve("ok")
    result = adapter(name, server).cut(product, keep_shadow=True)
    if name == "removebg":  # remove.bg documents add_shadow (car photos only)
        assert server.calls[0].fields["add_shadow"] == "true"
        assert "add_shadow" in result.details["keep_shadow"]
    else:
        assert server.calls[0].fields == FIELDS[name]
        assert result.details["keep_shadow"].startswith("ignored")


def test_registry_gives_each_cloud_provider(name: str) -> None:
    provider = get_cutout_provider(name, api_key=TEST_KEY)
    assert isinstance(provider, Cutout) and provider.name == name
    assert name in names()


def test_unknown_provider_names_the_choices() -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        get_cutout_provider("magic")
    assert "removebg, photoroom, clipdrop" in str(caught.value)


def test_available_reports_which_keys_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMOVEBG_API_KEY", "k")
    monkeypatch.delenv("PHOTOROOM_API_KEY", raising=False)
    monkeypatch.setenv("CLIPDROP_API_KEY", " ")
    rows = {row[0]: row[1:] for row in available()}
    assert rows["removebg"][0] is True
    assert rows["photoroom"] == (False, "set PHOTOROOM_API_KEY (get a key at https://app.photoroom.com/api-dashboard)")
    assert rows["clipdrop"][0] is False and "CLIPDROP_API_KEY" in rows["clipdrop"][1]


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_base_url_comes_from_the_environment(
        name: str, serve: Serve, product: Image.Image, monkeypatch: pytest.MonkeyPatch,
        fresh_settings: None) -> None:
    server = serve("ok")
    monkeypatch.setenv(f"REELFORGE_{name.upper()}_BASE_URL", server.url + "/")
    monkeypatch.setenv(ADAPTERS[name].key_env, TEST_KEY)
    result = get_cutout_provider(name, retry=FAST).cut(product)
    assert result.image.size == product.size and len(server.calls) == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert 25 <= (retry_after_seconds({"retry-after": soon}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
