"""Frames in, MP4 out (the local motion engine's encoder): RGB frames piped into one ffmpeg process (no frame files on disk), and
the frames of an existing video read back the same way."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from reelforge.errors import FFmpegError


def write_mp4(frames: Iterable[np.ndarray | memoryview], path: Path, size: tuple[int, int], fps: int = 24,
              pix_fmt: str = "rgb24") -> int:
    """Encode frames of `size` (w, h) to H.264/yuv420p at `path`; returns the frame count.
    Frames are RGB uint8 arrays, or raw BT.709 limited-range yuv420p with `pix_fmt="yuv420p"`."""
    from reelforge.ffmpeg.binary import ffmpeg_path

    w, h = size
    argv = [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt,
            "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    if pix_fmt == "yuv420p":
        # Say what the planes are (BT.709 limited range) on the frames themselves, as the renderer
        # does. Output flags alone made ffmpeg take the raw planes as BT.601 and convert them
        # (Y 68 → 62: every colour darker).
        argv[-1:-1] = ["-vf", "setparams=range=tv:colorspace=bt709:color_primaries=bt709:color_trc=bt709"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    count = 0
    try:
        for frame in frames:
            proc.stdin.write(frame if isinstance(frame, memoryview) else np.ascontiguousarray(frame, dtype=np.uint8).data)
            count += 1
    except BrokenPipeError:
        pass
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise FFmpegError(argv, proc.returncode, stderr[-2000:])
    return count


def read_frames(path: Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """The video's frames as RGB arrays (scaled to `size` when given)."""
    from reelforge.ffmpeg.probe import probe

    if size is None:
        video = next(s for s in probe(path).streams if s.kind == "video")
        assert video.width and video.height
        size = (video.width, video.height)
    return _frames(path, size)


def _frames(path: Path, size: tuple[int, int]) -> Iterator[np.ndarray]:
    from reelforge.ffmpeg.binary import ffmpeg_path

    w, h = size
    argv = [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-vf", f"scale={w}:{h}",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        while chunk := proc.stdout.read(w * h * 3):
            if len(chunk) < w * h * 3:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(h, w, 3)
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
