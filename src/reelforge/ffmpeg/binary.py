"""Find the ffmpeg binary: settings override, then PATH, then the one imageio-ffmpeg ships."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from reelforge.errors import FFmpegNotFound
from reelforge.settings import get_settings


@lru_cache(maxsize=1)
def ffmpeg_path() -> str:
    configured = get_settings().ffmpeg
    if configured:
        found = shutil.which(configured)
        if not found:
            raise FFmpegNotFound(
                f"REELFORGE_FFMPEG={configured!r} is not an executable",
                hint="point REELFORGE_FFMPEG at an ffmpeg binary, or unset it",
            )
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FFmpegNotFound(
            "no ffmpeg found on PATH and imageio-ffmpeg has no binary for this platform",
            hint="install ffmpeg (apt-get install ffmpeg) or `pip install imageio-ffmpeg`",
        ) from exc


@lru_cache(maxsize=1)
def available_encoders() -> frozenset[str]:
    out = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


@lru_cache(maxsize=16)
def encoder_works(encoder: str) -> tuple[bool, str]:
    """Try a 0.2 s encode: a hardware encoder can be compiled in but have no device here."""
    if encoder not in available_encoders():
        return False, f"this ffmpeg has no {encoder} encoder"
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-f", "lavfi", "-i",
            "color=c=black:s=256x144:r=10:d=0.2", "-c:v", encoder, "-f", "null", "-"]
    if encoder.endswith("_vaapi"):
        argv[5:5] = ["-vaapi_device", "/dev/dri/renderD128"]
        argv.insert(argv.index("-c:v"), "-vf")
        argv.insert(argv.index("-c:v"), "format=nv12,hwupload")
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode == 0:
        return True, "ok"
    tail = proc.stderr.strip().splitlines()[-1:] or ["unknown error"]
    return False, tail[0]
