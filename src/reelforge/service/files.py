"""Files in and out of the service: what an upload really is (sniffed from its bytes, never
from its name or declared type), image bombs refused as in the CLI, and artifact names that
cannot leave their job's folder."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from reelforge.errors import InputError

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
              "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm", "audio/mpeg": ".mp3",
              "audio/wav": ".wav", "audio/mp4": ".m4a", "font/ttf": ".ttf", "font/otf": ".otf",
              "application/json": ".json"}


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file say it is; None when it is none we accept."""
    from reelforge.providers.images.base import sniff_media_type

    if image := sniff_media_type(head):  # the image signatures, kept in one place
        return image
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        return "audio/mp4" if brand.startswith(b"M4A") else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"\x00\x01\x00\x00") or head.startswith(b"true"):
        return "font/ttf"
    if head.startswith(b"OTTO"):
        return "font/otf"
    return None


def check_image(path: Path) -> None:
    """Refuse an image that decodes to more pixels than the CLI accepts (a decompression bomb)
    or does not decode at all, without decoding its pixels."""
    import warnings

    from PIL import Image

    from reelforge.imaging.load import MAX_PIXELS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width = height = MAX_PIXELS
    except Exception as exc:
        raise InputError(f"the file is not a readable image ({type(exc).__name__})", field="file") from None
    if width * height > MAX_PIXELS:
        raise InputError(f"image is too large (over {MAX_PIXELS // 1_000_000} megapixels)", field="file",
                         hint="scale it down before uploading")


def check_font(path: Path) -> None:
    """Refuse a "font" that fontTools cannot read (its four magic bytes alone prove nothing)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True) as font:
            font["cmap"]  # noqa: B018 (reading a table is the check)
    except Exception as exc:
        raise InputError(f"the file is not a readable font ({type(exc).__name__})", field="file") from None


def safe_name(filename: str) -> str:
    """A plain file name from whatever a client sent (no folders, no odd characters)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip(".-")
    return cleaned[:100] or "file"


def artifact_path(folder: Path, name: str) -> Path | None:
    """The file `name` inside `folder`, or None when the name would leave it (.., encoded
    slashes, absolute paths, backslashes, symlinks) or names nothing."""
    decoded = unquote(name)
    if (not name or "\x00" in decoded or "\\" in decoded or decoded.startswith("/") or "%" in name
            or any(part in ("", ".", "..") for part in decoded.split("/"))):
        return None
    root = folder.resolve()
    candidate = root / decoded
    for parent in [candidate, *candidate.parents]:
        if parent == root:
            break
        if parent.is_symlink():
            return None
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def list_artifacts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and not p.name.startswith(".") and ".tmp" not in p.name)
