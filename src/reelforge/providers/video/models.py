"""Veo models and their documented limits, in one dated table.

As of 2026-11-30, from the Gemini API docs' parameter table and model list (checked 2026-07/09),
Google's GenMedia Creative Studio `config/veo_models.py`, and the Vertex model pages; see
docs/clip.md for the sources. Veo 3.0 was shut down on the Gemini API on 2026-06-30."""

from __future__ import annotations

from reelforge.providers.video.base import VideoCapabilities

AS_OF = "2026-11-30"
DEFAULT_MODEL = "veo-3.1-fast-generate-preview"

_V31 = dict(resolutions=("720p", "1080p", "4k"), durations=(4, 6, 8), first_last=True, references=("asset",),
            extension=True, audio="always")
_V31_LITE = dict(resolutions=("720p", "1080p"), durations=(4, 6, 8), first_last=True, references=(),
                 extension=True, audio="always")
_V2 = dict(resolutions=("720p",), durations=(5, 6, 7, 8), first_last=True, references=(), extension=False,
           audio="none")

_ROWS: dict[str, dict[str, object]] = {
    "veo-3.1-generate-preview": _V31, "veo-3.1-generate-001": _V31,
    "veo-3.1-fast-generate-preview": _V31, "veo-3.1-fast-generate-001": _V31,
    "veo-3.1-lite-generate-preview": _V31_LITE, "veo-3.1-lite-generate-001": _V31_LITE,
    "veo-2.0-generate-001": _V2,
    "veo-2.0-generate-exp": {**_V2, "references": ("asset", "style")},
}
MODELS: dict[str, VideoCapabilities] = {name: VideoCapabilities(name, **row) for name, row in _ROWS.items()}  # type: ignore[arg-type]


def capabilities(model: str) -> VideoCapabilities:
    from reelforge.errors import InputError

    if model not in MODELS:
        raise InputError(f"unknown Veo model {model!r}", field="--model",
                         hint="use one of: " + ", ".join(MODELS) + " (veo-3.0 was shut down on 2026-06-30)")
    return MODELS[model]


def vertex_caps(caps: VideoCapabilities) -> VideoCapabilities:
    """On Vertex AI audio can be turned off, Veo 2 can extend, and seed is accepted."""
    from dataclasses import replace

    audio = "optional" if caps.audio == "always" else caps.audio
    return replace(caps, audio=audio, extension=caps.extension or caps.model.startswith("veo-2"))
