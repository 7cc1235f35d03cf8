"""Child processes die with reelforge, however it dies; what a dead run left behind is removed.

A `kill -9` runs no cleanup code, so the children must notice by themselves:

- ffmpeg (and any other command we start) gets Linux's *parent-death signal*: the kernel sends it
  SIGKILL when the thread that started it goes away (`child_preexec`).
- pool workers get the same signal (their parent is the forkserver, which exits when reelforge
  does) and a *lifeline*: a thread that waits on the pipe to the process that asked for them and
  exits the worker when it closes (`worker_init`).

Files and folders a killed run could not remove carry their owner in the name (pid and a host
tag), so the next run can tell "still being written" from "left behind" (`owner_tag`, `is_stale`).
Elsewhere than Linux the signal is not available; the lifeline and the sweeps still work."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_TEMP_DIR = re.compile(r"^reelforge-[a-z]+-(\d+)h([0-9a-f]{6})-[a-z0-9_]+$")
_libc: object | None = None


def _prctl() -> Callable[..., int] | None:
    global _libc
    if not sys.platform.startswith("linux"):
        return None
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            _libc = False
    return getattr(_libc, "prctl", None) if _libc else None


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent (thread) goes away."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def child_preexec() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocesses: parent-death SIGKILL, and exit at once if the parent is
    already gone (it died between fork and prctl). None where the signal does not exist."""
    if _prctl() is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        die_with_parent()
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def worker_init() -> None:
    """Pool worker initialiser: die with the forkserver (parent-death signal) and with the
    process that asked for the worker (a lifeline thread on its pipe)."""
    die_with_parent()
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is None:
        return

    def watch() -> None:
        wait([sentinel])
        os._exit(1)  # the parent is gone: no one will read our result

    threading.Thread(target=watch, name="reelforge-lifeline", daemon=True).start()


def owner_tag(pid: int | None = None) -> str:
    """`<pid>h<host>`: who owns a temp file or folder, checkable by the next run."""
    return f"{os.getpid() if pid is None else pid}h{_HOST}"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return _state(pid) != "Z"


def _state(pid: int) -> str:
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0]
    return ""


def is_stale(pid: str, host: str) -> bool:
    """A thing owned by (pid, host) was left behind: made on this host by a process that is gone."""
    return host == _HOST and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))


@contextlib.contextmanager
def temp_dir(kind: str) -> Iterator[Path]:
    """A private temp folder `reelforge-<kind>-<owner>-<rand>`, removed afterwards; folders that
    killed runs left behind are removed first."""
    sweep_temp_dirs()
    path = Path(tempfile.mkdtemp(prefix=f"reelforge-{kind}-{owner_tag()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_temp_dirs(root: str | None = None) -> list[Path]:
    """Remove `reelforge-*` temp folders whose owner process is gone; return them."""
    root = root or tempfile.gettempdir()
    removed: list[Path] = []
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            match = _TEMP_DIR.match(entry.name)
            if match and is_stale(match[1], match[2]) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed
