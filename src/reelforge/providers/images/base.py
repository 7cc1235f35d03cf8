"""The `ImageGenerator` capability: text → image(s), and image(s) + text → image (edits, fusion,
character consistency from reference images)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from reelforge.errors import InputError

COMMON_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9")

Backdrop = Literal["white"]
# What a text-prompted model is told for each backdrop (the template from our research notes: pure
# white, no textures or gradients, centred, whole subject in frame), so the `key` cut-out can
# remove it exactly. Cloud adapters append it to the prompt (`prompt_text`); the local draft-card
# renderer reads `ImageRequest.backdrop` instead.
BACKDROP_WORDS: dict[str, str] = {
    "white": "isolated on a pure white (#FFFFFF) background, no textures, gradients, props or scenery, the whole "
             "subject in frame with a clear margin, centered, soft even studio lighting, sharp focus, high quality",
}


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
    backdrop: Backdrop | None = None  # "white": the subject alone on pure white (to be cut out)
    variant: int = 0  # which of several images of one prompt (`-n 4`): offline drafts differ by it like by a seed


def prompt_text(request: ImageRequest) -> str:
    """The prompt as a text-prompted model gets it: the request's prompt plus the words for its
    backdrop."""
    if request.backdrop is None:
        return request.prompt
    return f"{request.prompt.strip().rstrip('.,;')}, {BACKDROP_WORDS[request.backdrop]}"


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
    `ProviderError` (with `retryable` and `reason`) — the runtime owns retries, limits and
    timeouts, so adapters turn their SDK's own retries off.

    `cpu_bound`: the work happens on this machine's CPU (no network); such a generator is also a
    `SyncImageGenerator` and the runtime runs `generate_sync` in its process pool.
    `delivered_aspect(aspect)`: width / height of what it returns when asked for `aspect` (APIs
    with fixed sizes return the nearest one; see `exact_aspect`)."""

    name: str
    model: str
    capabilities: ImageCapabilities
    cpu_bound: bool

    def delivered_aspect(self, aspect: str) -> float: ...

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]: ...


@runtime_checkable
class SyncImageGenerator(ImageGenerator, Protocol):
    """A CPU-bound generator that can also run synchronously (in a worker process: it pickles)."""

    def generate_sync(self, request: ImageRequest) -> list[GeneratedImage]: ...


def exact_aspect(aspect: str) -> float:
    """Width / height of `aspect` itself, for generators that deliver the ratio they are asked for."""
    w, h = parse_aspect(aspect)
    return w / h


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
