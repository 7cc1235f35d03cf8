"""The story's step actions. Every provider call is one of these steps, so each is cached by its
key, gated by its provider's limits, priced and resumable:

- `writer.script`: one writer call (re-asked once inside the adapter when the answer does not validate);
- `story.keyframe`: one image call with the character's reference image (and, for a last frame,
  the segment's first frame as a second reference);
- `story.clip.veo` / `story.clip.local`: the clip actions of pipelines/clip with the two keyframes
  (the step's two needs, by position) as first and last frame."""

from __future__ import annotations

from typing import Any

from reelforge.pipelines.clip.actions import GenerateClip, LocalClip
from reelforge.providers.images.base import ImageRequest, SyncImageGenerator
from reelforge.providers.writer.base import WriterRequest
from reelforge.runtime import ActionResult, StepContext, StepOutput
from reelforge.spec.story import StoryScript, dialogue_problems

from .prompts import SYSTEM, writer_prompt


def script_check(segments: int, durations: tuple[int, ...]) -> Any:
    """What the schema cannot say; a ValueError goes back to the writer in the re-ask."""

    def check(script: StoryScript) -> None:
        problems = []
        if len(script.segments) != segments:
            problems.append(f"write exactly {segments} segments (got {len(script.segments)})")
        bad = [f"segments[{i}].duration={s.duration}" for i, s in enumerate(script.segments) if s.duration not in durations]
        if bad:
            problems.append(f"durations must be one of {', '.join(map(str, durations))}: {', '.join(bad)}")
        if spoken := dialogue_problems(script):
            problems.append(f"dialogue is not allowed; leave {', '.join(spoken)} empty and use sounds")
        if problems:
            raise ValueError("; ".join(problems))

    return check


def script_request(p: Any) -> WriterRequest:
    durations = tuple(int(d) for d in p["durations"])
    prompt = writer_prompt(p["idea"], p["character"], p["description"], int(p["segments"]), p["format"], durations,
                           bool(p["allow_dialogue"]), p.get("creature_language"))
    hints = {"idea": p["idea"], "character": p["character"], "description": p["description"],
             "segments": int(p["segments"]), "format": p["format"], "duration": int(p["duration"]),
             "allow_dialogue": bool(p["allow_dialogue"]), "creature_language": p.get("creature_language"),
             "style": p.get("style", "")}
    return WriterRequest(SYSTEM, prompt, StoryScript, script_check(int(p["segments"]), durations), hints)


class WriteScript:
    kind = "writer.script"
    version = 1
    capability = "writer"

    async def run(self, ctx: StepContext) -> ActionResult:
        script = await ctx.provider.write(script_request(ctx.params))
        assert isinstance(script, StoryScript)
        # the format is the user's choice and `draft` marks the template writer only, whatever a model says
        script = script.model_copy(update={"format": ctx.params["format"], "draft": False})
        return ActionResult([StepOutput(script.model_dump_json().encode(), "application/json")],
                            meta={"draft": script.draft, "writer_model": getattr(ctx.provider, "model", "")})


class DraftScript:
    """Step action `writer.draft`: the offline draft writer (templates, $0) as a local step — no
    provider gate, still cached like every step."""

    kind = "writer.draft"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        from reelforge.providers.writer.local import LocalDraftWriter

        script = await LocalDraftWriter().write(script_request(ctx.params))
        assert isinstance(script, StoryScript)
        return ActionResult([StepOutput(script.model_dump_json().encode(), "application/json")],
                            meta={"draft": True, "writer_model": LocalDraftWriter.model})


class Keyframe:
    kind = "story.keyframe"
    version = 1
    capability = "image"

    async def run(self, ctx: StepContext) -> ActionResult:
        refs = [await ctx.read(ctx.inputs[name][0]) for name in sorted(ctx.inputs) if name.startswith("character")]
        refs += [await ctx.read(ctx.inputs[need][0]) for need in ctx.step.needs]
        p = ctx.params
        request = ImageRequest(p["prompt"], p["aspect"], 1, tuple(refs), p.get("seed"))
        generator = ctx.provider
        if generator.cpu_bound and isinstance(generator, SyncImageGenerator):
            images = await ctx.run_cpu(generator.generate_sync, request)
        else:
            images = await generator.generate(request)
        image = images[0]
        meta = {**image.meta, "references": len(refs), "which": p["which"], "segment": p["segment"]}
        return ActionResult([StepOutput(image.data, image.media_type, meta)], billed=1)


def _as_frames(ctx: StepContext) -> None:
    """The step's two needs (first keyframe, last keyframe) under the names the clip actions read."""
    first, last = ctx.step.needs
    ctx.inputs = {"image": ctx.inputs[first], "last_frame": ctx.inputs[last]}


class StoryVeoClip(GenerateClip):
    kind = "story.clip.veo"
    version = 1

    async def submit(self, ctx: StepContext) -> dict[str, Any]:
        _as_frames(ctx)
        return await super().submit(ctx)


class StoryLocalClip(LocalClip):
    kind = "story.clip.local"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        _as_frames(ctx)
        return await super().run(ctx)


class MergeStory:
    """Step action `story.merge`: the renderer joins the clips (the step's needs, in order) into one
    video. A cached step like the others, so a finished story rerun renders nothing again; its key
    holds the timeline (cuts, captions, canvas) and the clips' digests, not their paths."""

    kind = "story.merge"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        import asyncio
        import copy

        from reelforge.render.api import execute, prepare_render

        assert ctx.scratch is not None
        timeline = copy.deepcopy(dict(ctx.params["timeline"]))
        for clip, need in zip(timeline["clips"], ctx.step.needs, strict=True):
            clip["layers"][0]["path"] = str(await ctx.local_path(ctx.inputs[need][0]))
        if "music" in ctx.inputs:
            timeline["audio"]["music"]["path"] = str(await ctx.local_path(ctx.inputs["music"][0]))
        out = ctx.scratch / "story.mp4"
        work = await asyncio.to_thread(prepare_render, timeline, out,
                                       segment_clips=int(ctx.params.get("segment_clips", 2)))
        result = await execute(work, lambda report: ctx.progress(report.overall, f"merging: {report.label}")
                               if report.type == "progress" else None)
        return ActionResult([StepOutput.file(out, "video/mp4", {"duration": result.duration,
                                                                 "commands": len(result.commands)})])
