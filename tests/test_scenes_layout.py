"""The scenes layout, checked as a designer would: the caption's box never touches the subject's
alpha, text stays in the platform safe zone, the subject fills its share and is never cropped by the
zoom — first as geometry over whole Ken Burns paths, then in rendered frames of every example."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from reelforge.imaging.layout import (
    GAP,
    SUBJECT_SHARE,
    Rect,
    caption_fit,
    caption_rect,
    motion_views,
    place_subject,
    safe_rect,
)
from reelforge.spec.timeline import MOTION_PRESETS

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"9:16": (720, 1280), "16:9": (1280, 720)}
BG = "#00c800"  # a flat green: the subject is what is not green, its shadow is darker green


def _motion(name: str) -> dict[str, Any] | None:
    if name == "none":
        return None
    return {"zoom_from": 1.0, "zoom_to": 1.0, "focus_from": (0.5, 0.5), "focus_to": (0.5, 0.5), **MOTION_PRESETS[name]}


@pytest.mark.parametrize("aspect", ["9:16", "16:9"])
@pytest.mark.parametrize("subject", [(200, 640), (640, 200), (400, 400)], ids=["tall", "wide", "square"])
@pytest.mark.parametrize("motion", ["none", "zoom-in", "zoom-out", "pan-left", "pan-down"])
def test_subject_clears_the_caption_and_the_frame_edges_at_every_point_of_the_move(
        aspect: str, subject: tuple[int, int], motion: str) -> None:
    size = SIZES[aspect]
    fit = caption_fit(aspect, size, "bottom")
    caption = caption_rect((int(size[0] * 0.5), 70), "bottom", fit["margin"], size)
    views = motion_views(_motion(motion), samples=41)
    placed = place_subject(subject, size, aspect, caption, views)
    frame = Rect(0, 0, *size)
    for view in views:
        on_screen = view.to_screen(placed.rect, size)
        assert not on_screen.intersects(caption.grown(GAP * min(size) - 1)), (view, on_screen, caption)
        assert on_screen.inside(frame), (view, on_screen)
    assert caption.inside(safe_rect(aspect, size))
    # at zoom 1 (or the move's smallest zoom) the subject fills its share on its binding side
    share_w, share_h = SUBJECT_SHARE[aspect]
    fill = max(placed.rect.width / (share_w * size[0]), placed.rect.height / (share_h * size[1]))
    assert fill >= (0.8 if motion in ("none", "zoom-in", "zoom-out") else 0.7), fill
    assert fill <= 1.0 + 1e-3


@pytest.mark.parametrize("aspect", ["9:16", "16:9"])
@pytest.mark.parametrize("position", ["bottom", "top", "bottom-right", "bottom-left"])
def test_caption_fit_keeps_a_full_width_caption_in_the_safe_zone(aspect: str, position: str) -> None:
    size = SIZES[aspect]
    fit = caption_fit(aspect, size, position)
    widest = (round(fit["wrap_width"] * size[0]), 150)
    assert caption_rect(widest, position, fit["margin"], size).inside(safe_rect(aspect, size))


def test_the_9_16_safe_zone_keeps_out_of_the_shorts_reels_tiktok_bands() -> None:
    safe = safe_rect("9:16", (1080, 1920))
    assert safe.bottom <= 1920 * 0.80 and safe.right <= 1080 * 0.88 and safe.top >= 1920 * 0.08


# --- rendered examples -------------------------------------------------------------------------

def _example_specs() -> list[Path]:
    return sorted(p for p in (ROOT / "examples" / "scenes").glob("*.yaml")
                  if yaml.safe_load(p.read_text()).get("mode", "balanced") != "speed")


def _flat_copy(example: Path, tmp: Path, aspect: str) -> Path:
    """The example at 480p on a flat green backdrop (the layout ignores the backdrop), paths absolute."""
    spec = yaml.safe_load(example.read_text())
    spec.update(aspect=aspect, resolution="480p", quality="draft", background=BG)
    spec.pop("music", None)
    for scene in spec["scenes"]:
        scene.pop("background", None)
        if "image" in scene:
            scene["image"] = str((example.parent / scene["image"]).resolve())
    path = tmp / f"{example.stem}-{aspect.replace(':', 'x')}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _render_scenes(spec: Path, out: Path, data: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["REELFORGE_DATA_DIR"] = str(data)
    result = subprocess.run([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(out)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.with_name(out.stem + ".report.json").read_text())


def _frame(timeline: dict[str, Any], clip: dict[str, Any], at: float, path: Path) -> np.ndarray:
    from reelforge.render.api import render_frame

    render_frame({**timeline, "clips": [{**clip, "transition": None}], "audio": {}}, at, path)
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _invisible_caption(clip: dict[str, Any]) -> dict[str, Any]:
    """The clip with its caption drawn fully transparent: the same geometry, no pixels."""
    clip = copy.deepcopy(clip)
    text = clip["layers"][1]
    text["color"] = "#ffffff00"
    text["box"] = {**text.get("box", {}), "color": "#00000000"}
    return clip


def _bbox(mask: np.ndarray) -> Rect | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return Rect(cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)


@pytest.mark.parametrize("aspect", ["9:16", "16:9"])
@pytest.mark.parametrize("example", _example_specs(), ids=lambda p: p.stem)
def test_rendered_examples_keep_caption_and_subject_apart(example: Path, aspect: str, tmp_path: Path) -> None:
    report = _render_scenes(_flat_copy(example, tmp_path, aspect), tmp_path / "v.mp4", tmp_path / "data")
    timeline = report["timeline"]
    for n, clip in enumerate(timeline["clips"]):
        if len(clip["layers"]) < 2:
            continue
        duration = clip["duration"]
        for at in (0.0, 0.5, duration / 2, duration - 0.45, duration - 1 / 30):  # zoom 1 … the largest zoom
            bare = _frame(timeline, _invisible_caption(clip), at, tmp_path / "bare.png")
            size = (bare.shape[1], bare.shape[0])
            subject = (bare[..., 0] > 60) | (bare[..., 2] > 60)  # not green (nor the green shadow)
            subject_box = _bbox(subject)
            assert subject_box is not None, f"clip {n + 1} at {at}: no subject"
            assert subject_box.inside(Rect(2, 2, size[0] - 2, size[1] - 2), 0), f"clip {n + 1} at {at}: cropped"
            if 0.3 <= at <= duration - 0.3:  # the caption has faded in and not out
                shown = _frame(timeline, clip, at, tmp_path / "shown.png")
                caption = _bbox(np.abs(shown - bare).max(axis=2) > 12)
                assert caption is not None, f"clip {n + 1} at {at}: no caption"
                assert caption.inside(safe_rect(aspect, size), 1), (n, at, caption)
                near = caption.grown(0.02 * min(size))
                region = subject[int(near.top):int(near.bottom), int(max(near.left, 0)):int(near.right)]
                assert not region.any(), f"clip {n + 1} at {at}: subject alpha within 2 % of the caption {caption}"
            if at == 0.0:
                share_w, share_h = SUBJECT_SHARE[aspect]
                fill = max(subject_box.width / (share_w * size[0]), subject_box.height / (share_h * size[1]))
                assert 0.85 <= fill <= 1.08, f"clip {n + 1}: the subject fills {fill:.0%} of its share"


def test_contact_sheet_shows_the_rendered_frame_with_its_number_off_the_picture(tmp_path: Path) -> None:
    from reelforge.pipelines.scenes.finish import sheet_time

    example = ROOT / "examples" / "scenes" / "product.yaml"
    report = _render_scenes(_flat_copy(example, tmp_path, "16:9"), tmp_path / "v.mp4", tmp_path / "data")
    timeline = report["timeline"]
    sheet = np.asarray(Image.open(report["contact_sheet"]).convert("RGB")).astype(int)
    clip = timeline["clips"][0]
    frame = Image.fromarray(_frame(timeline, clip, sheet_time(clip), tmp_path / "f.png").astype(np.uint8))
    frame.thumbnail((480, 480))
    thumb = np.asarray(frame).astype(int)
    h, w = thumb.shape[:2]
    on_sheet = sheet[8:8 + h, 8:8 + w]
    # the whole picture — the draft card's own label at its top-left included — is the rendered
    # frame, caption and all: nothing is drawn over it
    assert np.abs(on_sheet - thumb).mean() < 2.0
    assert np.abs(on_sheet[: h // 5, : w // 3] - thumb[: h // 5, : w // 3]).max() < 40
    # the number sits on the strip below the picture
    strip = sheet[8 + h: 8 + h + h // 8, 8:8 + w // 4]
    assert strip.max() > 200


def test_premium_cuts_out_no_worse_than_balanced_on_the_white_benchmark_split() -> None:
    """Premium forced `refine`: smeared edges on exact white backdrops (3.4x balanced's alpha error)."""
    sys.path.insert(0, str(ROOT))
    from bench.cutout_data import dataset
    from reelforge.imaging.cutout.engine import cut_local
    from reelforge.spec.scenes import ScenesSpec

    samples = dataset(256, splits=("a",))
    errors: dict[str, float] = {}

    def error(method: str) -> float:
        if method not in errors:
            total = 0.0
            for s in samples:
                rgb8 = (np.clip(s.image, 0, 1) * 255).round().astype(np.uint8)
                alpha = np.asarray(cut_local(rgb8[..., :3], method).image.getchannel("A"), np.float32) / 255
                total += float(np.abs(alpha - s.alpha).mean())
            errors[method] = total / len(samples)
        return errors[method]

    spec = {"scenes": [{"prompt": "a mug"}]}
    premium = ScenesSpec.model_validate({**spec, "mode": "premium"}).cutout_method
    balanced = ScenesSpec.model_validate({**spec, "mode": "balanced"}).cutout_method
    assert error(premium) <= error(balanced) + 1e-6, errors
    assert ScenesSpec.model_validate({**spec, "mode": "premium"}).encode_quality == "high"


def test_speed_mode_sends_scenery_prompts_as_written_unless_a_background_is_set(tmp_path: Path) -> None:
    """Speed mode appended the default studio sweep to every prompt: "a lighthouse on a cliff at
    dusk…, in a seamless photo studio sweep" — a paid call for the wrong image."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["REELFORGE_DATA_DIR"] = str(tmp_path / "data")

    def dry(spec: Path, *flags: str) -> str:
        result = subprocess.run([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(tmp_path / "v.mp4"),
                                 "--dry-run", *flags], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    plan = dry(ROOT / "examples/scenes/storyboard.txt", "--mode", "speed")
    assert "a lighthouse on a cliff at dusk, waves below, 16:9 aspect ratio" in plan
    assert "studio" not in plan
    assert "on a polished white marble surface" in dry(ROOT / "examples/scenes/storyboard.txt", "--mode", "speed",
                                                       "--bg", "marble")
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"mode": "speed", "background": "wood", "scenes": [
        {"prompt": "a teapot"}, {"prompt": "a misty forest", "background": "none"}]}))
    plan = dry(spec)
    assert "a teapot, on a warm natural wood surface" in plan and "a misty forest, 16:9 aspect ratio" in plan
    spec.write_text(yaml.safe_dump({"mode": "balanced", "background": "none", "scenes": [{"prompt": "a mug"}]}))
    result = subprocess.run([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(tmp_path / "v.mp4"),
                             "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0 and "speed mode" in result.stderr
