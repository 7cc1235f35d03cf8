"""After the run: the output folder (the notes' layout, frames kept — they are the cache's face),
the merged video through the renderer, the thumbnails and the report.

    OUT/script.yaml  OUT/story.mp4  OUT/thumbnail.png (1280×720)  OUT/thumbnail_vertical.png (1080×1920)
    OUT/videos/segment_01.mp4 …     OUT/frames/segment_01_first.png, segment_01_last.png, …
    OUT/report.json  (every segment: keyframe files + sha256, consistency, clip, provider, cost)"""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from reelforge.atomic import save_image, write_text
from reelforge.runtime import Artifact, RunReport, Step
from reelforge.runtime.context import RuntimeContext
from reelforge.spec.story import StoryScript

from .script import save_script

if TYPE_CHECKING:
    from .job import CharacterRef, ClipChoice, FrameChoice, StoryJob, StoryResult

THUMBNAILS = {"thumbnail.png": (1280, 720), "thumbnail_vertical.png": (1080, 1920)}
EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def merge_step(job: StoryJob, script: StoryScript, clips: list[ClipChoice | None]) -> Step:
    """The render of the clips that exist, as a cached step (needs: their steps, in order)."""
    from .job import StoryFailed

    shown = [(n, clip) for n, clip in enumerate(clips) if clip is not None and clip.step_id is not None]
    if not shown:
        raise StoryFailed("no segment has a clip; there is nothing to merge", hint="see the warnings; rerun, or "
                          "use --on-fail local")
    timeline = build_timeline(job, script, [(n, f"clip{k}") for k, (n, _) in enumerate(shown)])
    files = {"music": Path(job.music)} if job.music is not None else {}
    return Step("merge", "story.merge", {"timeline": timeline, "segment_clips": job.settings.segment_clips},
                needs=tuple(str(clip.step_id) for _, clip in shown), files=files, label="merge the clips")


async def finish(job: StoryJob, ctx: RuntimeContext, script: StoryScript, character: CharacterRef,
                 frames: list[FrameChoice], clips: list[ClipChoice | None], merged: Artifact, run: RunReport,
                 started: float) -> StoryResult:
    from .job import StoryResult, report_json

    out = Path(job.output)
    files = await asyncio.to_thread(export_media, ctx, out, frames, clips)
    video = out / "story.mp4"
    t = time.monotonic()
    await asyncio.to_thread(ctx.store.export, merged, video)
    export_s = time.monotonic() - t
    strongest = max(range(len(frames)), key=lambda i: frames[i].score)
    data = await asyncio.to_thread(ctx.store.read_bytes, frames[strongest].artifact)
    thumbs = await asyncio.to_thread(write_thumbnails, out, data, script.title)
    report = build_report(job, script, character, frames, clips, files, run, video, thumbs, strongest,
                          {"export_s": round(export_s, 3), "total_s": round(time.monotonic() - started, 3)})
    await asyncio.to_thread(save_script, script, out / "script.yaml")
    await asyncio.to_thread(write_text, out / "report.json", report_json(report))
    return StoryResult(out, video, script, report, run)


def frame_names(n_segments: int) -> list[list[str]]:
    """Per boundary (0 = segment 1's first frame, k = segment k's last), the files that show it."""
    names: list[list[str]] = [[] for _ in range(n_segments + 1)]
    for k in range(n_segments):
        names[k].append(f"segment_{k + 1:02d}_first")
        names[k + 1].append(f"segment_{k + 1:02d}_last")
    return names


def export_media(ctx: RuntimeContext, out: Path, frames: list[FrameChoice], clips: list[ClipChoice | None]
                 ) -> dict[str, Any]:
    """Copy keyframes and clips out of the store. A boundary frame is written under both of its
    names from the one artifact: segment N's last and N+1's first are the same bytes."""
    written: dict[str, Any] = {"frames": {}, "videos": {}}
    for boundary, names in enumerate(frame_names(len(clips))):
        artifact = frames[boundary].artifact
        for name in names:
            target = out / "frames" / f"{name}{EXT.get(artifact.media_type, '.png')}"
            ctx.store.export(artifact, target)
            written["frames"][name] = target
    for n, clip in enumerate(clips):
        if clip is not None and clip.artifact is not None:
            written["videos"][n] = ctx.store.export(clip.artifact, out / "videos" / f"segment_{n + 1:02d}.mp4")
    return written


