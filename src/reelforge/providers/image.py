"""The `ImageGenerator` capability: text → image(s), and image(s) + text → image (edits, fusion,
character consistency from reference images)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reelforge.errors import InputError

COMMON_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9")


@dataclass(frozen=True)
class ImageRequest:
    """What to generate. `references` are encoded images (PNG/JPEG/WebP bytes) to edit or to
    keep consistent with; `seed` and `negative_prompt` are used where the provider supports them."""

    prompt: str
    aspect_ratio: str = "1:1"
    count: int = 1
    references: tuple[bytes, ...] = ()
    seed: int | None = None
    negative_prompt: str | None = None


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    media_type: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageCapabilities:
    max_references: int = 0
    max_count: int = 1  # images one call can return
    seed: bool = False
    negative_prompt: bool = False
    aspect_ratios: tuple[str, ...] | None = None  # None: any W:H


@runtime_checkable
class ImageGenerator(Protocol):
    """An image generator. `generate` makes the call(s) for one request; errors are
    `ProviderError` (with `retryable`) — the runtime owns retries, limits and timeouts, so
    adapters turn their SDK's own retries off."""

    name: str
    model: str
    capabilities: ImageCapabilities

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]: ...


def parse_aspect(aspect: str) -> tuple[int, int]:
    """'16:9' → (16, 9), or InputError naming --aspect."""
    try:
        w, h = (int(part) for part in aspect.split(":"))
    except ValueError:
        raise InputError(f"aspect ratio {aspect!r} is not W:H", field="--aspect",
                         hint="write it like 16:9, 9:16 or 1:1") from None
    if w <= 0 or h <= 0 or max(w, h) / min(w, h) > 8:
        raise InputError(f"aspect ratio {aspect!r} is out of range", field="--aspect",
                         hint="use positive sides no more than 8:1 apart, e.g. 16:9")
    return w, h


def check_request(provider: str, caps: ImageCapabilities, request: ImageRequest) -> None:
    """Refuse, before any call, what this provider cannot do."""
    parse_aspect(request.aspect_ratio)
    if caps.aspect_ratios is not None and request.aspect_ratio not in caps.aspect_ratios:
        raise InputError(f"{provider} does not offer aspect ratio {request.aspect_ratio}", field="--aspect",
                         hint=f"use one of {', '.join(caps.aspect_ratios)}")
    if len(request.references) > caps.max_references:
        allowed = caps.max_references
        raise InputError(f"{provider} takes at most {allowed} reference image(s), got {len(request.references)}",
                         field="--ref", hint="pass fewer --ref images" if allowed else "use a provider that edits images")
    if not request.prompt.strip():
        raise InputError("the prompt is empty", field="prompt", hint="describe the image to generate")


def size_for_aspect(aspect: str, pixels: int = 1024 * 1024, multiple: int = 64) -> tuple[int, int]:
    """A width and height with about `pixels` pixels at `aspect`, both multiples of `multiple`."""
    w, h = parse_aspect(aspect)
    scale = (pixels / (w * h)) ** 0.5
    return (max(multiple, round(w * scale / multiple) * multiple),
            max(multiple, round(h * scale / multiple) * multiple))


def sniff_media_type(data: bytes) -> str | None:
    """The image type from its first bytes (None when it is not an image we know)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None
