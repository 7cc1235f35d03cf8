"""Process pools for CPU-bound step work, shared by every run of a runtime context.

Pools live as long as the context, not a run: two runs at once on one context share them, and a
run ending never cancels another run's work. A pool is named ("default", "cutout", …); a name can
be an alias of another pool, so work that needs the same memory-heavy state (an ML session per
process) shares one. Memory-heavy pools can be *released when idle*: once no run holds them they
are shut down, so a CLI run gets its memory back before the render, while a server that keeps
runs coming keeps its sessions warm (`keep_warm=True`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from reelforge.lifeline import worker_init


class ProcessPools:
    def __init__(self, sizes: Mapping[str, int | str] | None = None, *, keep_warm: bool = False) -> None:
        self.sizes: dict[str, int | str] = {"default": os.cpu_count() or 1, **(sizes or {})}
        self.keep_warm = keep_warm
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._holders: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def configure(self, sizes: Mapping[str, int | str]) -> None:
        """Declare pools a pipeline needs; a name already declared keeps its first size (several
        runs share the context, and a pool in use is never resized under them)."""
        with self._lock:
            for name, size in sizes.items():
                self.sizes.setdefault(name, size)

    def resolve(self, name: str) -> tuple[str, int]:
        size = self.sizes.get(name, 1)
        if isinstance(size, str):  # an alias
            name, size = size, self.sizes.get(size, 1)
        return name, int(size)  # type: ignore[arg-type]

    async def run(self, fn: Callable[..., Any], *args: Any, pool: str = "default") -> Any:
        """Run `fn(*args)` in the named pool (fn and args must pickle)."""
        executor = self._executor(pool)
        return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))

    def _executor(self, pool: str) -> ProcessPoolExecutor:
        name, size = self.resolve(pool)
        with self._lock:
            if self._closed:
                raise RuntimeError("the runtime context is closed")
            if name not in self._pools:
                # forkserver: children start from a clean process, not a fork of one holding threads;
                # worker_init: a worker dies with this process, even on kill -9 (no orphan keeps
                # computing, or idles holding an ML session's memory)
                self._pools[name] = ProcessPoolExecutor(max_workers=size, initializer=worker_init,
                                                        mp_context=multiprocessing.get_context("forkserver"))
            return self._pools[name]

    @contextlib.asynccontextmanager
    async def hold(self, names: Collection[str] = ("*",)) -> AsyncIterator[None]:
        """Keep pools alive while the block runs ("*": every pool). A run holds them for its
        whole length; a pipeline with several rounds holds them across rounds so its worker
        processes (and their ML sessions) are not restarted between rounds."""
        held = [name if name == "*" else self.resolve(name)[0] for name in names]
        with self._lock:
            for name in held:
                self._holders[name] = self._holders.get(name, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for name in held:
                    self._holders[name] -= 1
            await asyncio.to_thread(self.release_idle)

    def release_idle(self) -> None:
        """Shut down pools no run holds (unless the context keeps them warm)."""
        if self.keep_warm:
            return
        with self._lock:
            if self._holders.get("*", 0) > 0:
                return
            idle = {name: pool for name, pool in self._pools.items() if self._holders.get(name, 0) <= 0}
            for name in idle:
                del self._pools[name]
        for pool in idle.values():
            _shut_down(pool)  # workers gone before whatever runs next

    def worker_count(self) -> int:
        return sum(len(getattr(p, "_processes", None) or {}) for p in self._pools.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            _shut_down(pool)


def _shut_down(pool: ProcessPoolExecutor, grace_s: float = 5.0) -> None:
    """Shut a pool down and make sure its workers are gone. Work still running belongs to a run
    that was cancelled (a pool is only released when no run holds it): it is killed rather
    than waited for, so Ctrl-C or SIGTERM frees the memory at once."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    busy = bool(getattr(pool, "_pending_work_items", None))
    pool.shutdown(wait=not busy, cancel_futures=True)
    for process in processes:
        if busy:
            process.kill()
        process.join(grace_s)
        if process.is_alive():
            process.kill()
            process.join(grace_s)
