"""The AI text engine as a user meets it: the real google-genai client talks to a local fake of
the Gemini API that answers with text drawn on white (JPEG, so with compression noise); the
cut-out, the request, the cache, dry runs, a missing key and a blank answer are checked the way a
person would check them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from reelforge.imaging.fonts import shipped_face
from reelforge.pipelines.text import text_image
from reelforge.pipelines.text_prompt import build_prompt
from reelforge.settings import Settings
from reelforge.spec.text_presets import get_style

from .conftest import frame_at
from .fakes.image_apis import FakeImageAPI

RED = (200, 16, 46)
WORDS = "SALE 50% OFF"


def text_on_white(words: str = WORDS, color: tuple[int, int, int] = RED) -> tuple[bytes, tuple[int, int, int, int]]:
    """What a good model answers: the words in `color` on pure white, as a JPEG (with its
    compression noise around the letters); and the ink's bounding box."""
    canvas = Image.new("RGB", (1536, 640), "white")
    font = ImageFont.truetype(shipped_face("league-spartan", 700).path, 170)
    draw = ImageDraw.Draw(canvas)
    draw.text((768, 320), words, font=font, fill=color, anchor="mm")
    box = draw.textbbox((768, 320), words, font=font, anchor="mm")
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), (int(box[0]), int(box[1]), int(box[2]), int(box[3]))


def blank_white() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def gemini() -> Iterator[FakeImageAPI]:
    with FakeImageAPI("gemini") as api:
        yield api


def cli(*args: str, env: dict[str, str], data: Path, command: str = "text") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    full = {**base, "COLUMNS": "200", "REELFORGE_DATA_DIR": str(data), **env}
    return subprocess.run([sys.executable, "-m", "reelforge", command, *args], capture_output=True, text=True,
                          env=full, timeout=180)


# --- the prompt -------------------------------------------------------------------------------


def test_prompt_asks_for_the_exact_text_alone_on_pure_white() -> None:
    style = get_style(None, {"fill": "#c8102e", "font": "condensed", "uppercase": True})
    prompt = build_prompt("Sale 50% off", style)
    assert 'Render exactly this text and nothing else: "SALE 50% OFF"' in prompt.prompt
    assert "pure white (#FFFFFF)" in prompt.prompt and "#C8102E" in prompt.prompt
    assert "condensed" in prompt.prompt and "no other words" in prompt.prompt
    assert prompt.backdrop == "#FFFFFF" and prompt.aspect in ("16:9", "21:9")


def test_white_lettering_is_drawn_on_a_backdrop_it_can_be_cut_from() -> None:
    assert build_prompt("SALE", get_style("soft-caption")).backdrop == "#000000"  # white text: black
    assert build_prompt("SALE", get_style("bold-outline")).backdrop == "#00B140"  # white + black outline: green
    assert build_prompt("SALE", get_style("gold-3d")).backdrop == "#FFFFFF"


# --- the run, through the real SDK --------------------------------------------------------------


