"""The clip's step actions: `video.generate` (a long-running operation: submit → the handle is
recorded → poll → download) and `video.local` (the motion engine in the process pool). Both
probe what they made and store it by content, with its metadata."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from reelforge.providers.video.base import GeneratedVideo, Reference, RenderTiming, VideoRequest
from reelforge.runtime import ActionResult, StepContext, StepOutput
from reelforge.runtime.operations import OperationStatus

EXTEND_SECONDS = 7  # what one Veo extension adds (and bills)


async def request_from(ctx: StepContext) -> VideoRequest:
    """The VideoRequest a step describes: params plus its input files (image, last_frame, refN, video)."""
    p, inputs = ctx.params, ctx.inputs

    async def one(name: str) -> bytes | None:
        return await ctx.read(inputs[name][0]) if name in inputs else None

    refs = tuple([Reference(await ctx.read(inputs[f"ref{i}"][0]), kind, _image_type(p, f"ref{i}"))
                  for i, kind in enumerate(p.get("ref_types", []))])
    video = await ctx.local_path(inputs["video"][0]) if "video" in inputs else None
    image, image_type = await one("image"), _image_type(p, "image")
    if image is None and ctx.step.needs:  # a step animating another step's output (a scene's frame)
        first = inputs[ctx.step.needs[0]][0]
        image, image_type = await ctx.read(first), first.media_type
    return VideoRequest(p.get("prompt", ""), image, await one("last_frame"), refs, video,
                        p.get("video_uri"), p["aspect"], p["resolution"], int(p["duration"]),
                        p.get("negative_prompt"), p.get("seed"), p.get("audio"), int(p.get("count", 1)),
                        p.get("person_generation"), image_type, _image_type(p, "last_frame"))


def _image_type(params: Any, name: str) -> str:
    return str(params.get("media_types", {}).get(name, "image/png"))


def billed_seconds(params: Any, videos: int) -> float:
    """Seconds charged: the requested length of each delivered video (an extension adds 7 s)."""
    per = EXTEND_SECONDS if params.get("video_uri") or params.get("extend") else float(params["duration"])
    return per * videos


def probe_meta(path: Path) -> dict[str, Any]:
    """What ffmpeg sees in the file: duration, size, fps, audio."""
    from reelforge.ffmpeg.probe import probe

    info = probe(path)
    video = next((s for s in info.streams if s.kind == "video"), None)
    return {"duration": info.duration, "width": video.width if video else None,
            "height": video.height if video else None, "fps": video.fps if video else None,
            "has_audio": any(s.kind == "audio" for s in info.streams), "bytes": path.stat().st_size}


async def outputs_of(videos: list[GeneratedVideo], params: Any) -> list[StepOutput]:
    outputs = []
    for video in videos:
        meta = {**video.meta, **await asyncio.to_thread(probe_meta, video.path),
                "resolution": params["resolution"], "aspect": params["aspect"], "prompt": params.get("prompt", "")}
        outputs.append(StepOutput.file(video.path, video.media_type, meta))
    return outputs


class GenerateClip:
    """Step action `video.generate`: one long-running provider operation (Veo)."""

    kind = "video.generate"
    version = 1
    capability = "video"

    def __init__(self, poll_interval_s: float = 10.0, poll_max_interval_s: float = 30.0,
                 max_wait_s: float = 900.0) -> None:
        self.poll_interval_s, self.poll_max_interval_s, self.max_wait_s = poll_interval_s, poll_max_interval_s, max_wait_s
        self.timing = RenderTiming()  # used when the adapter keeps none (shared timing lives on the adapter)

    async def submit(self, ctx: StepContext) -> dict[str, Any]:
        handle: dict[str, Any] = await ctx.provider.submit(await request_from(ctx), ctx.params["model"])
        handle["submitted_at"] = time.time()  # recorded with the handle: a resumed poll knows the age
        ctx.progress(0.0, f"submitted {handle['name']}")
        return handle

    async def poll(self, ctx: StepContext, handle: dict[str, Any]) -> OperationStatus:
        done, result, error = await ctx.provider.poll(handle)
        age = time.time() - float(handle.get("submitted_at") or time.time())
        timing: RenderTiming = getattr(ctx.provider, "timing", None) or self.timing
        if done:
            timing.finished(handle["name"], age)
            return OperationStatus(done, error=error, data=result)
        timing.pending(handle["name"], age)
        return OperationStatus(False, next_poll_s=timing.next_poll(age))

    async def fetch(self, ctx: StepContext, handle: dict[str, Any], status: OperationStatus) -> ActionResult:
        assert ctx.scratch is not None
        videos = await ctx.provider.download(handle, status.data, ctx.scratch)
        outputs = await outputs_of(videos, ctx.params)
        return ActionResult(outputs, billed=billed_seconds(ctx.params, len(outputs)),
                            meta={"operation": handle["name"], "resumed": ctx.resumed})


class LocalClip:
    """Step action `video.local`: the motion engine, one clip per variant, in the process pool."""

    kind = "video.local"
    version = 1
    capability = "video"

    async def run(self, ctx: StepContext) -> ActionResult:
        from reelforge.providers.video.local import render_local

        assert ctx.scratch is not None
        request = await request_from(ctx)
        videos = [await ctx.run_cpu(render_local, request, ctx.scratch / f"local-{n}.mp4", n)
                  for n in range(request.count)]
        return ActionResult(await outputs_of(videos, ctx.params), billed=0)
