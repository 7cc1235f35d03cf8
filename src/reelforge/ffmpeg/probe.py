"""Probe media files with the ffmpeg binary alone (imageio-ffmpeg ships no ffprobe).

`ffmpeg -i FILE` prints a stable, documented summary of the container and its streams on
stderr; we parse that. `count_frames=True` decodes the video stream to count frames exactly.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reelforge.errors import InputError
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import Input, input_args
from reelforge.lifeline import child_preexec

_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:(\d+)(?:\[\w+\])?(?:\((\w+)\))?: (Video|Audio|Subtitle|Data|Attachment): (.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+) (fps|tbr)")
_RATE = re.compile(r"(\d+) Hz")
_ROTATE = re.compile(r"(?:rotate\s*:\s*|rotation of )(-?[\d.]+)")
_FRAME = re.compile(r"frame=\s*(\d+)")
_BITRATE = re.compile(r"(\d+) kb/s")
_PROFILE = re.compile(r"^\w+ \(([^)]+)\)")
_COLOR = re.compile(r"^\w+\(([^)]*)\)")
_ALPHA = re.compile(r"alpha_mode\s*:\s*1")
# Pixel formats with an alpha plane: yuva*, rgba/bgra/argb/abgr (8/16-bit), gray+alpha (ya8, ya16), gbrap*.
_ALPHA_PIX_FMT = re.compile(r"^(yuva|rgba|bgra|argb|abgr|ya\d|gbrap)")


@dataclass
class StreamInfo:
    index: int
    kind: str  # "video" | "audio" | ...
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pix_fmt: str | None = None
    sample_rate: int | None = None
    channels: str | None = None
    rotation: float = 0.0
    bitrate_kbps: int | None = None
    profile: str | None = None  # e.g. "High", "High 10", "Main 10", "4444"
    color: tuple[str, ...] = ()  # what the pix_fmt's parentheses say: range, matrix/primaries/transfer
    alpha: bool = False  # an alpha pixel format (yuva444p12le, rgba…), or VP8/VP9's side plane (`alpha_mode: 1`)

    @property
    def bit_depth(self) -> int:
        """8, 10 or 12, from the pixel format name (yuv420p10le → 10)."""
        match = re.search(r"p(\d+)(le|be)$", self.pix_fmt or "")
        return int(match.group(1)) if match else 8

    @property
    def display_size(self) -> tuple[int, int] | None:
        """Width × height as players show it: a ±90° display matrix swaps the stored sides."""
        if self.width is None or self.height is None:
            return None
        turned = round(abs(self.rotation)) % 180 == 90
        return (self.height, self.width) if turned else (self.width, self.height)


@dataclass
class MediaInfo:
    path: str
    format: str
    duration: float | None
    streams: list[StreamInfo] = field(default_factory=list)
    frames: int | None = None

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split_top_level(text: str) -> list[str]:
    """Split a stream description on commas that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _parse_stream(index: int, kind: str, desc: str) -> StreamInfo:
    parts = _split_top_level(desc)
    info = StreamInfo(index=index, kind=kind.lower(), codec=parts[0].split()[0])
    if info.kind == "video":
        if len(parts) > 1:
            info.pix_fmt = parts[1].split("(")[0].strip()
            info.alpha = _ALPHA_PIX_FMT.match(info.pix_fmt) is not None
            color = _COLOR.match(parts[1].strip())
            info.color = tuple(c.strip() for c in color.group(1).split(",")) if color else ()
        profile = _PROFILE.match(parts[0])
        info.profile = profile.group(1) if profile else None
        bitrate = _BITRATE.search(desc)
        info.bitrate_kbps = int(bitrate.group(1)) if bitrate else None
        size = _SIZE.search(desc)
        if size:
            info.width, info.height = int(size.group(1)), int(size.group(2))
        fps = _FPS.search(desc)
        if fps:
            info.fps = float(fps.group(1))
    elif info.kind == "audio":
        rate = _RATE.search(desc)
        info.sample_rate = int(rate.group(1)) if rate else None
        info.channels = parts[2] if len(parts) > 2 else None
    return info


def parse_ffmpeg_info(path: str, stderr: str) -> MediaInfo:
    fmt_match = re.search(r"Input #0, ([^,]+(?:,[^,]+)*?), from", stderr)
    duration_match = _DURATION.search(stderr)
    duration = None
    if duration_match:
        h, m, s = duration_match.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    info = MediaInfo(path=path, format=fmt_match.group(1) if fmt_match else "unknown", duration=duration)
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        m = _STREAM.search(line)
        if not m:
            continue
        stream = _parse_stream(int(m.group(1)), m.group(3), m.group(4))
        # Rotation shows up in side data lines that follow the stream line.
        for follow in lines[i + 1 : i + 8]:
            if "Stream #" in follow:
                break
            rot = _ROTATE.search(follow)
            if rot:
                stream.rotation = float(rot.group(1))
            if _ALPHA.search(follow):
                stream.alpha = True
        info.streams.append(stream)
    return info


def probe(path: str | Path, *, count_frames: bool = False, field_name: str | None = None) -> MediaInfo:
    """Describe a media file; raise InputError (naming `field_name`) if it can't be read."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {p}", field=field_name, hint="check the path (relative paths are relative to the spec file)")
    proc = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-nostdin", *input_args(Input(str(p)))],
        capture_output=True, text=True, encoding="utf-8", errors="replace", check=False,
        preexec_fn=child_preexec(),
    )
    if "Input #0" not in proc.stderr:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown format"
        raise InputError(f"not a readable media file: {p} ({reason})", field=field_name,
                         hint="re-export the file as MP4/MOV/WebM (video) or PNG/JPEG (image)")
    info = parse_ffmpeg_info(str(p), proc.stderr)
    if count_frames and info.video is not None:
        info.frames = count_video_frames(p)
    return info


def count_video_frames(path: str | Path) -> int:
    """Decode the first video stream and count frames (exact, not from metadata)."""
    proc = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-nostdin", *input_args(Input(str(path))), "-map", "0:v:0",
         "-f", "null", "-"],
        capture_output=True, text=True, encoding="utf-8", errors="replace", check=False,
        preexec_fn=child_preexec(),
    )
    frames = _FRAME.findall(proc.stderr)
    return int(frames[-1]) if frames else 0
