"""product-shots end to end on a synthetic video with known truth (tests/product_video.py): two
RGBA products with exact alpha moving over textured backdrops, motion-blurred stretches, a cut.
Checks what a person would: each product found once, the best frame sharp and whole, the cut-out
alpha against the truth, shots whose product pixels are the cut-out's, the report and gallery."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from reelforge.errors import InputError
from reelforge.imaging import frames as F
from reelforge.imaging.composite import fit_size, placement, resize_rgba, subject_box
from reelforge.pipelines.product_shots import ProductShotsJob, ProductShotsOptions
from reelforge.pipelines.product_shots.analysis import analyse
from reelforge.pipelines.product_shots.shots import frame_size, harmonise, render_shot, spec_for
from reelforge.pipelines.product_shots.source import check_video
from reelforge.settings import Settings
from tests.conftest import run_ffmpeg
from tests.product_video import Truth, make_video

OPTIONS = ProductShotsOptions(fps=4, sizes=("1:1",), long_side=512)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    path = tmp_path_factory.mktemp("video") / "products.mp4"
    return path, make_video(path)


@pytest.fixture(scope="module")
def done(video: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path, truth = video
    root = tmp_path_factory.mktemp("run")
    settings = Settings(data_dir=root / "data", _env_file=None)  # type: ignore[call-arg]
    result = ProductShotsJob(str(path), root / "out", OPTIONS, settings).run()
    return {"result": result, "out": root / "out", "truth": truth, "settings": settings, "video": path}


# --- frames --------------------------------------------------------------------------------------

def test_sampling_finds_the_cut_and_keeps_sharp_diverse_candidates(video: tuple[Path, Truth], tmp_path: Path) -> None:
    path, truth = video
    a = analyse(check_video(path), tmp_path, fps=4, max_frames=240, per_shot=3, min_gap_s=1.0)
    assert len(a.sampled.frames) == 32
    sources = [truth.match(f) for f in a.sampled.frames]
    assert [truth.shot_of[s] for s in sources] == a.shots  # the cut starts shot 2 exactly
    assert all(p.static for p in a.plates.values())  # the camera holds still: clean plates
    for shot in (0, 1):
        picked = [c for c in a.candidates if c.shot == shot]
        assert 1 <= len(picked) <= 3
        times = sorted(c.time_s for c in picked)
        assert all(b - t >= 1.0 for t, b in zip(times, times[1:], strict=False))
        assert not any(truth.blurred[sources[c.index]] for c in picked)  # no motion-blurred candidate
    assert len(list(tmp_path.glob("*.jpg"))) == 32  # full-resolution frames from the same decode


def test_sharpest_frame_wins_within_a_shot() -> None:
    rng = np.random.default_rng(0)
    sharp = (rng.random((90, 160, 3)) * 255).astype(np.uint8)
    frames = [cv2.GaussianBlur(sharp, (0, 0), s) if s else sharp for s in (3, 2, 0, 2, 3)]
    scores = F.score_frames(frames, [0, 1, 2, 3, 4], [0] * 5)
    assert max(scores, key=lambda s: s.score).index == 2
    picked = [c.index for c in F.select_candidates(scores, per_shot=2, min_gap_s=1.5)]
    assert 2 in picked and not {1, 3} & set(picked)  # the runner-up is at least 1.5 s away


# --- bad input -----------------------------------------------------------------------------------

def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    audio = tmp_path / "tone.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(audio))
    still = tmp_path / "still.png"
    Image.new("RGB", (64, 64), "red").save(still)
    for path, words in ((text, "not a readable video"), (empty, "empty"), (audio, "no video stream"),
                        (tmp_path / "missing.mp4", "not found"), (still, "")):
        with pytest.raises(InputError) as info:
            check_video(path)
        assert words in info.value.message and info.value.exit_code == 2


def test_cli_exit_code_2_for_bad_input(tmp_path: Path) -> None:
    """In a subprocess, as a user runs it (the CLI configures logging onto its own stderr)."""
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reelforge", "product-shots", *args], capture_output=True,
                              text=True, timeout=120, check=False)

    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    result = cli(str(bad), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "not a readable video" in result.stderr
    page = cli("https://www.youtube.com/watch?v=abc", "-o", str(tmp_path / "out"))
    assert page.returncode == 2 and "yt-dlp" in page.stderr


# --- the whole job -------------------------------------------------------------------------------

def test_each_product_is_found_once(done: dict[str, Any]) -> None:
    products = done["result"].products
    assert len(products) == 2
    assert "red" in products[0].name and "blue" in products[1].name
    assert all(p.ok for p in products)


def test_best_frame_is_sharp_and_whole(done: dict[str, Any]) -> None:
    truth: Truth = done["truth"]
    for n, p in enumerate(done["result"].products):
        best = np.asarray(Image.open(done["out"] / "products" / p.slug / "best.jpg").convert("RGB"))
        source = truth.match(best)
        assert truth.shot_of[source] == n
        assert source in truth.good_frames(n), (p.reason, source)  # not blurred, fully visible
        assert p.reason


def test_cutout_alpha_matches_the_truth(done: dict[str, Any]) -> None:
    truth: Truth = done["truth"]
    for p in done["result"].products:
        best = np.asarray(Image.open(done["out"] / "products" / p.slug / "best.jpg").convert("RGB"))
        exact = truth.alpha_in_frame(truth.match(best))
        x0, y0, x1, y1 = p.cutout["crop_box"]
        alpha = np.asarray(Image.open(done["out"] / "products" / p.slug / "cutout.png").getchannel("A"),
                           np.float32) / 255
        mae = float(np.abs(alpha - exact[y0:y1, x0:x1]).mean())
        assert p.cutout["method"] == "clean-plate"
        assert mae < 0.03, mae
        assert exact[y0:y1, x0:x1].sum() > 0.98 * exact.sum()  # the crop holds the whole product


def test_shots_are_the_real_product(done: dict[str, Any]) -> None:
    """The product pixels in a shot are the cut-out's (resized, ±4 % harmonised) — not generated."""
    for p in done["result"].products:
        folder = done["out"] / "products" / p.slug
        shots = sorted(folder.glob("shots/*.png"))
        assert [s.name for s in shots] == ["desk-1x1.png", "gradient-1x1.png", "studio-1x1.png"]
        cutout = Image.open(folder / "cutout.png")
        for shot_file in shots:
            style = shot_file.name.split("-")[0]
            spec = spec_for(style)
            shot = np.asarray(Image.open(shot_file).convert("RGB"), np.float32)
            size = frame_size("1:1", 512)
            layer = resize_rgba(cutout.crop(subject_box(cutout)), fit_size(subject_box(cutout), size, spec.scale))
            top, left = placement((layer.height, layer.width), size, spec.anchor, (0.0, 0.0))  # type: ignore[arg-type]
            rgba = np.asarray(layer, np.float32)
            solid = rgba[..., 3] > 250
            region = shot[top:top + layer.height, left:left + layer.width]
            diff = np.abs(region[solid] - rgba[..., :3][solid]).mean()
            assert diff < 0.05 * 255, (shot_file.name, diff)


