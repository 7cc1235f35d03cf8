"""Where the video comes from: a local file (checked: exists, has a video stream, has length,
decodes) or a URL — a direct media URL through the one guarded downloader (`reelforge.fetch`:
http/https, public addresses only, size and time limits), a page URL (YouTube, …) through
yt-dlp when that optional extra is installed."""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reelforge.errors import InputError
from reelforge.ffmpeg.probe import MediaInfo, probe

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".gif")
YTDLP_HINT = "pip install yt-dlp (the reelforge extra 'video-urls'), or download the video and pass the file"


@dataclass(frozen=True)
class VideoSource:
    path: Path
    origin: str  # what the user gave (path or URL)
    info: MediaInfo

    @property
    def duration(self) -> float:
        return float(self.info.duration or 0.0)


def is_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")


def check_video(path: Path, origin: str | None = None) -> VideoSource:
    """The file as a video, or InputError (exit 2) saying what is wrong with it."""
    name = origin or str(path)
    if not path.is_file():
        raise InputError(f"video not found: {name}", field="video", hint="check the path")
    if path.stat().st_size == 0:
        raise InputError(f"the video file is empty: {name}", field="video", hint="pass a non-empty video file")
    try:
        info = probe(path, field_name="video")
    except InputError as exc:
        raise InputError(f"not a readable video: {name} ({exc.message})", field="video",
                         hint="pass an MP4/MOV/WebM video (re-export it if it will not play)") from None
    # a still decodes as one image-codec frame (ffprobe gives it 1/25 s); a motion-JPEG video lasts
    still = info.video is not None and info.video.codec in ("png", "mjpeg", "webp", "bmp", "tiff", "gif") \
        and (info.duration or 0) < 0.5
    if info.video is None or still:
        raise InputError(f"{name} has no video stream", field="video",
                         hint="pass a video file (an image or an audio-only file has no frames to choose from)")
    if not info.duration or info.duration <= 0:
        raise InputError(f"{name} has zero length", field="video", hint="pass a video that is at least a second long")
    return VideoSource(path, name, info)


async def resolve_source(value: str, workdir: Path, *, max_bytes: int, timeout_s: float) -> VideoSource:
    """A local path is checked; a URL is downloaded into `workdir` first, then checked."""
    if not is_url(value):
        return await asyncio.to_thread(check_video, Path(value))
    path = urlsplit(value).path.lower()
    if path.endswith(VIDEO_SUFFIXES):
        from reelforge.fetch import GuardedDownloader

        target = workdir / ("download" + Path(path).suffix)
        await GuardedDownloader(max_bytes=max_bytes, timeout_s=timeout_s).download(value, target, field="video")
        return await asyncio.to_thread(check_video, target, value)
    return await asyncio.to_thread(_ytdlp, value, workdir, max_bytes)


def _ytdlp(url: str, workdir: Path, max_bytes: int) -> VideoSource:
    """A page URL through yt-dlp (optional). Its own network code does the fetching, so the
    address guard cannot apply: the CLI uses it for the user's own URLs, the service does not."""
    if importlib.util.find_spec("yt_dlp") is None:
        raise InputError(f"{url} is a page, not a video file, and yt-dlp is not installed", field="video",
                         hint=YTDLP_HINT)
    import yt_dlp

    options = {"outtmpl": str(workdir / "download.%(ext)s"), "format": "best[height<=1080]/best",
               "quiet": True, "noprogress": True, "max_filesize": max_bytes, "noplaylist": True}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
            path = Path(ydl.prepare_filename(info))
    except Exception as exc:  # yt-dlp raises its own DownloadError family
        raise InputError(f"yt-dlp could not download {url}: {exc}", field="video") from None
    return check_video(path, url)
