"""Fixtures for the service: an app on a temporary data folder, driven through httpx (Starlette's
TestClient runs the lifespan), and small media to upload."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from reelforge.settings import Settings


def make_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **extra)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from reelforge.service.app import create_app

    with TestClient(create_app(settings, workers=2)) as c:
        yield c


def png_bytes(size: tuple[int, int] = (96, 64), color: tuple[int, int, int] = (200, 40, 40),
              background: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    """A red box on white (the keyer cuts it out exactly)."""
    image = Image.new("RGB", size, background)
    w, h = size
    image.paste(Image.new("RGB", (w // 2, h // 2), color), (w // 4, h // 4))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def tiny_timeline(seconds: float = 1.0, text: str = "hello") -> dict[str, Any]:
    return {"canvas": {"width": 320, "height": 180, "fps": 10, "background": "#203040"},
            "output": {"quality": "draft"},
            "clips": [{"duration": seconds, "layers": [{"type": "text", "text": text, "size": 0.2}]}]}


def wait_for(client: Any, job_id: str, timeout: float = 60, headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers or {}).json()
        if job["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def read_sse(lines: Iterator[str]) -> list[dict[str, Any]]:
    """Parse an SSE stream into [{id, event, data}] until it ends."""
    events, current = [], {}
    for line in lines:
        if line == "":
            if current:
                events.append(current)
            current = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            current[field] = json.loads(value) if field == "data" else value
    if current:
        events.append(current)
    return events