def test_harmonise_never_recolours_the_product_much() -> None:
    product = Image.new("RGBA", (32, 32), (200, 40, 40, 255))
    warm = Image.new("RGB", (32, 32), (200, 140, 80))
    out = np.asarray(harmonise(product, warm), np.float32)[..., :3]
    assert np.abs(out - np.array([200, 40, 40])).max() <= 0.04 * 200 + 1


def test_report_and_gallery(done: dict[str, Any]) -> None:
    out: Path = done["out"]
    report = json.loads((out / "report.json").read_text())
    assert report["sampling"]["shots"] == 2 and report["sampling"]["frames"] == 32
    assert len(report["products"]) == 2 and report["cost_usd"] == 0
    for key in ("sample_s", "score_s", "vision_s", "cutout_and_shots_s", "total_s"):
        assert key in report["timings"]
    assert all(p["reason"] and p["cutout"]["qa"] for p in report["products"])
    page = (out / "index.html").read_text()
    sources = re.findall(r"src='([^']+)'", page)
    assert len(sources) >= 2 + 2 * 5  # candidates + best, cut-out, 3 shots per product
    assert all((out / s).is_file() for s in sources)  # opens offline: every image is a local file
    assert len(list((out / "frames").glob("*.jpg"))) == len(report["candidates"])


