"""The `VideoGenerator` capability: one request type for every mode (text, image, first + last
frame, reference images, extension), per-model limits in one dated table, and the check that
refuses a request the model cannot take *before* any call, naming the option and what it allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from reelforge.errors import InputError

Mode = Literal["text", "image", "interpolate", "reference", "extend"]
ASPECTS = ("16:9", "9:16")
SIZES = {("720p", "16:9"): (1280, 720), ("720p", "9:16"): (720, 1280), ("1080p", "16:9"): (1920, 1080),
         ("1080p", "9:16"): (1080, 1920), ("4k", "16:9"): (3840, 2160), ("4k", "9:16"): (2160, 3840)}
MAX_PROMPT = 4000


@dataclass(frozen=True)
class Reference:
    data: bytes
    kind: Literal["asset", "style"] = "asset"
    media_type: str = "image/png"


@dataclass(frozen=True)
class VideoRequest:
    """What to generate. `video` (a local file) or `video_uri` (a Veo file URI) is the clip to extend."""

    prompt: str = ""
    image: bytes | None = None  # first frame
    last_frame: bytes | None = None
    references: tuple[Reference, ...] = ()
    video: Path | None = None
    video_uri: str | None = None
    aspect: str = "16:9"
    resolution: str = "720p"
    duration: int = 8
    negative_prompt: str | None = None
    seed: int | None = None
    audio: bool | None = None  # None: the model's default
    count: int = 1
    person_generation: str | None = None
    image_type: str = "image/png"
    last_frame_type: str = "image/png"

    @property
    def mode(self) -> Mode:
        if self.video is not None or self.video_uri:
            return "extend"
        if self.references:
            return "reference"
        if self.image is not None and self.last_frame is not None:
            return "interpolate"
        if self.image is not None or self.last_frame is not None:
            return "image"
        return "text"


@dataclass(frozen=True)
class VideoCapabilities:
    """What one model accepts (as documented on `as_of`)."""

    model: str
    resolutions: tuple[str, ...] = ("720p",)
    durations: tuple[int, ...] = (4, 6, 8)
    first_last: bool = True
    references: tuple[str, ...] = ()  # reference kinds taken: "asset", "style"
    extension: bool = False
    audio: Literal["always", "optional", "none"] = "always"
    max_count: int = 4
    seed: bool = True
    long_only: tuple[str, ...] = ("1080p", "4k")  # resolutions that need the longest duration
    long_modes: tuple[str, ...] = ("reference", "extend")  # modes that need the longest duration
    extend_seconds: int = 7
    max_extensions: int = 20


@dataclass
class GeneratedVideo:
    path: Path
    media_type: str = "video/mp4"
    meta: dict[str, Any] = field(default_factory=dict)  # model, duration, resolution, has_audio, operation, rai


class VideoGenerator(Protocol):
    """A provider of clips. Long-running providers (Veo) offer submit/poll/download; local ones
    render directly (`cpu_bound`)."""

    name: str
    model: str
    cpu_bound: bool

    def capabilities(self, model: str | None = None) -> VideoCapabilities: ...
    def check(self, request: VideoRequest) -> None: ...


class RenderTiming:
    """Learns how long operations take here, so polls land just after a clip is ready instead of
    up to a whole backoff interval late: before anything is learned the runtime's backoff applies
    (10 s ×1.5 up to 30 s); afterwards the next poll is at the shortest render seen so far and
    then every 1 % of it. Fewer requests and less idle time than a fixed backoff."""

    def __init__(self) -> None:
        self._last_pending: dict[str, float] = {}
        self._lower: list[float] = []  # per finished operation: the last age at which it was not done

    def pending(self, name: str, age: float) -> None:
        self._last_pending[name] = age

    def finished(self, name: str, age: float) -> None:
        if name in self._last_pending:
            self._lower.append(self._last_pending.pop(name))
            self._lower = self._lower[-8:]

    def next_poll(self, age: float) -> float | None:
        if not self._lower:
            return None
        expected = sorted(self._lower)[len(self._lower) // 2]
        fine = max(0.2, 0.01 * expected)
        return expected - age if age + fine < expected else fine


def _choices(values: tuple[Any, ...]) -> str:
    return ", ".join(str(v) for v in values)


def check_request(provider: str, caps: VideoCapabilities, request: VideoRequest, *,
                  developer_api: bool = False) -> None:
    """InputError naming the option (`--duration`, …) and the allowed values, for anything the
    model would refuse. Nothing is sent before this passes."""
    mode = request.mode
    where = f"{provider} {caps.model}"
    if mode == "text" and not request.prompt.strip():
        raise InputError("a text-to-video request needs a prompt", field="prompt", hint="describe the clip")
    if len(request.prompt) > MAX_PROMPT:
        raise InputError(f"the prompt is {len(request.prompt)} characters (at most {MAX_PROMPT})", field="prompt")
    if request.aspect not in ASPECTS:
        raise InputError(f"aspect {request.aspect} is not offered", field="--aspect", hint=f"use {_choices(ASPECTS)}")
    if request.resolution not in caps.resolutions:
        raise InputError(f"resolution {request.resolution} is not offered by {where}", field="--resolution",
                         hint=f"use {_choices(caps.resolutions)}")
    if request.duration not in caps.durations:
        raise InputError(f"duration {request.duration} s is not offered by {where}", field="--duration",
                         hint=f"use {_choices(caps.durations)}")
    longest = max(caps.durations)
    needs_long = [why for why, on in ((f"resolution {request.resolution}", request.resolution in caps.long_only),
                                      ("reference images", mode == "reference" and mode in caps.long_modes),
                                      ("extension", mode == "extend" and mode in caps.long_modes))
                  if on]
    if needs_long and request.duration != longest:
        raise InputError(f"{needs_long[0]} needs duration {longest} s (got {request.duration})", field="--duration",
                         hint=f"use --duration {longest}")
    if not 1 <= request.count <= caps.max_count:
        raise InputError(f"count {request.count} is out of range for {where}", field="--count",
                         hint=f"use 1 to {caps.max_count}")
    _check_mode(provider, caps, request, where)
    _check_api(caps, request, where, developer_api)


def _check_mode(provider: str, caps: VideoCapabilities, request: VideoRequest, where: str) -> None:
    mode = request.mode
    if request.last_frame is not None and request.image is None:
        raise InputError("a last frame needs a first frame", field="--last-frame", hint="add --image FIRST.png")
    if mode == "interpolate" and not caps.first_last:
        raise InputError(f"{where} does not take a first + last frame", field="--last-frame",
                         hint="use veo-3.1-generate-preview, -fast or -lite")
    if mode == "reference":
        if len(request.references) > 3:
            raise InputError(f"{len(request.references)} reference images (at most 3)", field="--ref")
        if request.image is not None:
            raise InputError("reference images cannot be combined with a first frame", field="--ref")
        for ref in request.references:
            if ref.kind not in caps.references:
                allowed = _choices(caps.references) if caps.references else "none"
                raise InputError(f"{where} does not take {ref.kind} reference images", field="--ref-type",
                                 hint=f"reference types it takes: {allowed}")
    if mode == "extend":
        if not caps.extension:
            raise InputError(f"{where} cannot extend a clip", field="--extend", hint="use a Veo 3.1 model")
        if request.resolution != "720p":
            raise InputError("extension is 720p only", field="--resolution", hint="use --resolution 720p")
        if request.image is not None or request.references:
            raise InputError("an extension takes no first frame or reference images", field="--extend")


def _check_api(caps: VideoCapabilities, request: VideoRequest, where: str, developer_api: bool) -> None:
    if request.seed is not None and (developer_api or not caps.seed):
        raise InputError(f"{where} on the Gemini Developer API takes no seed" if developer_api
                         else f"{where} takes no seed", field="--seed", hint="drop --seed (or use Vertex AI)")
    if request.audio is False and (developer_api or caps.audio == "always"):
        raise InputError(f"{where} always generates audio here", field="--no-audio",
                         hint="drop --no-audio (Vertex AI can turn audio off), or strip it afterwards")
    if request.audio is True and caps.audio == "none":
        raise InputError(f"{where} generates no audio", field="--audio", hint="drop --audio or use a Veo 3.1 model")


def size_of(resolution: str, aspect: str) -> tuple[int, int]:
    return SIZES.get((resolution, aspect), (1280, 720))
