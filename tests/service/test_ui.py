"""The web UI in a real Chromium (Playwright for Python, Debian's chromium): upload an image,
run a cut-out and watch it finish; a bad spec shows its error next to the field; a render plays
in the page. Screenshots go to out/screenshots/ (kept as test artifacts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import png_bytes
from tests.service.server import Server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                               "(apt-get install -y chromium)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("ui") / "data") as s:
        yield s


@pytest.fixture
def page(server: Server) -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=server.url)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, errors


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_upload_cutout_and_see_the_result(page: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    photo = tmp_path / "product.png"
    photo.write_bytes(png_bytes((480, 360)))
    page.goto("/new/cutout")  # type: ignore[attr-defined]
    page.set_input_files("[data-files=inputs] input[type=file]", str(photo))  # type: ignore[attr-defined]
    expect(page.locator(".file img")).to_be_visible()  # type: ignore[attr-defined]
    page.select_option("select[name=method]", "key")  # type: ignore[attr-defined]
    page.click("#planbtn")  # type: ignore[attr-defined]
    expect(page.locator("#estimate")).to_contain_text("$0.0000")  # type: ignore[attr-defined]
    shot(page, "cutout-form")
    page.click("#submitbtn")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{16}$"))  # type: ignore[attr-defined]
    expect(page.locator("#status")).to_have_text("succeeded", timeout=60_000)  # type: ignore[attr-defined]
    expect(page.locator("#pct")).to_have_text("100%")  # type: ignore[attr-defined]
    expect(page.locator("#log")).to_contain_text("job succeeded")  # type: ignore[attr-defined]
    image = page.locator(".gallery .checker img").first  # type: ignore[attr-defined]
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    shot(page, "cutout-result")
    page.goto("/")  # type: ignore[attr-defined]
    expect(page.locator("#jobs tbody tr").first).to_contain_text("cutout")  # type: ignore[attr-defined]
    shot(page, "history")


def test_invalid_spec_shows_the_error_next_to_the_field(page: object) -> None:
    from playwright.sync_api import expect

    page.goto("/new/image")  # type: ignore[attr-defined]
    page.fill("input[name=count]", "99")  # type: ignore[attr-defined]
    page.click("#submitbtn")  # type: ignore[attr-defined]
    error = page.locator(".fielderr[data-for='spec.count']")  # type: ignore[attr-defined]
    expect(error).to_contain_text("less than or equal to 16")
    expect(page.locator("[data-field=count]")).to_have_class(re.compile("invalid"))  # type: ignore[attr-defined]
    assert "/new/image" in page.url  # type: ignore[attr-defined]
    shot(page, "image-invalid")


def test_render_plays_in_the_page(page: object, server: Server) -> None:
    import httpx
    from playwright.sync_api import expect

    spec = {"canvas": {"width": 640, "height": 360, "fps": 25},
            "clips": [{"duration": 2, "layers": [{"type": "linear-gradient", "colors": ["#1d2b64", "#f8cdda"]},
                                                 {"type": "text", "text": "reelforge", "size": 0.18}]}]}
    job = httpx.post(f"{server.url}/v1/jobs", json={"kind": "render", "spec": spec}).json()
    page.goto(f"/jobs/{job['id']}")  # type: ignore[attr-defined]
    expect(page.locator("#status")).to_have_text("succeeded", timeout=60_000)  # type: ignore[attr-defined]
    video = page.locator("video")  # type: ignore[attr-defined]
    expect(video).to_be_visible()
    video.evaluate("v => new Promise(r => { v.currentTime = 1.2; v.onseeked = r; })")  # seeking needs Range
    assert video.evaluate("v => v.duration") == pytest.approx(2.0, abs=0.15)
    shot(page, "render-result")