def test_rerun_reuses_the_vision_step(done: dict[str, Any], tmp_path: Path) -> None:
    again = ProductShotsJob(str(done["video"]), tmp_path / "out", OPTIONS, done["settings"]).run()
    assert again.run is not None and again.run.summary["cached"] == 1
    assert [p.name for p in again.products] == [p.name for p in done["result"].products]


def test_service_has_the_job_kind(done: dict[str, Any], tmp_path: Path) -> None:
    from reelforge.service.registry import JobOptions, get_kind

    kind = get_kind("product-shots")
    spec = kind.parse({"video": str(done["video"]), "sizes": ["1:1"], "long_side": 512})
    job = kind.build(spec, JobOptions(), done["settings"], tmp_path)
    assert job.kind == "product-shots" and job.options.sizes == ("1:1",)


def test_model_pick_that_is_cut_off_loses(done: dict[str, Any], video: tuple[Path, Truth], tmp_path: Path) -> None:
    """A vision answer that picks a frame where the product is cut off is overruled, with the reason."""
    from reelforge.pipelines.product_shots.job import choose_best
    from reelforge.providers.vision.base import FoundProduct, ProductBox

    a = analyse(check_video(video[0]), tmp_path, fps=4, max_frames=240, per_shot=3, min_gap_s=1.0)
    first = [c.index for c in a.candidates if c.shot == 0]
    boxes = [ProductBox(image=0, box_2d=[300, 0, 800, 100])] + [
        ProductBox(image=i, box_2d=[300, 300, 800, 500]) for i in range(1, len(first))]
    product = FoundProduct(name="bottle", best_image=0, boxes=boxes)
    outcome = choose_best(a, product, [(first[b.image], b.box_2d) for b in boxes], first[0], 1)
    assert outcome.best_frame != first[0] and "cut off" in outcome.reason


def test_render_shot_keeps_alpha_out_of_the_background() -> None:
    product = Image.new("RGBA", (40, 80), (0, 0, 0, 0))
    product.paste((10, 200, 10, 255), (10, 10, 30, 70))
    shot = np.asarray(render_shot(product, spec_for("studio"), (256, 256)))
    assert shot[5, 5].min() > 200  # the sweep stays white away from the product


def test_urls_go_through_the_guarded_downloader(tmp_path: Path) -> None:
    """A video URL on a private address is refused before any byte is fetched (the one guard)."""
    import asyncio

    from reelforge.fetch import FetchRefused
    from reelforge.pipelines.product_shots.source import resolve_source

    with pytest.raises(FetchRefused) as info:
        asyncio.run(resolve_source("http://127.0.0.1:9/video.mp4", tmp_path, max_bytes=1000, timeout_s=5))
    assert "non-public" in info.value.message and info.value.exit_code == 2


