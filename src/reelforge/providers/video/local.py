"""`local`: clips made on this machine by the motion engine (no key, $0) — the same request and
outputs as Veo, so a pipeline iterates offline and switches with one flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.providers.limits import Limits
from reelforge.providers.video.base import (
    GeneratedVideo,
    VideoCapabilities,
    VideoRequest,
    check_request,
    size_of,
)
from reelforge.settings import Settings

CAPS = VideoCapabilities("motion-1", resolutions=("720p", "1080p", "4k"), durations=tuple(range(1, 61)),
                         first_last=True, references=("asset", "style"), extension=True, audio="none",
                         max_count=4, seed=True, long_only=(), long_modes=())


class LocalVideos:
    name = "local"
    model = "motion-1"
    cpu_bound = True

    def capabilities(self, model: str | None = None) -> VideoCapabilities:
        return CAPS

    def check(self, request: VideoRequest, model: str | None = None) -> None:
        check_request(self.name, CAPS, request)


FPS = 24


def render_clip(out: Path, size: tuple[int, int], seconds: float, *, prompt: str = "", image: bytes | None = None,
                last_frame: bytes | None = None, video: Path | None = None, seed: int = 0) -> int:
    """Write the clip to `out`; returns the number of frames. The mode follows from the inputs:
    video → extension (+seconds), image + last_frame → morph, image → Ken Burns, else a card."""
    from reelforge.ffmpeg.frames import read_frames, write_mp4
    from reelforge.imaging.motion.card import card
    from reelforge.imaging.motion.extend import extend
    from reelforge.imaging.motion.kenburns import kenburns_yuv
    from reelforge.imaging.motion.morph import morph

    frames = max(2, round(seconds * FPS))
    if video is not None:
        source = extend(read_frames(video, size), size, frames)
    elif image is not None and last_frame is not None:
        source = morph(_decode(image), _decode(last_frame), size, frames)
    elif image is not None:  # the still straight to the encoder's pixel format (no RGB frames)
        return write_mp4(kenburns_yuv(_decode(image), size, frames), out, size, FPS, pix_fmt="yuv420p")
    else:
        source = card(prompt, size, frames, seed)
    return write_mp4(source, out, size, FPS)


def _decode(data: bytes) -> Any:
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def render_local(request: VideoRequest, out: Path, variant: int = 0) -> GeneratedVideo:
    """Render one clip (runs in the process pool). Reference images stand in for a first frame."""
    image = request.image if request.image is not None else \
        (request.references[0].data if request.references else None)
    seconds = request.duration if request.mode != "extend" else CAPS.extend_seconds
    render_clip(out, size_of(request.resolution, request.aspect), seconds, prompt=request.prompt, image=image,
                last_frame=request.last_frame if request.image is not None else None, video=request.video,
                seed=(request.seed or 0) + variant)
    return GeneratedVideo(out, "video/mp4", {"model": "motion-1", "mode": request.mode})


def create(settings: Settings, limits: Limits) -> LocalVideos:
    return LocalVideos()
