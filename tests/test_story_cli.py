"""`reelforge story` and `reelforge characters` as a user runs them: the library round trip, the
dry run of a 7-segment Veo 3.1 story priced from the table, and bad input refused with exit 2
naming the field and the fix (nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REELFORGE_", "GEMINI", "GOOGLE", "OPENAI"))}
    return subprocess.run([sys.executable, "-m", "reelforge", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env={**clean, "REELFORGE_DATA_DIR": str(tmp_path / "data")})


def character(tmp_path: Path) -> Path:
    img = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(img).ellipse((40, 30, 160, 180), fill=(240, 120, 40))
    img.save(tmp_path / "floof.png")
    return tmp_path / "floof.png"


def test_characters_round_trip(tmp_path: Path) -> None:
    image = character(tmp_path)
    added = run(["characters", "add", "Floof", str(image), "--description", "an orange furball"], tmp_path)
    assert added.returncode == 0, added.stderr
    assert "added Floof: 1 image(s), palette #" in added.stdout
    listed = json.loads(run(["characters", "list", "--json"], tmp_path).stdout)
    assert [c["name"] for c in listed] == ["Floof"] and listed[0]["profile"]["palette"]
    again = run(["characters", "add", "Floof", str(image)], tmp_path)
    assert again.returncode == 2 and "already in the library" in again.stderr
    assert run(["characters", "remove", "Floof"], tmp_path).stdout.strip() == "removed Floof"
    missing = run(["characters", "show", "Floof"], tmp_path)
    assert missing.returncode == 2 and "characters add Floof IMAGE" in missing.stderr


def test_dry_run_prices_a_seven_segment_veo_story(tmp_path: Path) -> None:
    image = character(tmp_path)
    out = run(["story", "Floof finds a box", "-c", str(image), "-n", "7", "--writer", "gemini",
               "--image-provider", "gemini", "--video-provider", "veo", "--video-model", "veo-3.1-generate-preview",
               "--dry-run"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("veo-3.1-generate-preview@720p") == 7
    assert "16 call(s)" in out.stdout and "56 s of video" in out.stdout and "$22.7215" in out.stdout
    assert not (tmp_path / "story").exists()


def test_write_then_make_refuses_a_duration_veo_does_not_offer(tmp_path: Path) -> None:
    image = character(tmp_path)
    wrote = run(["story", "write", "Floof finds a box", "-c", str(image), "-n", "2", "-o", "s.yaml"], tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    assert "[draft" in wrote.stdout and "draft: true" in (tmp_path / "s.yaml").read_text()
    text = (tmp_path / "s.yaml").read_text().replace("duration: 8", "duration: 5", 1)
    (tmp_path / "s.yaml").write_text(text)
    made = run(["story", "make", "s.yaml", "-c", str(image), "--video-provider", "veo", "-o", "out"], tmp_path)
    assert made.returncode == 2
    assert "segments[0].duration" in made.stderr and "4, 6, 8" in made.stderr
    assert not (tmp_path / "out").exists()
    broken = run(["story", "make", "missing.yaml", "-o", "out"], tmp_path)
    assert broken.returncode == 2 and "missing.yaml" in broken.stderr
