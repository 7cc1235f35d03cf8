"""Timeline text layers and scene captions take the same style model and presets as `reelforge
text` (`style: neon`), drawn by the same effects engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from reelforge.errors import SpecError
from reelforge.render.api import render
from reelforge.spec.loader import load_timeline
from reelforge.spec.scenes import ScenesSpec
from reelforge.spec.text_presets import presets

from .conftest import frame_at

ROOT = Path(__file__).resolve().parents[1]
BG = "#101018"


def neon_pixels(frame: np.ndarray) -> np.ndarray:
    """The neon preset's pink/violet glow (#ff4fd8, #ff2bd0, #b000ff) over a dark background."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 150) & (b > 120) & (g < 110)


def neon_timeline(**text: object) -> dict[str, object]:
    return {"canvas": {"width": 640, "height": 360, "fps": 24, "background": BG}, "output": {"quality": "draft"},
            "clips": [{"duration": 2, "layers": [{"type": "color", "color": BG},
                                                 {"type": "text", "text": "Open late", "style": "neon", "size": 0.22,
                                                  "start": 0.5, **text}]}]}


def test_a_neon_text_layer_glows_in_the_preset_colours(tmp_path: Path) -> None:
    out = tmp_path / "neon.mp4"
    render(neon_timeline(), out)
    before, during = frame_at(out, 0.25), frame_at(out, 1.2)
    assert not neon_pixels(before).any()
    glow = neon_pixels(during)
    ys, xs = np.nonzero(glow)
    assert glow.sum() > 2000  # a glow around every letter, not a stray pixel
    assert 100 < ys.mean() < 260 and 170 < xs.mean() < 470  # centred, where the layer sits
    core = during[ys.min():ys.max(), xs.min():xs.max()].reshape(-1, 3).astype(int)
    assert ((core[:, 0] > 230) & (core[:, 1] > 200) & (core[:, 2] > 220)).sum() > 500  # the white-hot core (#fff4fb)
    assert np.abs(during[10, 10].astype(int) - (0x10, 0x10, 0x18)).max() < 12  # the background untouched


def test_plain_fields_the_layer_sets_replace_the_style_ones() -> None:
    layer = load_timeline(neon_timeline(font="serif", color="#00ff00")).clips[0].layers[1]
    assert layer.style is not None and layer.style.glow == presets()["neon"].glow  # type: ignore[union-attr]
    from reelforge.render.prepare import Preparer

    styled = Preparer(load_timeline(neon_timeline(font="serif", color="#00ff00")))._styled(layer)  # type: ignore[arg-type]
    assert (styled.font, styled.fill.color.lower(), styled.size) == ("serif", "#00ff00", round(0.22 * 360))


@pytest.mark.parametrize("style, message", [
    ("nope", "unknown text style 'nope'"),
    ({"preset": "neon", "glow": {"radius": -1}}, "style.glow"),
])
def test_bad_styles_name_the_field(style: object, message: str) -> None:
    with pytest.raises(SpecError) as err:
        load_timeline(neon_timeline(style=style))
    assert message in str(err.value) + repr(getattr(err.value, "problems", ""))


def test_a_style_and_plain_effects_do_not_mix() -> None:
    with pytest.raises(SpecError, match="inside the style"):
        load_timeline(neon_timeline(stroke={"width": 3}))


def test_a_scenes_caption_in_the_neon_style_is_accepted_and_drawn(tmp_path: Path) -> None:
    doc = {"resolution": "480p", "quality": "draft", "duration": 1.5, "transition": None, "motion": "none",
           "mode": "speed", "provider": "local", "caption_style": {"style": "neon", "position": "center", "size": 0.15},
           "scenes": [{"image": str(ROOT / "examples/media/mug-on-grey.jpg"), "caption": "Late"}]}
    ScenesSpec.model_validate(doc)  # accepted by the spec
    spec = tmp_path / "scenes.yaml"
    spec.write_text(yaml.safe_dump(doc))
    out = tmp_path / "ad.mp4"
    done = subprocess.run([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    frame = frame_at(out, 0.9)
    h, w = frame.shape[:2]
    # the photo (a red mug on grey) has no such pink: without the caption this count is 0
    glow = neon_pixels(frame[h // 4: 3 * h // 4, w // 4: 3 * w // 4])
    assert glow.sum() > 1000
