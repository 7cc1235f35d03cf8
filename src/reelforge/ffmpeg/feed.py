"""Frames made in this process, fed to ffmpeg as raw-video inputs through anonymous pipes.

An input whose frames come from Python (the Ken Burns engine) is written into the command as
`pipe:@K` (K = its place among the command's feeds, see `Input.feed`). When the command runs,
each feed gets an `os.pipe()`: ffmpeg inherits the read end (`pipe:<fd>`), a writer thread
pushes the feed's frames into the write end. Nothing is buffered beyond the pipe and the one
frame being written, so memory stays flat however long the clip.

A feed that fails makes the run fail (ffmpeg would otherwise see an early end of file and
write a short video); ffmpeg that ends or dies closes its read ends, so a writer blocked on a
full pipe gets EPIPE and stops."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

PLACEHOLDER = "pipe:@{}"
PIPE_BYTES = 1 << 20  # fewer wake-ups per 3 MB frame; the kernel caps it (pipe-max-size)


class Feed(Protocol):
    """Something that yields an input's raw frames (bytes-like, in the input's pixel format)."""

    def chunks(self) -> Iterable[bytes | bytearray | memoryview]: ...


def feeds_supported() -> bool:
    """Pipes inherited by fd number need POSIX (pass_fds); elsewhere the renderer uses filters."""
    return os.name == "posix"


class Feeding:
    """Pipes and writer threads for one ffmpeg run: `argv` has the placeholders replaced,
    `pass_fds` are the read ends to hand to the child; call `spawned()` right after the child
    starts and `finish()` after it exits (raises the first feed error)."""

    def __init__(self, argv: list[str], feeds: Sequence[Feed]) -> None:
        self.feeds = list(feeds)
        self.errors: list[BaseException] = []
        self.reads: list[int] = []
        self.threads: list[threading.Thread] = []
        self.writes: list[int] = []
        names: dict[str, str] = {}
        for k, feed in enumerate(self.feeds):
            read, write = os.pipe()
            _grow(write)
            self.reads.append(read)
            self.writes.append(write)
            names[PLACEHOLDER.format(k)] = f"pipe:{read}"
            self.threads.append(threading.Thread(target=self._write, args=(write, feed), daemon=True,
                                                 name=f"reelforge-feed-{k}"))
        self.argv = [names.get(a, a) for a in argv]

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return tuple(self.reads)

    def spawned(self) -> None:
        """The child holds its copies now: close ours (so ffmpeg's exit means EPIPE) and start."""
        self.close_reads()
        for thread in self.threads:
            thread.start()

    def close_reads(self) -> None:
        for fd in self.reads:
            os.close(fd)
        self.reads = []

    def finish(self) -> None:
        """Wait for the writers; raise the first feed error (the run must not pass as done)."""
        self.finish_quietly()
        if self.errors:
            raise self.errors[0]

    def finish_quietly(self, timeout: float = 30.0) -> None:
        """Wait for the writers (after ffmpeg failed, its own error says more than a feed's)."""
        self.close_reads()
        for thread, write in zip(self.threads, self.writes):
            if thread.ident is None:  # never started (the child did not start): close its pipe here
                os.close(write)
            else:
                thread.join(timeout)
        self.threads, self.writes = [], []

    def _write(self, fd: int, feed: Feed) -> None:
        _lower_this_thread()
        try:
            for chunk in feed.chunks():
                view = memoryview(chunk).cast("B")
                while view:
                    view = view[os.write(fd, view):]
        except BrokenPipeError:
            pass  # ffmpeg stopped reading (it ended, failed or was killed): nothing more to do
        except BaseException as exc:  # reported by finish(): a short input must not pass as a video
            self.errors.append(exc)
        finally:
            os.close(fd)


def _grow(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # a smaller pipe only means more wake-ups


def _lower_this_thread() -> None:
    """The frames a feed draws are render work, like ffmpeg's: give this thread ffmpeg's
    `REELFORGE_FFMPEG_NICE` (Linux sets priorities per thread), so under `reelforge serve` the
    API's own thread goes first."""
    from reelforge.settings import get_settings

    nice = get_settings().ffmpeg_nice
    if nice > 0 and hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