def build_timeline(job: StoryJob, script: StoryScript, videos: list[tuple[int, str]]) -> dict[str, Any]:
    """The clips joined by cuts (or short crossfades), their own audio kept, captions from the dialogue."""
    clips = []
    for n, path in videos:
        segment = script.segments[n]
        layers: list[dict[str, Any]] = [{"type": "video", "path": path, "fit": "cover"}]
        if job.captions:
            layers += caption_layers(segment.dialogue, float(segment.duration))
        transition: dict[str, Any] | None = None
        if job.transition == "crossfade":
            transition = {"name": "fade", "duration": min(job.crossfade_s, 0.45 * segment.duration)}
        clips.append({"duration": float(segment.duration), "layers": layers, "transition": transition})
    clips[-1]["transition"] = None
    audio: dict[str, Any] = {"clip_audio": True}
    if job.music is not None:
        audio["music"] = {"path": "music", "volume": 0.35}  # the step's `music` input
    return {"canvas": {"aspect": job.aspect, "resolution": job.resolution, "fps": 24}, "clips": clips,
            "audio": audio, "output": {"format": "mp4", "quality": "standard"}}


def caption_layers(lines: list[Any], duration: float) -> list[dict[str, Any]]:
    """One caption per spoken line, the clip's time shared evenly between them."""
    layers = []
    for k, line in enumerate(lines):
        start, end = duration * k / len(lines), duration * (k + 1) / len(lines)
        layers.append({"type": "text", "text": f"{line.speaker}: {line.text}", "position": "bottom", "size": 0.05,
                       "color": "#ffffff", "box": {"color": "#000000a0"}, "wrap_width": 0.85,
                       "start": round(start, 3), "end": round(end, 3)})
    return layers


# --- thumbnails ----------------------------------------------------------------------------------