def test_dry_run_lists_the_paid_call_without_a_key(video: tuple[Path, Truth], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    plan = ProductShotsJob(str(video[0]), tmp_path / "out", ProductShotsOptions(fps=2, vision="gemini"),
                           settings).plan()
    assert plan.calls == 1 and plan.estimate_usd is not None and plan.estimate_usd > 0
    assert not (tmp_path / "out").exists()  # nothing written


def test_without_a_clean_plate_the_cutout_engine_isolates_the_product(done: dict[str, Any]) -> None:
    """A moving camera gives no plate: the crop goes to the cut-out engine (auto → ML + refine)."""
    from reelforge.pipelines.product_shots.isolate import isolate

    truth: Truth = done["truth"]
    p = done["result"].products[1]
    best_file = done["out"] / "products" / p.slug / "best.jpg"
    cut = isolate(best_file, p.box_2d)
    assert cut.image is not None and cut.method in ("refine", "ml", "key")
    exact = truth.alpha_in_frame(truth.match(np.asarray(Image.open(best_file).convert("RGB"))))
    x0, y0, x1, y1 = cut.box
    alpha = np.asarray(cut.image.getchannel("A"), np.float32) / 255
    assert float(np.abs(alpha - exact[y0:y1, x0:x1]).mean()) < 0.08


# --- the explicit re-imagined mode (off by default) ---------------------------------------------

def test_reimagined_product_is_off_by_default(done: dict[str, Any]) -> None:
    out: Path = done["out"]
    report = json.loads((out / "report.json").read_text())
    assert "reimagined" not in report and report["options"]["reimagined_product"] is None
    assert all(p["reimagined"] is None for p in report["products"])
    assert not list(out.glob("products/*/reimagined.png"))


def test_reimagined_product_is_drawn_only_when_asked_and_marked(done: dict[str, Any], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.pipelines.product_shots.reimagine import NOTE

    from .fakes.image_apis import FakeImageAPI

    options = ProductShotsOptions(fps=4, sizes=("1:1",), long_side=512, reimagined_product="gemini")
    with FakeImageAPI("gemini") as api:
        for name, value in api.env().items():
            monkeypatch.setenv(name, value)
        settings = Settings(data_dir=done["settings"].data_dir)
        result = ProductShotsJob(str(done["video"]), tmp_path / "out", options, settings).run()
        prompts = api.prompts(status=200)
        again = ProductShotsJob(str(done["video"]), tmp_path / "again", options, settings).run()
        assert api.prompts(status=200) == prompts  # the rerun draws nothing: cached steps
    assert len(prompts) == len(result.products) == 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["reimagined"]["provider"] == "gemini" and "NOT" in report["reimagined"]["note"]
    assert NOTE in report["not_generated"]
    for product, real in zip(report["products"], done["result"].products, strict=True):
        assert product["reimagined"]["provider"] == "gemini" and product["reimagined"]["prompt"] in prompts
        assert real.name.split(": ", 1)[1] in product["reimagined"]["prompt"]  # "red tall object"
        assert (tmp_path / "out" / "products" / product["slug"] / "reimagined.png").is_file()
        # the studio shots are untouched: the same real-pixel composites as without the flag
        for shot in product["files"]["shots"]:
            mine = np.asarray(Image.open(tmp_path / "out" / "products" / product["slug"] / shot))
            plain = np.asarray(Image.open(done["out"] / "products" / product["slug"] / shot))
            assert np.array_equal(mine, plain)
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.count("RE-IMAGINED — not the real product") == 2
    assert all((p.reimagined or {}).get("file") == "reimagined.png" for p in again.products)


def test_reimagined_product_with_an_unusable_provider_fails_before_anything(done: dict[str, Any], tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.errors import ProviderUnavailable

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    for provider, error in (("nope", InputError), ("gemini", ProviderUnavailable)):
        options = ProductShotsOptions(fps=4, sizes=("1:1",), long_side=512, reimagined_product=provider)
        with pytest.raises(error, match="reimagined-product"):
            ProductShotsJob(str(done["video"]), tmp_path / "out", options, settings).run()
    assert not (tmp_path / "out").exists()


# --- cancelling while the video is decoded -------------------------------------------------------

def _ffmpeg_children() -> list[int]:
    """Our ffmpeg child processes (from /proc: pid, parent pid, command name)."""
    import os

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name.startswith("ffmpeg") and int(rest[1]) == os.getpid() and rest[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to find ffmpeg")
def test_cancel_during_decode_kills_ffmpeg_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile
    import threading
    import time

    from reelforge.pipelines.job import CancelToken, JobCancelled, run_job

    video = tmp_path / "long.mp4"  # 40 s at 30 fps, every frame sampled: seconds of decoding and JPEGs
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=40", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out"
    options = ProductShotsOptions(fps=30, max_frames=1200, sizes=("1:1",), long_side=512)
    job = ProductShotsJob(str(video), out, options, Settings(data_dir=tmp_path / "data", _env_file=None))  # type: ignore[call-arg]
    token = CancelToken()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = run_job(job, cancel=token)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(scratch.glob("reelforge-ps-*/frames/*.jpg"))) < 20:
        time.sleep(0.02)
    decoding = _ffmpeg_children()
    written = len(list(scratch.glob("reelforge-ps-*/frames/*.jpg")))
    assert decoding and 20 <= written < 1200, (decoding, written)  # mid-decode
    cancelled_at = time.monotonic()
    token.cancel("cancelled by the test")
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), JobCancelled), outcome
    assert outcome["ended"] - cancelled_at < 2.0  # promptly, not after the decode would have finished
    assert _ffmpeg_children() == []  # ffmpeg was killed and reaped
    assert not out.exists()  # no half-written outputs
    assert list(scratch.iterdir()) == []  # the sampled frames went with their temporary folder
