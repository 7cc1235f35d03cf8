"""Shared fixtures: an isolated cache, media made with ffmpeg's lavfi, and helpers that look at
outputs the way a person would (probe, pixels at a timestamp, audio levels)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test session gets its own stills cache so results never depend on a user's cache."""
    os.environ["REELFORGE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    from reelforge.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    from reelforge.ffmpeg.binary import ffmpeg_path

    return ffmpeg_path()


def run_ffmpeg(*args: str) -> None:
    from reelforge.ffmpeg.binary import ffmpeg_path

    subprocess.run([ffmpeg_path(), "-hide_banner", "-v", "error", "-y", *args], check=True)


def frame_at(path: Path, seconds: float) -> np.ndarray:
    """The decoded RGB frame shown at `seconds` (H x W x 3, uint8)."""
    from reelforge.ffmpeg.binary import ffmpeg_path
    from reelforge.ffmpeg.probe import probe

    info = probe(path)
    assert info.video is not None and info.video.width and info.video.height and info.video.fps
    # The frame on screen at t is frame floor(t·fps); output seeking keeps frames with pts ≥ ss.
    index = int(seconds * info.video.fps + 1e-6)
    start = max(0.0, index / info.video.fps - 1e-4)
    raw = subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", str(path), "-ss", f"{start:.6f}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(info.video.height, info.video.width, 3)


def audio_samples(path: Path, rate: int = 8000) -> np.ndarray:
    """Mono float samples of the file's audio at `rate` Hz."""
    from reelforge.ffmpeg.binary import ffmpeg_path

    raw = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32)


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `reelforge` command in a subprocess (exit codes, stdout, stderr)."""
    return subprocess.run([sys.executable, "-m", "reelforge", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="session")
def tone_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s 320x240 25 fps test pattern with a 440 Hz tone."""
    path = tmp_path_factory.mktemp("media") / "tone.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3", "-f", "lavfi", "-i", "sine=f=440:d=3:r=48000",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.fixture(scope="session")
def music_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s steady 330 Hz tone as a music bed (shorter than most test videos: it must loop)."""
    path = tmp_path_factory.mktemp("media") / "music.wav"
    run_ffmpeg("-f", "lavfi", "-i", "sine=f=330:d=2:r=48000", "-ac", "2", str(path))
    return path


def canvas(width: int = 320, height: int = 180, fps: int = 24, **extra: object) -> dict:
    return {"width": width, "height": height, "fps": fps, **extra}


def draft() -> dict:
    return {"quality": "draft"}


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Generated artifacts and run records of the test session stay out of the user's data dir."""
    os.environ["REELFORGE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["REELFORGE_IMAGE_PROVIDER"] = "local"
    from reelforge.settings import get_settings

    get_settings.cache_clear()
