"""Issue 21's probes of a run that dies: SIGTERM (`kill`, `docker stop`, systemd, CI) and SIGKILL
of `reelforge render`, `cutout -j 2` and `scenes`. Afterwards no descendant (ffmpeg, pool worker,
forkserver) is alive, and after the next run no `.part` file or orphaned temp folder remains.

Bounds are generous deadlines polled, not sleeps: the machine running the suite may be slow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageDraw

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

DEATH_DEADLINE_S = 10.0  # the probe's 3 s, with room for a loaded machine
_short_tmp: list[Path] = []


@pytest.fixture(autouse=True)
def short_tmp() -> object:
    """The commands' TMPDIR: short, since the forkserver's socket path must fit AF_UNIX's 108 bytes."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="rfk-", dir="/tmp"))
    _short_tmp[:] = [path]
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- processes, read from /proc --------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str, str] | None:
    """(ppid, state, start time) of a process, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0], fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of `root`: pid → start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] != "Z":
            children.setdefault(stat[0], []).append(int(entry))
            starts[int(entry)] = stat[2]
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def still_alive(procs: dict[int, str]) -> list[str]:
    alive = []
    for pid, start in procs.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == start and stat[1] != "Z":
            alive.append(f"{pid} {cmdline(pid)[:120]}")
    return alive


def wait_until(check: Callable[[], object], deadline_s: float, what: str) -> object:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what}")


# --- running the command ----------------------------------------------------------------------------

class Run:
    """A `reelforge` command with its own temp folder and data folder."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.tmp = _short_tmp[0]
        self.env = {**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
                    "TMPDIR": str(self.tmp), "REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
        self.args = args

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "reelforge", *self.args], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reelforge", *self.args], env=self.env,
                              capture_output=True, text=True, timeout=600)

    def temp_folders(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if p.name.startswith("reelforge-"))