def thumbnail(frame: bytes, title: str, size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The keyframe cover-fitted to `size`, darkened towards the bottom, the title set on it by the
    text engine (white, outlined, shadowed). Returns the image and the title's box."""
    from reelforge.imaging.text import PlainTextStyle, render_plain_text

    w, h = size
    with Image.open(io.BytesIO(frame)) as img:
        base = img.convert("RGB")
    scale = max(w / base.width, h / base.height)
    resized = base.resize((round(base.width * scale), round(base.height * scale)), Image.Resampling.LANCZOS)
    left, top = (resized.width - w) // 2, (resized.height - h) // 2
    canvas = resized.crop((left, top, left + w, top + h)).convert("RGBA")
    shade = Image.new("L", (1, 256))
    shade.putdata([int(200 * max(0.0, (y / 255 - 0.45) / 0.55)) for y in range(256)])
    overlay = Image.new("RGBA", size, (0, 0, 0, 255))
    overlay.putalpha(shade.resize(size))
    canvas = Image.alpha_composite(canvas, overlay)
    unit = min(w, h)
    text = render_plain_text(title, PlainTextStyle(size_px=round(unit * 0.11), color="#ffffff", weight=800,
                                                   stroke_width=max(2, unit // 160), stroke_color="#000000",
                                                   shadow_offset=(unit // 200, unit // 200), shadow_blur=unit / 150,
                                                   max_width=round(w * 0.88)))
    x, y = (w - text.width) // 2, h - text.height - round(h * 0.07)
    canvas.alpha_composite(text, (x, y))
    return canvas.convert("RGB"), (x, y, x + text.width, y + text.height)


def write_thumbnails(out: Path, frame: bytes, title: str) -> dict[str, Any]:
    made = {}
    for name, size in THUMBNAILS.items():
        image, box = thumbnail(frame, title, size)
        save_image(image, out / name)
        made[name] = {"size": list(size), "title_box": list(box)}
    return made


# --- the report ----------------------------------------------------------------------------------

def build_report(job: StoryJob, script: StoryScript, character: CharacterRef, frames: list[FrameChoice],
                 clips: list[ClipChoice | None], files: dict[str, Any], run: RunReport, video: Path,
                 thumbs: dict[str, Any], strongest: int, timings: dict[str, float]) -> dict[str, Any]:
    stages = stage_costs(run)
    segments = []
    for n, segment in enumerate(script.segments):
        first, last, clip = frames[n], frames[n + 1], clips[n]
        segments.append({
            "segment": n + 1, "scene": segment.scene, "duration": segment.duration,
            "first_frame": _frame_entry(first, files["frames"][f"segment_{n + 1:02d}_first"]),
            "last_frame": _frame_entry(last, files["frames"][f"segment_{n + 1:02d}_last"]),
            "clip": None if clip is None else {
                "file": str(files["videos"].get(n)) if n in files["videos"] else None,
                "sha256": clip.artifact.digest if clip.artifact else None, "provider": clip.provider,
                "model": clip.model, "step": clip.step_id, "cost_usd": clip.cost_usd,
                "fallback": "local morph" if clip.fallback else None, "error": clip.error,
                "skipped": clip.artifact is None},
            "cost_usd": round((_frame_cost(run, first) if n == 0 else 0.0) + _frame_cost(run, last)
                              + _clip_cost(run, clip), 6),
        })
    return {
        "title": script.title, "format": script.format, "draft": script.draft,
        "draft_note": "the script was written from templates by the offline draft writer" if script.draft else None,
        "character": {"name": character.name, "source": character.source, "description": character.description},
        "providers": {"writer": None if job.script is not None else job.writer_name, "image": job.image_provider,
                      "video": job.video_name, "video_model": job.video_model_id()},
        "video": str(video), "duration_s": script.duration if all(c and c.artifact for c in clips) else
        sum(s.duration for s, c in zip(script.segments, clips, strict=True) if c and c.artifact),
        "transition": job.transition, "thumbnails": thumbs, "thumbnail_frame": _boundary_name(strongest),
        "segments": segments, "cost_by_stage": stages,
        "cost_usd": round(sum(v["cost_usd"] for v in stages.values()), 6),
        "paid_this_run_usd": round(sum(v["paid_usd"] for v in stages.values()), 6),
        "run": {"id": run.run_id, "state": run.state, **run.summary},
        "timings": timings, "warnings": list(job.warnings),
    }


def _boundary_name(boundary: int) -> str:
    return "segment_01_first" if boundary == 0 else f"segment_{boundary:02d}_last"


def _frame_entry(choice: FrameChoice, path: Path) -> dict[str, Any]:
    return {"file": str(path), "sha256": choice.artifact.digest, "consistency": choice.score, "step": choice.step_id,
            "provider": choice.provider, "attempts": choice.attempts,
            "fallback": "local draft card" if choice.fallback else None}


STAGES = {"writer.script": "script", "writer.draft": "script", "story.keyframe": "keyframes", "story.clip.veo": "clips",
          "story.clip.local": "clips", "story.merge": "merge"}


def stage_costs(run: RunReport) -> dict[str, dict[str, float]]:
    """Per stage: what its artifacts cost (cached ones at what they cost when made) and what this
    run paid."""
    stages = {name: {"cost_usd": 0.0, "paid_usd": 0.0, "steps": 0} for name in ("script", "keyframes", "clips",
                                                                                "merge")}
    for outcome in run.outcomes.values():
        stage = stages[STAGES.get(outcome.step.kind, "clips")]
        stage["steps"] += 1
        stage["paid_usd"] = round(stage["paid_usd"] + outcome.cost_usd, 6)
        if outcome.result is not None:
            stage["cost_usd"] = round(stage["cost_usd"] + outcome.result.cost_usd, 6)
    return stages


def _frame_cost(run: RunReport, choice: FrameChoice) -> float:
    """Every draw of the keyframe (redraws and a local stand-in included)."""
    steps = {a["step"] for a in choice.attempts} | {choice.step_id}
    return sum(_step_cost(run, sid) for sid in steps)


def _clip_cost(run: RunReport, clip: ClipChoice | None) -> float:
    """The clip as delivered (Veo bills delivered seconds only: a filtered attempt costs nothing)."""
    return 0.0 if clip is None else _step_cost(run, clip.step_id)


def _step_cost(run: RunReport, step_id: str | None) -> float:
    outcome = run.outcomes.get(step_id or "")
    return outcome.result.cost_usd if outcome is not None and outcome.result is not None else 0.0
