"""Open any still image the way a user expects: upright, 8-bit RGBA, or a clear error.

Handles EXIF rotation, CMYK, 16-bit, grayscale, palette and alpha images, animated files
(first frame), truncated/corrupt files and decompression bombs (> 100 megapixels).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from reelforge.errors import InputError
from reelforge.logging import get_logger

MAX_PIXELS = 100_000_000
log = get_logger(__name__)


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float grayscale → 8-bit L, scaling the value range instead of clipping it."""
    arr = np.asarray(img)
    if img.mode == "F":
        arr = np.clip(arr, 0.0, 1.0) * 255 if arr.max(initial=0) <= 1.0 else np.clip(arr, 0, 255)
    else:
        arr = arr.astype(np.float64) / (257.0 if arr.max(initial=0) > 255 else 1.0)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")


def normalize_mode(img: Image.Image) -> Image.Image:
    """Any Pillow mode → RGBA."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = _to_8bit(img)
    elif img.mode == "CMYK":
        img = img.convert("RGB")
    return img if img.mode == "RGBA" else img.convert("RGBA")


def _require_file(p: Path, field: str | None) -> None:
    if not p.is_file():
        raise InputError(f"file not found: {p}", field=field,
                         hint="check the path (relative paths are relative to the spec file)")


def is_video_file(p: Path) -> bool:
    """MP4/MOV (an `ftyp` box), Matroska/WebM (EBML), AVI (RIFF…AVI): what people hand over by mistake."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and head[8:12] not in (b"avif", b"avis", b"heic", b"heix", b"mif1") \
        or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:11] == b"AVI")


def _not_an_image(p: Path, field: str | None) -> InputError:
    if is_video_file(p):
        return InputError(f"{p} is a video, not an image", field=field,
                          hint="use a still (PNG, JPEG, WebP), a video layer, or take a frame with `reelforge frame`")
    return InputError(f"not an image file (or an unsupported format): {p}", field=field,
                      hint="use PNG, JPEG, WebP, GIF, BMP or TIFF")


_OPENING = threading.Lock()


def _open_checked(p: Path) -> Image.Image:
    """Image.open with Pillow's over-the-limit warning raised as an error. Only the open (the
    header) holds the lock: catch_warnings swaps the process-wide warning filters, so two
    threads inside it at once could leave each other unguarded, and a plain Image.open of a user's
    file beside it could raise the warning unasked (stills are prepared on a pool): every open of
    a user's picture goes through here."""
    with _OPENING, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        return Image.open(p)


def load_image(path: str | Path, *, field: str | None = None) -> Image.Image:
    """Load an image file as upright 8-bit RGBA, or raise InputError naming `field`."""
    p = Path(path)
    _require_file(p, field)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with _open_checked(p) as img:
            if getattr(img, "n_frames", 1) > 1:
                log.warning("animated image: using its first frame", path=str(p), field=field)
                img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            return normalize_mode(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"image is too large (over {MAX_PIXELS // 1_000_000} megapixels): {p}", field=field,
                         hint="downscale it below 100 MP (e.g. 8000x8000 at most)") from None
    except UnidentifiedImageError:
        raise _not_an_image(p, field) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"image file is corrupt or truncated: {p} ({exc})", field=field,
                         hint="re-export or re-download the image") from None


def png_chunk_types(path: str | Path) -> set[bytes]:
    """The chunk types of a PNG file, read from the chunk headers (no decompression)."""
    types: set[bytes] = set()
    with open(path, "rb") as fh:
        if fh.read(8) != b"\x89PNG\r\n\x1a\n":
            return types
        while header := fh.read(8):
            if len(header) < 8:
                break
            length = int.from_bytes(header[:4], "big")
            types.add(header[4:])
            if header[4:] == b"IEND":
                break
            fh.seek(length + 4, 1)  # data + CRC
    return types


@dataclass(frozen=True)
class Header:
    """What an image file's header says, read without decoding its pixels."""

    size: tuple[int, int]  # upright (w, h): EXIF rotations by 90° swap the sides
    plain: bool  # a single-frame, upright, 8-bit RGB PNG or JPEG: usable as it is, no re-encoding


def read_header(path: str | Path) -> Header:
    """The file's upright size and whether it is plain; raises OSError (or Pillow's
    DecompressionBombError / Warning, over 100 MP) when it is not a readable image: load_image
    says what is wrong."""
    with _open_checked(Path(path)) as img:
        kind = img.format
        # In a PNG, eXIf may follow the pixels and Pillow's getexif() decodes the whole image to
        # find it (0.06 s for a 1080p frame): read the chunk list first, and only look if it is there.
        no_exif = kind == "PNG" and b"eXIf" not in png_chunk_types(path)
        orientation = 1 if no_exif else img.getexif().get(0x0112, 1)
        size = (img.height, img.width) if orientation in (5, 6, 7, 8) else img.size
        plain = img.mode == "RGB" and kind in ("PNG", "JPEG") and getattr(img, "n_frames", 1) == 1 \
            and orientation in (0, 1)
    return Header(size, plain)


def verify_file(path: str | Path, *, field: str | None = None) -> None:
    """Check a PNG or JPEG is complete without decoding its pixels (for files handed to ffmpeg
    as they are): PNG chunk CRCs through IEND, JPEG start and end-of-image markers."""
    p = Path(path)
    _require_file(p, field)
    try:
        with Image.open(p) as img:
            kind = img.format
            if kind == "PNG":
                img.verify()
    except UnidentifiedImageError:
        raise _not_an_image(p, field) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"image file is corrupt or truncated: {p} ({exc})", field=field,
                         hint="re-export or re-download the image") from None
    if kind == "JPEG":
        with open(p, "rb") as fh:
            fh.seek(max(0, p.stat().st_size - 4096))
            tail = fh.read()
        if b"\xff\xd9" not in tail:
            raise InputError(f"image file is corrupt or truncated: {p} (no JPEG end marker)", field=field,
                             hint="re-export or re-download the image")
