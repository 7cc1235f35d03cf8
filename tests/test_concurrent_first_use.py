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


def test_two_identical_scenes_runs_at_once_pay_for_each_image_once(tmp_path: Path) -> None:
    """The probe: two identical `scenes` runs sharing a data folder each generated every image
    (12 calls for 6 images). A lease on the step key makes the second wait and reuse the result."""
    import json

    import yaml

    from .fakes.products import ProductAPI

    with ProductAPI(delay=0.5) as api:
        spec = tmp_path / "scenes.yaml"
        spec.write_text(yaml.safe_dump({
            "resolution": "480p", "quality": "draft", "duration": 1.0, "provider": "gemini", "mode": "speed",
            "scenes": [{"prompt": f"product {i} on a table"} for i in range(6)]}))
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update({**api.env(), "REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200",
                    "REELFORGE_LIMITS": json.dumps({"gemini": {"max_concurrency": 2, "rpm": 0}})})
        procs = [subprocess.Popen([sys.executable, "-m", "reelforge", "scenes", str(spec), "-o",
                                   str(tmp_path / f"out{i}.mp4")], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for i in range(2)]
        errors = [proc.communicate(timeout=600)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], errors
        prompts = [c.prompt for c in api.calls]
        assert len(prompts) == 6 and len(set(prompts)) == 6, prompts


def test_a_step_lease_is_exclusive_until_released_expired_or_its_process_is_gone(tmp_path: Path) -> None:
    import time

    from reelforge.runtime.records import RunStore, step_lease_owner

    store = RunStore(f"sqlite:///{tmp_path / 'r.db'}")
    a, b = step_lease_owner("a"), step_lease_owner("b")
    assert store.acquire_step_lease("k", a, 60) and store.acquire_step_lease("k", a, 60)  # re-entrant renewal
    assert not store.acquire_step_lease("k", b, 60)
    store.release_step_lease("k", a)
    assert store.acquire_step_lease("k", b, 0.2)
    time.sleep(0.4)
    assert store.acquire_step_lease("k", a, 60)  # b's lease expired
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ghost = a.replace(f":{os.getpid()}:", f":{int(dead.stdout)}:")
    assert store.acquire_step_lease("g", ghost, 600)
    assert store.acquire_step_lease("g", b, 60)  # its process is gone: taken over at once
