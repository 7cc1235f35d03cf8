"""Decode the video once with ffmpeg: full-resolution JPEGs of the sampled frames go to a folder,
and the same frames, scaled to the analysis width, come back as raw RGB on a pipe for scoring.
The rate is lowered for long videos so `max_frames` still spans the whole video."""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reelforge.errors import InputError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.pipelines.product_shots.source import VideoSource

ANALYSIS_WIDTH = 480


@dataclass
class Sampled:
    frames: list[np.ndarray]  # analysis-size RGB
    times: list[float]  # seconds from the start
    files: list[Path]  # full-resolution JPEG of each frame
    fps: float  # the rate actually used


class DecodeCancelled(Exception):
    """The decode was stopped (the job was cancelled); ffmpeg is gone."""


@dataclass
class DecodeControl:
    """Stops a running decode from another thread: `stop()` kills ffmpeg at once (a blocked read
    of its pipe returns), and the decoding thread raises DecodeCancelled."""

    stopped: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self) -> None:
        with self.lock:
            self.stopped.set()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.proc = proc
            if self.stopped.is_set():
                proc.kill()

    def check(self) -> None:
        if self.stopped.is_set():
            raise DecodeCancelled("the decode was cancelled")


def effective_fps(duration: float, fps: float, max_frames: int) -> float:
    return min(fps, max_frames / max(duration, 1e-3))


def analysis_size(source: VideoSource, width: int = ANALYSIS_WIDTH) -> tuple[int, int]:
    stream = source.info.video
    assert stream is not None
    w, h = stream.display_size or (16, 9)
    width = min(width, w - w % 2)
    return width, max(2, round(width * h / w / 2) * 2)


def sample_frames(source: VideoSource, folder: Path, *, fps: float = 2.0, max_frames: int = 240,
                  width: int = ANALYSIS_WIDTH, threads: int = 2, control: DecodeControl | None = None) -> Sampled:
    """Sample `source` at `fps` (at most `max_frames` frames). `control.stop()` from another
    thread kills ffmpeg and makes this raise DecodeCancelled."""
    from reelforge.lifeline import child_preexec

    control = control or DecodeControl()
    control.check()
    rate = effective_fps(source.duration, fps, max_frames)
    aw, ah = analysis_size(source, width)
    folder.mkdir(parents=True, exist_ok=True)
    graph = (f"[0:v:0]fps={rate:.6f},split=2[full][small];"
             f"[small]scale={aw}:{ah}:flags=area,format=rgb24[s]")
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", str(threads),
            "-i", str(source.path), "-filter_complex", graph,
            "-map", "[full]", "-frames:v", str(max_frames), "-q:v", "2", "-start_number", "0",
            str(folder / "%05d.jpg"),
            "-map", "[s]", "-frames:v", str(max_frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    # ffmpeg dies with reelforge even when it is killed outright (parent-death signal)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=child_preexec())
    control.started(proc)
    frames: list[np.ndarray] = []
    size = aw * ah * 3
    assert proc.stdout is not None
    try:
        while len(frames) < max_frames:
            chunk = proc.stdout.read(size)
            if len(chunk) < size:
                break
            frames.append(np.frombuffer(chunk, np.uint8).reshape(ah, aw, 3))
        control.check()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    control.check()  # killed while finishing: the frames may be cut short
    if not frames:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
        raise InputError(f"no frame could be decoded from {source.origin}" + (f" ({tail[0]})" if tail else ""),
                         field="video", hint="re-export the video (H.264 MP4 plays everywhere)")
    files = [folder / f"{i:05d}.jpg" for i in range(len(frames))]
    times = [i / rate for i in range(len(frames))]
    return Sampled(frames, times, files, rate)
