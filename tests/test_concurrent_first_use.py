"""Issue 21's concurrency probes: many processes using a fresh data folder at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path


def test_many_stores_opening_a_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    from reelforge.runtime.records import RunStore

    url = f"sqlite:///{tmp_path / 'data' / 'reelforge.db'}"
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            RunStore(url).mark_interrupted()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def test_concurrent_runs_list_on_a_fresh_data_folder_never_crashes(tmp_path: Path) -> None:
    """The probe: concurrent `reelforge runs list` on a new REELFORGE_DATA_DIR (3-10 of 60 used to
    exit 1 with "table runs already exists" or "database is locked")."""
    env = {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "fresh"), "COLUMNS": "200"}
    procs = [subprocess.Popen([sys.executable, "-m", "reelforge", "runs", "list"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(10)]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(err[-500:])
    assert failures == []


def test_two_cutout_runs_into_one_folder_do_not_collide(tmp_path: Path) -> None:
    """The probe: two `cutout` runs at once into the same folder (they used to share a temp name,
    `.partial`, and report a spurious "file not found")."""
    from PIL import Image, ImageDraw

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(8):
        image = Image.new("RGB", (256, 256), "white")
        ImageDraw.Draw(image).rectangle((60 + i, 60, 190, 190), fill="#2040c0")
        image.save(src / f"p{i}.png")
    env = {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    argv = [sys.executable, "-m", "reelforge", "cutout", str(src), "-o", str(out), "--method", "key", "-j", "2"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert not any("not found" in text for text in outputs), outputs
    assert sorted(p.name for p in out.iterdir()) == sorted(f"p{i}.png" for i in range(8))
