"""The local motion engine, judged by what a person would see: the morph carries an object
across (it does not cross-fade), Ken Burns moves the picture, extension continues the clip, and
the `local` provider delivers the same outputs as Veo through the same job."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.imaging.motion.kenburns import kenburns
from reelforge.imaging.motion.morph import morph
from reelforge.pipelines.clip import ClipJob
from reelforge.settings import Settings

W, H = 1280, 720
YELLOW = (250, 200, 30)


def square_at(x: int) -> np.ndarray:
    image = np.full((H, W, 3), (40, 60, 90), np.uint8)
    image[300:400, x - 50:x + 50] = YELLOW
    return image


def yellow_centre(frame: np.ndarray) -> tuple[float, int]:
    mask = (frame[..., 0] > 200) & (frame[..., 1] > 150) & (frame[..., 2] < 100)
    xs = np.nonzero(mask)[1]
    return (float(xs.mean()) if len(xs) else float("nan")), int(mask.sum())


def test_the_morph_moves_the_square_instead_of_cross_fading() -> None:
    frames = list(morph(square_at(100), square_at(500), (W, H), 49))
    x, area = yellow_centre(frames[24])
    assert abs(x - 300) < 15  # halfway there (eased: t = 0.5 at the middle frame)
    assert area > 0.9 * 100 * 100  # one solid square, not two half-transparent ones
    assert yellow_centre(frames[0])[0] == pytest.approx(99.5) and yellow_centre(frames[48])[0] == pytest.approx(499.5)
    xs = [yellow_centre(f)[0] for f in frames[::6]]
    assert xs == sorted(xs)  # it travels one way


def test_ken_burns_zooms_and_pans_the_still() -> None:
    rng = np.random.default_rng(1)
    still = (rng.random((H // 8, W // 8, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    frames = list(kenburns(still, (640, 360), 48))
    assert np.array_equal(frames[0], np.asarray(Image.fromarray(still).resize((640, 360))) ) or \
        np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() < 3  # starts at rest
    import cv2

    first = cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY).astype(np.float32)
    last = cv2.cvtColor(frames[-1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(first, last)
    assert abs(dx) > 5  # the picture moved
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 20


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def test_local_provider_makes_every_mode_through_the_clip_job(tmp_path: Path) -> None:
    from reelforge.pipelines.clip.actions import probe_meta

    s = Settings(data_dir=tmp_path / "data")
    first, last = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(png_bytes(square_at(100)))
    last.write_bytes(png_bytes(square_at(500)))
    morph_job = ClipJob("", tmp_path / "morph.mp4", s, image=first, last_frame=last, duration=2)
    result = morph_job.run()
    assert result.report.state == "succeeded", result.report.outcomes["clip"].error
    meta = probe_meta(result.files[0])
    assert (meta["width"], meta["height"]) == (1280, 720) and meta["duration"] == pytest.approx(2.0, abs=0.1)
    assert result.report.summary["cost_usd"] == 0
    from tests.conftest import frame_at

    middle = frame_at(result.files[0], 1.0)
    x, _ = yellow_centre(middle)
    assert abs(x - 300) < 25  # through the encoder, still halfway
    card = ClipJob("a fox in snow", tmp_path / "card.mp4", s, duration=1, aspect="9:16").run()
    assert probe_meta(card.files[0])["height"] == 1280
    extended = ClipJob("", tmp_path / "ext.mp4", s, extend=tmp_path / "card.mp4").run()
    assert probe_meta(extended.files[0])["duration"] == pytest.approx(8.0, abs=0.1)  # 1 s + 7 s


def test_the_morph_is_faster_than_real_time_enough_to_iterate() -> None:
    started = time.perf_counter()
    frames = sum(1 for _ in morph(square_at(100), square_at(500), (W, H), 24))
    fps = frames / (time.perf_counter() - started)
    assert fps > 3  # a smoke bound on a shared 2-core machine; bench/bench_clip.py measures it