def test_gemini_answer_becomes_a_tight_clean_cutout_and_is_never_paid_twice(
        tmp_path: Path, gemini: FakeImageAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in gemini.env().items():
        monkeypatch.setenv(name, value)
    answer, ink = text_on_white()
    gemini.answer_with(answer, "image/jpeg")
    settings = Settings(data_dir=tmp_path)
    image = text_image(WORDS, None, {"fill": "#c8102e"}, engine="ai", provider="gemini", settings=settings)

    assert len(gemini.calls) == 1
    sent = gemini.calls[0].prompt
    assert f'"{WORDS}"' in sent and "pure white (#FFFFFF)" in sent
    assert image.mode == "RGBA"
    rgba = np.asarray(image).astype(int)
    alpha = rgba[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    # tight: the ink's box plus a small margin, far smaller than the 1536x640 answer
    ink_w, ink_h = ink[2] - ink[0], ink[3] - ink[1]
    assert ink_w <= image.width <= ink_w * 1.1 and ink_h <= image.height <= ink_h + ink_w * 0.1
    opaque = alpha == 255
    assert opaque.mean() > 0.2
    assert np.abs(rgba[opaque][:, :3] - RED).max(axis=1).mean() < 12  # the letters keep their colour
    edge = (alpha > 25) & (alpha < 230)
    assert edge.sum() > 100
    # decontaminated edges: the red of the letters, not pink (red mixed with the white backdrop)
    assert rgba[edge][:, 1].mean() < 60 and rgba[edge][:, 2].mean() < 80 and rgba[edge][:, 0].mean() > 150
    assert image.info["text_ai"]["cost_usd"] == pytest.approx(0.039)

    again = text_image(WORDS, None, {"fill": "#c8102e"}, engine="ai", provider="gemini", settings=settings)
    assert len(gemini.calls) == 1, "the second identical run must not call the provider"
    assert again.info["text_ai"]["cached"] and again.info["text_ai"]["cost_usd"] == 0
    assert again.tobytes() == image.tobytes()


# --- the command --------------------------------------------------------------------------------


def test_dry_run_prints_prompt_and_cost_without_a_key_or_a_call(tmp_path: Path, gemini: FakeImageAPI) -> None:
    env = {k: v for k, v in gemini.env().items() if k != "GEMINI_API_KEY"}
    result = cli(WORDS, "--color", "#c8102e", "--engine", "ai", "--provider", "gemini", "--dry-run",
                 "-o", str(tmp_path / "out.png"), env=env, data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f'Render exactly this text and nothing else: "{WORDS}"' in result.stdout
    assert "gemini-2.5-flash-image" in result.stdout and "pure white (#FFFFFF)" in result.stdout
    assert "estimated cost $0.0390" in result.stdout and "estimate only" in result.stderr
    assert gemini.calls == [] and not (tmp_path / "out.png").exists()


def test_missing_key_fails_before_any_call_naming_the_variable(tmp_path: Path, gemini: FakeImageAPI) -> None:
    env = {k: v for k, v in gemini.env().items() if k != "GEMINI_API_KEY"}
    result = cli(WORDS, "--engine", "ai", "--provider", "gemini", "-o", str(tmp_path / "out.png"), env=env,
                 data=tmp_path)
    assert result.returncode == 2 and "GEMINI_API_KEY" in result.stderr
    assert gemini.calls == [] and not (tmp_path / "out.png").exists()


def test_blank_answer_is_a_clear_error_and_writes_nothing(tmp_path: Path, gemini: FakeImageAPI) -> None:
    gemini.answer_with(blank_white())
    result = cli(WORDS, "--color", "#c8102e", "--engine", "ai", "--provider", "gemini",
                 "-o", str(tmp_path / "out.png"), env=gemini.env(), data=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "has no text on it to cut out" in result.stderr and "--refresh image.generate" in result.stderr
    assert len(gemini.calls) == 1 and not (tmp_path / "out.png").exists()


def test_local_provider_runs_the_whole_path_offline_as_a_draft(tmp_path: Path) -> None:
    out = tmp_path / "sale.png"
    result = cli(WORDS, "--style", "gold-3d", "--engine", "ai", "--provider", "local", "-o", str(out), env={},
                 data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "local/text-draft (draft)" in result.stdout and "typographic engine" in result.stderr
    with Image.open(out) as img:
        assert img.mode == "RGBA" and img.getchannel("A").getextrema() == (0, 255)
        assert img.width < 1024 and img.width > 3 * img.height
    again = cli(WORDS, "--style", "gold-3d", "--engine", "ai", "--provider", "local", "-o", str(out), env={},
                data=tmp_path)
    assert again.returncode == 0 and "cached, no call" in again.stdout


def test_ai_flags_need_the_ai_engine(tmp_path: Path) -> None:
    result = cli(WORDS, "--provider", "gemini", "-o", str(tmp_path / "x.png"), env={}, data=tmp_path)
    assert result.returncode == 2 and "--engine ai" in result.stderr


def test_overlay_text_can_be_drawn_by_the_ai_engine(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "out.mp4"
    args = [str(tone_video), "--text", WORDS, "--style", "gold-3d", "--engine", "ai", "--provider", "local",
            "--position", "center", "-o", str(out)]
    result = cli(*args, env={}, data=tmp_path, command="overlay")
    assert result.returncode == 0, result.stderr
    plain = cli(*args[:5], "--position", "center", "-o", str(tmp_path / "plain.mp4"), env={}, data=tmp_path,
                command="overlay")
    assert plain.returncode == 0, plain.stderr
    drawn, local = frame_at(out, 1.0).astype(int), frame_at(tmp_path / "plain.mp4", 1.0).astype(int)
    # the lettering is burned in the centre, about as wide as the typographic engine draws it
    changed = [np.abs(frame - frame_at(tone_video, 1.0).astype(int)).max(axis=2) > 60 for frame in (drawn, local)]
    spans = [np.nonzero(c.any(axis=0))[0] for c in changed]
    assert all(c[100:140, 140:180].mean() > 0.2 for c in changed)
    assert abs(np.ptp(spans[0]) - np.ptp(spans[1])) < 0.15 * np.ptp(spans[1])
    bad = cli(str(tone_video), "--image", str(tmp_path / "x.png"), "--engine", "ai", "-o", str(tmp_path / "b.mp4"),
              env={}, data=tmp_path, command="overlay")
    assert bad.returncode == 2 and "text` overlays only" in bad.stderr
