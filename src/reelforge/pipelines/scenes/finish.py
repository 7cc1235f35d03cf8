"""After the rounds: the failure policy, the timeline and its render, the contact sheet and the
run report (JSON next to the video, plus a short human summary)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from reelforge.atomic import save_image, write_text
from reelforge.errors import ReelforgeError
from reelforge.pipelines.scenes.framing import caption_layer, scene_motion
from reelforge.pipelines.scenes.graph import scene_seconds
from reelforge.pipelines.scenes.results import SceneResult, ScenesFailed, ScenesResult, StageClock
from reelforge.runtime import LocalArtifactStore, RunReport

if TYPE_CHECKING:
    from reelforge.pipelines.scenes.job import ScenesJob


def finish(job: ScenesJob, scenes: dict[int, SceneResult], reports: list[RunReport], stages: StageClock,
           store: LocalArtifactStore, started: float,
           render_video: Callable[[dict[str, Any], Path], object] | None = None) -> ScenesResult:
    """`render_video(timeline, output)` renders the video (default: the blocking `render`; the
    job passes one that runs the cancellable RenderJob on its event loop)."""
    failed = [s for s in scenes.values() if s.frame is None]
    paths = report_paths(job.output)
    job.output.parent.mkdir(parents=True, exist_ok=True)

    def stop(error: BaseException) -> None:
        write_json(paths["report"], {**build_report(job, scenes, reports, stages, None, None, started),
                                     "error": str(error)})
        raise error

    hard = [s for s in failed if s.error is not None]
    if hard:  # a rejected key, the budget, a broken background: a placeholder would hide it
        stop(hard[0].error)  # type: ignore[arg-type]
    if failed and job.spec.qa.on_fail == "fail":
        stop(ScenesFailed(f"{len(failed)} scene(s) failed after their retries: "
                          + "; ".join(f"scene {s.index + 1}: {s.errors[-1] if s.errors else 'failed'}" for s in failed),
                          hint=f"nothing was rendered; see {paths['report']} (qa.on_fail: draft-card or skip "
                               "renders the rest)"))
    for scene in failed:
        apply_policy(job, scene, store)
    shown = [scenes[i] for i in sorted(scenes) if scenes[i].frame is not None]
    if not shown:
        stop(ScenesFailed("every scene failed its checks and was skipped; there is nothing to render",
                          hint="use qa.on_fail: draft-card to render placeholders, or fix the failing scenes"))
    t = time.monotonic()
    timeline = build_timeline(job, shown)
    from reelforge.render.api import render

    try:
        if render_video is None:
            render(timeline, job.output, on_progress=job.on_render_progress)
        else:
            render_video(timeline, job.output)
    except ReelforgeError as exc:
        stop(exc)
    stages.add("render", time.monotonic() - t)
    t = time.monotonic()
    try:
        sheet = write_contact_sheet(paths["contact"], shown, timeline)
    except ReelforgeError as exc:
        stop(exc)
    stages.add("contact-sheet", time.monotonic() - t)
    report = build_report(job, scenes, reports, stages, job.output, sheet, started)
    report["timeline"] = timeline  # what was rendered: `reelforge render` takes it as it is
    write_json(paths["report"], report)
    return ScenesResult(job.output, sheet, paths["report"], report, human_summary(report), list(scenes.values()))


def report_paths(output: Path) -> dict[str, Path]:
    return {"report": output.with_name(output.stem + ".report.json"),
            "contact": output.with_name(output.stem + ".contact.png")}


def apply_policy(job: ScenesJob, scene: SceneResult, store: LocalArtifactStore) -> None:
    """A scene that failed every attempt: a draft card in its place, or left out."""
    if job.spec.qa.on_fail == "skip":
        scene.state = "skipped"
        return
    from reelforge.providers.images.base import ImageRequest
    from reelforge.providers.images.local import LocalDraftCards

    spec_scene = job.spec.scenes[scene.index]
    words = spec_scene.prompt or Path(spec_scene.image or "").name
    card = LocalDraftCards().generate_sync(ImageRequest(f"[scene failed QA] {words}", job.spec.aspect))[0]
    artifact = store.put_bytes(card.data, card.media_type, {"draft": True})
    scene.frame = store.path_of(artifact)
    scene.state = "draft-card"


def build_timeline(job: ScenesJob, shown: list[SceneResult]) -> dict[str, Any]:
    """The scenes as a timeline document: one image clip per scene, captions, transitions, music."""
    spec = job.spec
    clips: list[dict[str, Any]] = []
    for result in shown:
        scene = spec.scenes[result.index]
        layers: list[dict[str, Any]] = [{"type": "image", "path": str(result.frame), "fit": "cover",
                                         "motion": scene_motion(spec, scene)}]
        if result.clip is not None:  # the generated clip moves by itself: no Ken Burns on top
            layers = [{"type": "video", "path": str(result.clip), "fit": "cover"}]
        if scene.caption:
            layers.append(caption_layer(spec, scene.caption, job.frame_size))
        transition = scene.transition if scene.transition is not None else spec.transition
        clips.append({"duration": scene_seconds(spec, scene), "layers": layers,
                      "transition": None if transition is None else transition.model_dump(mode="json")})
    clips[-1]["transition"] = None
    for clip, after in zip(clips, clips[1:], strict=False):  # a transition fits inside both clips it joins
        if clip["transition"] and clip["transition"]["name"] != "cut":
            longest = round(0.45 * min(clip["duration"], after["duration"]), 3)
            clip["transition"]["duration"] = min(clip["transition"]["duration"], longest)
            if clip["transition"]["duration"] < 2 / spec.fps:  # too short to show: a cut
                clip["transition"] = {"name": "cut"}
    audio: dict[str, Any] = {}
    if spec.music is not None:
        audio["music"] = spec.music.model_dump(mode="json")
    return {"canvas": {"aspect": spec.aspect, "resolution": spec.resolution, "fps": spec.fps},
            "clips": clips, "audio": audio, "output": {"format": "mp4", "quality": spec.encode_quality}}


def write_contact_sheet(target: Path, shown: list[SceneResult], timeline: dict[str, Any] | None = None) -> Path:
    """A grid of every scene as it is rendered — caption and motion included, so a clash shows —
    numbered on a strip *below* each frame (a badge on the frame would cover what it shows, e.g.
    a draft card's own label), placeholders marked DRAFT. Each frame is rendered from its clip
    alone (`render_frame` on a one-clip timeline): seeking the encoded video costs up to a GOP of
    decoding per scene. Without a timeline, the composited frames are shown."""
    frames = rendered_frames(timeline, target.parent) if timeline is not None else [None] * len(shown)
    thumbs = []
    for result, rendered in zip(shown, frames, strict=True):
        with Image.open(str(rendered or result.frame)) as img:
            img.draft("RGB", (480, 480))  # JPEG frames decode at a reduced size
            frame = img.convert("RGB")
        frame.thumbnail((480, 480))
        if rendered is not None:
            rendered.unlink(missing_ok=True)
        thumbs.append(_labelled(frame, f"{result.index + 1}" + ("  DRAFT" if result.state == "draft-card" else "")))
    columns = min(5, len(thumbs))
    rows = -(-len(thumbs) // columns)
    w, h = max(t.width for t in thumbs), max(t.height for t in thumbs)
    gap = 8
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + gap) + gap), SHEET_GREY)
    for n, thumb in enumerate(thumbs):
        sheet.paste(thumb, (gap + (n % columns) * (w + gap), gap + (n // columns) * (h + gap)))
    save_image(sheet, target)
    return target


SHEET_GREY = (24, 24, 24)


def sheet_time(clip: dict[str, Any]) -> float:
    """When a clip's frame is shown on the sheet: at its largest zoom (what the move crops most),
    held back from the ends so the caption has faded in and not yet out."""
    duration = float(clip["duration"])
    motion = clip["layers"][0].get("motion")
    late = motion is None or motion["zoom_to"] >= motion["zoom_from"]
    return round(duration * (0.7 if late else 0.3), 3)


def rendered_frames(timeline: dict[str, Any], folder: Path) -> list[Path]:
    """One PNG per clip, rendered alone at `sheet_time` (temporary files in `folder`)."""
    from concurrent.futures import ThreadPoolExecutor

    from reelforge.render.api import render_frame

    def one(n: int) -> Path:
        clip = {**timeline["clips"][n], "transition": None}
        single = {**timeline, "clips": [clip], "audio": {}}
        path = folder / f".contact-{os.getpid()}-{n}.png"
        return render_frame(single, sheet_time(clip), path)

    with ThreadPoolExecutor(max_workers=2) as pool:  # ffmpeg runs outside the GIL
        return list(pool.map(one, range(len(timeline["clips"]))))


def _labelled(frame: Image.Image, text: str) -> Image.Image:
    """The frame above a strip carrying its number: the label never covers the picture."""
    from reelforge.imaging.text import PlainTextStyle, render_plain_text

    unit = max(12, frame.height // 20)
    label = render_plain_text(text, PlainTextStyle(size_px=unit, color="#ffffff", weight=700))
    strip = label.height + unit // 2
    out = Image.new("RGB", (frame.width, frame.height + strip), SHEET_GREY)
    out.paste(frame, (0, 0))
    out.paste(label, (unit // 4, frame.height + (strip - label.height) // 2), label)
    return out


def build_report(job: ScenesJob, scenes: dict[int, SceneResult], reports: list[RunReport], stages: StageClock,
                 video: Path | None, sheet: Path | None, started: float) -> dict[str, Any]:
    totals: dict[str, float] = {}
    for report in reports:
        for key in ("calls", "retries", "cached", "succeeded", "failed", "skipped", "cost_usd", "saved_usd"):
            totals[key] = round(totals.get(key, 0) + report.summary.get(key, 0), 6)
    return {
        "video": str(video) if video else None, "contact_sheet": str(sheet) if sheet else None,
        "mode": job.spec.mode, "provider": job.provider, "cutout": job.spec.cutout_method if job.spec.mode != "speed" else None,
        "runs": [r.run_id for r in reports], "seconds": round(time.monotonic() - started, 3),
        "totals": totals, "stages": stages.as_dict(),
        "scenes": [{"scene": s.index + 1, "state": s.state, "attempts": s.attempts, "qa_flags": s.qa_flags,
                    "errors": s.errors, "prompt_sent": s.prompt_sent, "cutout": s.cutout,
                    "frame": str(s.frame) if s.frame else None, "clip": _clip_entry(s)} for s in sorted(scenes.values(), key=lambda s: s.index)],
        "warnings": [f"scene {s.index + 1}: {s.state} after {s.attempts} attempt(s) ({', '.join(s.qa_flags) or 'error'})"
                     for s in scenes.values() if s.state in ("draft-card", "skipped")],
    }


def human_summary(report: dict[str, Any]) -> str:
    t = report["totals"]
    states: dict[str, int] = {}
    for scene in report["scenes"]:
        states[scene["state"]] = states.get(scene["state"], 0) + 1
    lines = [f"{len(report['scenes'])} scene(s): " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())),
             f"{int(t.get('calls', 0))} call(s), {int(t.get('cached', 0))} cached step(s), {int(t.get('retries', 0))} "
             f"retried; cost ${t.get('cost_usd', 0):.4f} (saved ${t.get('saved_usd', 0):.4f} by cache)",
             "stages: " + ", ".join(f"{k} {v['wall_s']:.1f} s" for k, v in report["stages"].items()),
             f"total {report['seconds']:.1f} s"]
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2, default=str))


def _clip_entry(scene: SceneResult) -> dict[str, Any] | None:
    """A scene's generated clip in the report: where it is and what the generator made."""
    if scene.clip is None:
        return None
    meta = scene.clip_meta or {}
    keys = ("model", "mode", "duration", "width", "height", "fps", "has_audio", "operation")
    return {"path": str(scene.clip), **{k: meta[k] for k in keys if k in meta}}
