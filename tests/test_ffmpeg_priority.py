"""`REELFORGE_FFMPEG_NICE` runs ffmpeg below the caller's CPU priority (the service sets 10 so an
encode never starves the API)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.run import run_ffmpeg
from reelforge.settings import get_settings


def _children_nice() -> list[int]:
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                if not Path(f"/proc/{pid}/comm").read_text().startswith("ffmpeg"):
                    continue  # not exec'd yet (forked, priority not yet lowered)
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found.append(int(fields[16]))  # field 19 of stat: nice
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_ffmpeg_runs_at_the_configured_lower_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELFORGE_FFMPEG_NICE", "7")
    get_settings.cache_clear()
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() and not seen:
            seen.extend(_children_nice())
            time.sleep(0.02)

    binary = ffmpeg_path()  # found (and probed) before watching: the probe runs at normal priority
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_ffmpeg([binary, "-hide_banner", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1.5",
                    "-c:v", "libx264", "-preset", "ultrafast", "-y", str(tmp_path / "o.mp4")])
    finally:
        done.set()
        watcher.join()
        get_settings.cache_clear()
    assert seen and all(n == os.nice(0) + 7 for n in seen), seen
