"""Frames made in this process, fed to ffmpeg as raw-video inputs through anonymous pipes.

An input whose frames come from Python (the Ken Burns engine) is written into the command as
`pipe:@K` (K = its place among the command's feeds, see `Input.feed`). When the command runs,
each feed gets an `os.pipe()`: ffmpeg inherits the read end (`pipe:<fd>`), a writer thread
pushes the feed's frames into the write end. Nothing is buffered beyond the pipe and the one
frame being written, so memory stays flat however long the clip.

A feed that fails makes the run fail (ffmpeg would otherwise see an early end of file and
write a short video); ffmpeg that ends or dies closes its read ends, so a writer blocked on a
full pipe gets EPIPE and stops.

With `REELFORGE_FEED_PROCESS=1` (what `reelforge serve` uses) the writers
are threads of one child process per ffmpeg run instead (`python -m reelforge.ffmpeg.feed_process`,
at ffmpeg's priority): it inherits the write ends and gets the feeds pickled on stdin. Drawing
frames then never takes the API process's interpreter lock or its cores' time slices, at the
price of one interpreter start (~0.3 CPU-s) per ffmpeg run — which is why the CLI keeps threads."""

from __future__ import annotations

import base64
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Protocol

PLACEHOLDER = "pipe:@{}"
PIPE_BYTES = 1 << 20  # fewer wake-ups per 3 MB frame; the kernel caps it (pipe-max-size)
USER_ERROR = "reelforge-user-error:"  # the feed process's last stderr line: a pickled ReelforgeError


class Feed(Protocol):
    """Something that yields an input's raw frames (bytes-like, in the input's pixel format)."""

    def chunks(self) -> Iterable[bytes | bytearray | memoryview]: ...


def feeds_supported() -> bool:
    """Pipes inherited by fd number need POSIX (pass_fds); elsewhere the renderer uses filters."""
    return os.name == "posix"


class FeedError(RuntimeError):
    """A feed drawn in the feed process failed; the message is that process's account of it."""


class Feeding:
    """Pipes and writers for one ffmpeg run: `argv` has the placeholders replaced, `pass_fds`
    are the read ends to hand to ffmpeg; call `spawned()` right after ffmpeg starts and
    `finish()` after it exits (raises the first feed error). `in_process` picks the writers:
    threads here (False) or one child process (True); None reads `REELFORGE_FEED_PROCESS`."""

    def __init__(self, argv: list[str], feeds: Sequence[Feed], *, in_process: bool | None = None,
                 child_setup: Callable[[], None] | None = None) -> None:
        self.feeds = list(feeds)
        self.errors: list[BaseException] = []
        self.reads: list[int] = []
        self.threads: list[threading.Thread] = []
        self.writes: list[int] = []
        self.child: subprocess.Popen[bytes] | None = None
        self.child_said: IO[bytes] | None = None
        if in_process is None:
            from reelforge.settings import get_settings

            in_process = bool(self.feeds) and get_settings().feed_process
        self.in_process, self.child_setup = in_process, child_setup
        names: dict[str, str] = {}
        for k, feed in enumerate(self.feeds):
            read, write = os.pipe()
            _grow(write)
            self.reads.append(read)
            self.writes.append(write)
            names[PLACEHOLDER.format(k)] = f"pipe:{read}"
            if not in_process:
                self.threads.append(threading.Thread(target=self._write, args=(write, feed), daemon=True,
                                                     name=f"reelforge-feed-{k}"))
        self.argv = [names.get(a, a) for a in argv]

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return tuple(self.reads)

    def spawned(self) -> None:
        """ffmpeg holds its copies now: close ours (so ffmpeg's exit means EPIPE) and start."""
        self.close_reads()
        if self.in_process:
            self._start_child()
        for thread in self.threads:
            thread.start()

    def _start_child(self) -> None:
        """One process writes every feed of this run; it inherits the write ends, ours close."""
        # its stderr goes to a file, not a pipe: a chatty child can never block on a full pipe
        self.child_said = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _wait_child, after the run)
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "reelforge.ffmpeg.feed_process"], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=self.child_said, pass_fds=self.writes, preexec_fn=self.child_setup)
            stdin, self.child.stdin = self.child.stdin, None  # communicate() must not flush it later
            assert stdin is not None
            with stdin:
                pickle.dump(list(zip(self.writes, self.feeds)), stdin)
        except BrokenPipeError:
            pass  # the child died at once; finish() reports what it said
        finally:
            for fd in self.writes:
                os.close(fd)
            self.writes = []

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
        if self.in_process:
            for fd in self.writes:  # ffmpeg never started, so neither did the feed process
                os.close(fd)
            self.writes = []
            self._wait_child(timeout)
            return
        for thread, write in zip(self.threads, self.writes):
            if thread.ident is None:  # never started (the child did not start): close its pipe here
                os.close(write)
            else:
                thread.join(timeout)
        self.threads, self.writes = [], []

    def _wait_child(self, timeout: float) -> None:
        child, self.child = self.child, None
        said_file, self.child_said = self.child_said, None
        if said_file is None:
            return
        with said_file:
            if child is not None:
                try:
                    child.wait(timeout)  # ffmpeg has ended: its pipes are closed, so the writers stop
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            said_file.seek(0)
            text = said_file.read()[-4096:].decode("utf-8", "replace").strip()
        if child is not None and child.returncode != 0:
            last = text.splitlines()[-1] if text else f"the feed process exited with {child.returncode}"
            self.errors.append(_user_error(last) or FeedError(last))

    def _write(self, fd: int, feed: Feed) -> None:
        _lower_this_thread()
        write_feed(fd, feed, self.errors)


def _user_error(line: str) -> BaseException | None:
    """The ReelforgeError the feed process sent pickled on its last stderr line (it is our own
    child), or None."""
    if not line.startswith(USER_ERROR):
        return None
    try:
        error = pickle.loads(base64.b64decode(line[len(USER_ERROR):]))
    except Exception:  # noqa: BLE001 - a garbled line: report it as the feed process's text
        return None
    return error if isinstance(error, BaseException) else None


def write_feed(fd: int, feed: Feed, errors: list[BaseException]) -> None:
    """Write every frame of `feed` into `fd`, then close it; a failure lands in `errors`."""
    try:
        for chunk in feed.chunks():
            view = memoryview(chunk).cast("B")
            while view:
                view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # ffmpeg stopped reading (it ended, failed or was killed): nothing more to do
    except BaseException as exc:  # reported by finish(): a short input must not pass as a video
        errors.append(exc)
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
