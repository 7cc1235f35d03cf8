"""A generated clip as one step of another product's graph: a scenes spec's `video:` (the scene's
frame animated image-to-video) and a timeline's `generate:` block. The step is the same
`video.local` / `video.generate` step `reelforge clip` runs, with the same parameters, so it is
cached by content (a rerun calls nothing), priced, budgeted and — for Veo — resumed after a kill.

Every limit is checked before any call, with the error naming the spec field that asked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.errors import InputError
from reelforge.pipelines.clip.actions import GenerateClip, LocalClip
from reelforge.providers.video.base import Reference, VideoCapabilities, VideoRequest, check_request
from reelforge.runtime import Step
from reelforge.settings import Settings

MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
# the CLI's option names (what check_request names) → the spec's field names
SPEC_FIELDS = {"--duration": "duration", "--resolution": "resolution", "--aspect": "aspect", "prompt": "prompt",
               "--last-frame": "last_frame", "--seed": "seed", "--no-audio": "audio", "--audio": "audio",
               "--count": "count", "--ref": "references", "--ref-type": "references"}


@dataclass(frozen=True)
class ClipAsk:
    """One clip another product asks for. `image` is a first-frame file; a step that animates
    another step's output takes it through `needs` instead (`first_frame_from_step`)."""

    provider: str
    prompt: str
    duration: int
    aspect: str = "16:9"
    resolution: str = "720p"
    model: str | None = None
    image: Path | None = None
    last_frame: Path | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    first_frame_from_step: bool = False


def model_of(ask: ClipAsk, settings: Settings) -> str:
    return ask.model or (settings.veo_model if ask.provider == "veo" else "motion-1")


def capabilities_of(ask: ClipAsk, settings: Settings) -> VideoCapabilities:
    if ask.provider == "veo":
        from reelforge.providers.video.models import capabilities, vertex_caps

        caps = capabilities(model_of(ask, settings))
        return vertex_caps(caps) if settings.google_genai_use_vertexai else caps
    from reelforge.providers.video.local import CAPS

    return CAPS


def check_ask(ask: ClipAsk, settings: Settings, where: str) -> None:
    """InputError naming `where.<field>` for anything the model would refuse; calls nothing."""
    if ask.provider not in ("local", "veo"):
        raise InputError(f"video provider {ask.provider!r} is not offered", field=f"{where}.provider",
                         hint="use local (offline, $0) or veo")
    for name, path in (("image", ask.image), ("last_frame", ask.last_frame)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"file not found: {path}", field=f"{where}.{name}", hint="check the path")
    has_image = ask.image is not None or ask.first_frame_from_step
    request = VideoRequest(ask.prompt, b"" if has_image else None, b"" if ask.last_frame else None,
                           aspect=ask.aspect, resolution=ask.resolution, duration=ask.duration,
                           negative_prompt=ask.negative_prompt, seed=ask.seed)
    developer_api = ask.provider == "veo" and not settings.google_genai_use_vertexai
    try:
        check_request(ask.provider, capabilities_of(ask, settings), request, developer_api=developer_api)
    except InputError as exc:
        option = exc.field or ""
        message = exc.message.removeprefix(f"{option}: ")
        raise InputError(message, field=f"{where}.{SPEC_FIELDS.get(option, option.lstrip('-'))}",
                         hint=exc.hint) from None


def check_usable(ask: ClipAsk, settings: Settings, where: str) -> None:
    """ProviderUnavailable (naming `where.provider` and what to set) for a provider that could not
    be called — before anything else of the run is spent."""
    if ask.provider == "local":
        return
    from reelforge.errors import ProviderUnavailable
    from reelforge.providers.video import VIDEO_GENERATORS

    availability = VIDEO_GENERATORS.check(ask.provider, settings)
    if not availability.available:
        raise ProviderUnavailable(f"{where}.provider: video provider {ask.provider} is not usable: "
                                  f"{availability.reason}", hint=f"{availability.hint}; or use provider: local")


def clip_step(step_id: str, ask: ClipAsk, settings: Settings, *, needs: tuple[str, ...] = (),
              label: str = "") -> Step:
    """The step that makes the clip: the same kind and parameters as `reelforge clip` would use."""
    files: dict[str, Path] = {}
    media: dict[str, str] = {}
    for name, path in (("image", ask.image), ("last_frame", ask.last_frame)):
        if path is not None:
            files[name] = Path(path)
            media[name] = MEDIA_TYPES.get(Path(path).suffix.lower(), "image/png")
    model = model_of(ask, settings)
    params = {"prompt": ask.prompt, "aspect": ask.aspect, "resolution": ask.resolution, "duration": ask.duration,
              "negative_prompt": ask.negative_prompt, "seed": ask.seed, "audio": None, "count": 1, "ref_types": [],
              "video_uri": None, "extend": False, "media_types": media, "model": model}
    if ask.provider == "local":
        # no provider: the motion engine runs in the process pool, ungated and free — and the
        # name `local` would otherwise meet the image provider `local` in a scenes run's runner
        return Step(step_id, LocalClip.kind, params, None, None, needs=needs, files=files,
                    label=label or ask.prompt[:80])
    return Step(step_id, GenerateClip.kind, params, ask.provider, f"{model}@{ask.resolution}", needs=needs,
                files=files, label=label or ask.prompt[:80], billing=("second", ask.duration))


def clip_actions(settings: Settings) -> list[Any]:
    """The clip actions, with the settings' polling for Veo."""
    s = settings
    return [GenerateClip(s.veo_poll_interval_s, s.veo_poll_max_interval_s, s.veo_max_wait_s), LocalClip()]


def shortest_duration(ask_provider: str, model: str | None, settings: Settings, at_least: float,
                      resolution: str = "720p") -> int:
    """The shortest clip the model makes that lasts `at_least` seconds (the longest it makes when
    none does; the caller reports that). 1080p and up on Veo need the longest duration."""
    caps = capabilities_of(ClipAsk(ask_provider, "", 8, model=model), settings)
    if resolution in caps.long_only:
        return max(caps.durations)
    fitting = [d for d in caps.durations if d >= at_least - 1e-6]
    return min(fitting) if fitting else max(caps.durations)


__all__ = ["ClipAsk", "Reference", "capabilities_of", "check_ask", "check_usable", "clip_actions", "clip_step", "model_of",
           "shortest_duration"]
