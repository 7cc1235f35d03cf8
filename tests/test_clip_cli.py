"""`reelforge clip` as a user runs it: dry run with the cost, a limit refused with exit 2 and the
allowed values, a local clip written, and Veo against the fake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.veo_api import KEY, FakeVeo, make_clip


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REELFORGE_", "GEMINI", "GOOGLE"))}
    return subprocess.run([sys.executable, "-m", "reelforge", "clip", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300,
                          env={**clean, "REELFORGE_DATA_DIR": str(tmp_path / "data"), **env})


def test_dry_run_shows_the_call_and_its_cost(tmp_path: Path) -> None:
    out = run(["a fox", "--provider", "veo", "--model", "veo-3.1-generate-preview", "--resolution", "4k",
               "--dry-run"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "veo-3.1-generate-preview@4k" in out.stdout and "$4.80" in out.stdout


def test_a_limit_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    out = run(["a fox", "--provider", "veo", "--duration", "5", "--dry-run"], tmp_path)
    assert out.returncode == 2 and "--duration" in out.stderr and "4, 6, 8" in out.stderr


def test_local_clip_and_veo_clip(tmp_path: Path) -> None:
    out = run(["a fox in snow", "--duration", "1", "-o", "fox.mp4"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fox.mp4").stat().st_size > 1000 and "$0.00 paid" in out.stdout
    video = make_clip(tmp_path / "v.mp4", 4)
    with FakeVeo(video, generation_s=0.0) as fake:
        out = run(["a fox", "--provider", "veo", "--duration", "4", "-o", "veo.mp4", "--budget", "1"], tmp_path,
                  GEMINI_API_KEY=KEY, REELFORGE_VEO_BASE_URL=fake.url, REELFORGE_VEO_POLL_INTERVAL_S="0.05")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "veo.mp4").read_bytes() == video and "$0.40 paid" in out.stdout and "audio" in out.stdout