def kill_and_check(run: Run, sig: signal.Signals, ready: Callable[[dict[int, str]], bool]) -> subprocess.Popen[bytes]:
    """Start the command, wait until `ready(descendants)`, send `sig`; then no descendant may
    stay alive. Returns the finished process."""
    proc = run.start()
    seen: dict[int, str] = {}

    def is_ready() -> bool:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}"
        found = descendants(proc.pid)
        seen.update(found)
        return ready(found)

    try:
        wait_until(is_ready, 180, "the command to get going")
        seen.update(descendants(proc.pid))
        proc.send_signal(sig)
        proc.wait(60)
        wait_until(lambda: not still_alive(seen), DEATH_DEADLINE_S, f"descendants to die: {still_alive(seen)}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in still_alive(seen):  # never leave our own mess on the machine
            os.kill(int(pid.split()[0]), signal.SIGKILL)
    return proc


def has_ffmpeg(procs: dict[int, str]) -> bool:
    return any("ffmpeg" in cmdline(pid).split(" ")[0] for pid in procs)


def has_workers(count: int) -> Callable[[dict[int, str]], bool]:
    """At least `count` pool workers: children of the forkserver (they share its command line)."""
    def check(procs: dict[int, str]) -> bool:
        servers = {pid for pid in procs if "forkserver" in cmdline(pid)}
        return sum((_stat(pid) or (0,))[0] in servers for pid in procs) >= count
    return check


def part_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


# --- render ------------------------------------------------------------------------------------------

def long_render(tmp_path: Path) -> tuple[Run, Path]:
    spec = tmp_path / "long.yaml"
    # long enough that ffmpeg is still encoding when the signal comes, on any machine
    spec.write_text(yaml.safe_dump({
        "canvas": {"width": 640, "height": 360, "fps": 25}, "output": {"quality": "standard"},
        "clips": [{"duration": 1800, "layers": [{"type": "linear-gradient", "colors": ["#ff0000", "#0000ff"], "angle": 90}]}]}))
    out = tmp_path / "out" / "long.mp4"
    return Run(tmp_path, "render", str(spec), "-o", str(out)), out


def short_render(tmp_path: Path, out: Path) -> Run:
    spec = tmp_path / "short.yaml"
    spec.write_text(yaml.safe_dump({
        "canvas": {"width": 160, "height": 90, "fps": 10}, "output": {"quality": "draft"},
        "clips": [{"duration": 0.5, "layers": [{"type": "color", "color": "#00ff00"}]}]}))
    return Run(tmp_path, "render", str(spec), "-o", str(out))


def test_sigterm_of_a_render_stops_ffmpeg_and_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    run, out = long_render(tmp_path)
    proc = kill_and_check(run, signal.SIGTERM, lambda procs: has_ffmpeg(procs) and bool(part_files(out.parent)))
    assert proc.returncode == 143, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    assert not out.exists() and part_files(out.parent) == [] and run.temp_folders() == []


def test_sigkill_of_a_render_kills_ffmpeg_and_the_next_run_removes_what_it_left(tmp_path: Path) -> None:
    run, out = long_render(tmp_path)
    kill_and_check(run, signal.SIGKILL, lambda procs: has_ffmpeg(procs) and bool(part_files(out.parent)))
    assert not out.exists()
    left = part_files(out.parent)
    assert left and run.temp_folders()  # what a kill -9 cannot clean up ...
    size = (out.parent / left[0]).stat().st_size
    time.sleep(1.0)
    assert (out.parent / left[0]).stat().st_size == size  # ... but nothing writes it any more
    nxt = short_render(tmp_path, out.parent / "next.mp4")
    result = nxt.run()
    assert result.returncode == 0, result.stderr
    assert part_files(out.parent) == [] and nxt.temp_folders() == []  # ... the next run removes it


# --- cut-out batch -------------------------------------------------------------------------------------

def cutout_batch(tmp_path: Path, count: int = 40) -> tuple[Run, Path]:
    src, out = tmp_path / "in", tmp_path / "cut"
    src.mkdir()
    image = Image.new("RGB", (1600, 1600), "white")
    ImageDraw.Draw(image).ellipse((400, 400, 1200, 1200), fill="#c03030")
    for i in range(count):
        image.save(src / f"item{i:02d}.png", compress_level=1)
    return Run(tmp_path, "cutout", str(src), "-o", str(out), "--method", "key", "-j", "2"), out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_a_cutout_batch_leaves_no_worker_alive(tmp_path: Path, sig: signal.Signals) -> None:
    run, out = cutout_batch(tmp_path)
    proc = kill_and_check(run, sig, has_workers(2))
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
    nxt = short_render(tmp_path, out / "next.mp4")
    assert nxt.run().returncode == 0
    assert part_files(out) == [] and nxt.temp_folders() == []


# --- scenes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_a_scenes_run_leaves_no_worker_alive(tmp_path: Path, sig: signal.Signals) -> None:
    spec = tmp_path / "scenes.yaml"
    spec.write_text(yaml.safe_dump({
        "resolution": "1080p", "quality": "draft", "duration": 1.0, "provider": "local",
        "scenes": [{"prompt": f"product number {i} on a table"} for i in range(40)]}))
    out = tmp_path / "sc" / "scenes.mp4"
    run = Run(tmp_path, "scenes", str(spec), "-o", str(out))
    proc = kill_and_check(run, sig, has_workers(1))
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
    assert not out.exists()
    nxt = short_render(tmp_path, out.parent / "next.mp4")
    assert nxt.run().returncode == 0
    assert part_files(out.parent) == [] and nxt.temp_folders() == []


# --- the pieces, in-process ----------------------------------------------------------------------------

def test_closing_pools_kills_work_a_cancelled_run_left_running() -> None:
    """A cancelled run's pool work is killed, not waited for (it would hold memory and delay exit)."""
    import asyncio

    from reelforge.runtime.pools import ProcessPools

    pools = ProcessPools({"default": 1})

    async def main() -> float:
        task = asyncio.ensure_future(pools.run(time.sleep, 120))
        end = time.monotonic() + 60
        while pools.worker_count() < 1 and time.monotonic() < end:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the sleep is running in the worker
        task.cancel()
        started = time.monotonic()
        await asyncio.to_thread(pools.close)
        return time.monotonic() - started

    workers = []
    original = pools._executor

    def spy(pool: str = "default") -> object:
        executor = original(pool)
        workers.append(executor)
        return executor

    pools._executor = spy  # type: ignore[method-assign]
    assert asyncio.run(main()) < 30
    assert all(not p.is_alive() for e in workers for p in (getattr(e, "_processes", None) or {}).values())


def test_ffmpeg_gets_the_parent_death_signal() -> None:
    """ffmpeg started by a process that is then SIGKILLed dies with it."""
    code = ("from reelforge.ffmpeg.binary import ffmpeg_path\n"
            "from reelforge.ffmpeg.run import run_ffmpeg\n"
            "run_ffmpeg([ffmpeg_path(), '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=3600', '-f', 'null', '-'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    seen: dict[int, str] = {}
    try:
        wait_until(lambda: seen.update(descendants(proc.pid)) or has_ffmpeg(seen), 60, "ffmpeg to start")
        proc.kill()
        proc.wait(30)
        wait_until(lambda: not still_alive(seen), DEATH_DEADLINE_S, "ffmpeg to die")
    finally:
        for pid in still_alive(seen):
            os.kill(int(pid.split()[0]), signal.SIGKILL)
