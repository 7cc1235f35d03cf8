"""`StoryJob` (kind "story"): an idea and a character → a script of segments → chained keyframes
→ one clip per segment → the merged video, thumbnails and a report.

    idea ─▶ writer.script ─▶ s01-first ─▶ s01-last ─▶ s02-last ─▶ …        (keyframes, in order)
                                  └──────────┴─▶ s01-clip   └─▶ s02-clip …   (clips, concurrent)
                                                          ─▶ merge (renderer) ─▶ thumbnails ─▶ report

One growing run: the script decides the segments, each keyframe's consistency score decides
whether it is drawn again (a new seed, at most `max_regenerations` times; the best is kept), and a
segment's clip starts as soon as its two keyframes exist. Segment N+1's first frame *is* segment
N's last frame (the same artifact, byte for byte). Every call is a cached step, so a rerun after
a crash or `kill -9` pays nothing again and a Veo operation already submitted is resumed."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from reelforge.errors import InputError, ProviderUnavailable, ReelforgeError
from reelforge.pipelines.job import CancelToken, EventSink, plan_job, run_job, subscribed
from reelforge.runtime import Artifact, Limits, Outcome, Plan, Runner, RunOptions, RunReport, Step
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings
from reelforge.spec.story import FORMATS, StoryScript, dialogue_problems

from .actions import DraftScript, Keyframe, MergeStory, StoryLocalClip, StoryVeoClip, WriteScript
from .prompts import clip_prompt, frame_prompt

OnFail = Literal["local", "skip", "fail"]
LOCAL_LIMITS = Limits(max_concurrency=4, timeout_s=900, max_attempts=1)
WRITER_DURATIONS = (4, 6, 8)  # what a written script may use: Veo's lengths, so it films on either provider


class StoryFailed(ReelforgeError):
    """The story could not be made (the cause names the step)."""


@dataclass
class FrameChoice:
    """The keyframe a segment boundary uses, with every attempt at it."""

    step_id: str
    artifact: Artifact
    score: float
    provider: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    fallback: str | None = None


@dataclass
class ClipChoice:
    step_id: str | None
    artifact: Artifact | None
    provider: str
    model: str
    cost_usd: float = 0.0
    fallback: str | None = None  # why the local morph stands in
    error: str | None = None


@dataclass
class CharacterRef:
    name: str
    description: str
    image: Path
    source: str  # "library" or "file"


@dataclass
class StoryResult:
    output: Path
    video: Path | None
    script: StoryScript
    report: dict[str, Any]
    run: RunReport | None = None


@dataclass
class StoryJob:
    """Make a story into `output` (a folder). Give an `idea` (the writer writes the script) or a
    `script` (edited by hand); the character comes from the library by name or from an image."""

    output: Path
    settings: Settings
    idea: str | None = None
    script: StoryScript | None = None
    character: str | None = None  # a library name, or an image file
    character_image: Path | None = None  # the character's picture, when it is not in the library
    description: str = ""  # with an image file: what the character looks like
    segments: int = 4
    format: str = "story"
    duration: int = 8
    allow_dialogue: bool = False
    creature_language: str | None = None
    style: str = ""
    writer: str | None = None
    image_provider: str = "local"
    video_provider: str | None = None
    video_model: str | None = None
    aspect: str = "16:9"
    resolution: str = "720p"
    transition: Literal["cut", "crossfade"] = "cut"
    crossfade_s: float = 0.3
    captions: bool = True
    music: Path | None = None
    on_fail: OnFail = "local"
    min_consistency: float = 0.2
    max_regenerations: int = 2
    budget_usd: float | None = None
    refresh: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list, init=False, repr=False)

    kind: ClassVar[str] = "story"

    # --- validation ----------------------------------------------------------------------------

    @property
    def writer_name(self) -> str:
        return self.writer or self.settings.writer_provider

    @property
    def video_name(self) -> str:
        return self.video_provider or self.settings.video_provider

    def check(self) -> None:
        if self.script is None and not (self.idea or "").strip():
            raise InputError("give an idea or a script", field="IDEA", hint='reelforge story "IDEA" --character NAME')
        if self.format not in FORMATS:
            raise InputError(f"unknown format {self.format!r}", field="--format", hint=f"use one of {', '.join(FORMATS)}")
        if not 1 <= self.segments <= 20:
            raise InputError(f"--segments {self.segments} is out of range", field="--segments", hint="use 1 to 20")
        if self.on_fail not in ("local", "skip", "fail"):
            raise InputError(f"--on-fail {self.on_fail!r} is not local, skip or fail", field="--on-fail")
        if self.music is not None and not Path(self.music).is_file():
            raise InputError(f"music file not found: {self.music}", field="--music")
        if self.script is None and self.duration not in self._durations():
            raise InputError(f"--duration {self.duration} is not offered by {self.video_name}", field="--duration",
                             hint=f"use {', '.join(map(str, self._durations()))}")
        if self.script is not None:
            self.check_script(self.script)

    def _caps(self) -> Any:
        if self.video_name == "veo":
            from reelforge.providers.video.models import capabilities, vertex_caps

            caps = capabilities(self.video_model_id())
            return vertex_caps(caps) if self.settings.google_genai_use_vertexai else caps
        from reelforge.providers.video.local import CAPS

        return CAPS

    def _durations(self) -> tuple[int, ...]:
        allowed = tuple(self._caps().durations)
        return tuple(d for d in WRITER_DURATIONS if d in allowed) or allowed

    def check_script(self, script: StoryScript, source: str = "script") -> None:
        """Everything the video provider would refuse, before any call, naming the field."""
        from reelforge.providers.video.base import VideoRequest, check_request

        for field_path in dialogue_problems(script):
            raise InputError("dialogue is not allowed in this script", field=f"{source}: {field_path}",
                             hint="set allow_dialogue: true, or move the words into sounds")
        caps = self._caps()
        for n, segment in enumerate(script.segments):
            request = VideoRequest(clip_prompt(script, segment), b"", b"", aspect=self.aspect,
                                   resolution=self.resolution, duration=segment.duration)
            try:
                check_request(self.video_name, caps, request,
                              developer_api=self.video_name == "veo" and not self.settings.google_genai_use_vertexai)
            except InputError as exc:
                where = f"{source}: segments[{n}].duration" if exc.field == "--duration" else exc.field
                raise InputError(exc.message, field=where, hint=exc.hint) from None

    # --- models and providers ------------------------------------------------------------------

    def writer_model(self) -> str:
        return {"gemini": self.settings.gemini_writer_model, "openai": self.settings.openai_writer_model}.get(
            self.writer_name, "draft-writer-1")

    def image_model(self) -> str:
        if self.image_provider == "local":
            return "draft-card-2"
        value = getattr(self.settings, f"{self.image_provider}_model", None)
        return value if isinstance(value, str) else ""

    def video_model_id(self) -> str:
        return self.video_model or (self.settings.veo_model if self.video_name == "veo" else "motion-1")

    def _runner(self, ctx: RuntimeContext) -> Runner:
        s = self.settings
        actions: list[Any] = [WriteScript(), DraftScript(), Keyframe(), StoryLocalClip(), MergeStory(),
                              StoryVeoClip(s.veo_poll_interval_s, s.veo_poll_max_interval_s, s.veo_max_wait_s)]
        # One gate serves provider "local" in a run, whichever capability opens it first (keyframe
        # cards or morph clips): limits that fit both, so a card waiting behind two morphs on a busy
        # machine is not timed out at the image registry's 60 s.
        return Runner(actions={a.kind: a for a in actions}, context=ctx, limits={"local": LOCAL_LIMITS})

    def _check_providers(self, ctx: RuntimeContext, *, writer: bool) -> None:
        from reelforge.providers.images import IMAGE_GENERATORS
        from reelforge.providers.video import VIDEO_GENERATORS
        from reelforge.providers.writer import WRITERS

        checks = [(IMAGE_GENERATORS, self.image_provider, "--image-provider"),
                  (VIDEO_GENERATORS, self.video_name, "--video-provider")]
        if writer:
            checks.insert(0, (WRITERS, self.writer_name, "--writer"))
        for registry, name, flag in checks:
            availability = registry.check(name, ctx.settings)
            if not availability.available:
                raise ProviderUnavailable(f"{registry.capability} provider {name} is not usable: {availability.reason}",
                                          hint=f"{availability.hint}; or use {flag} local (offline)")

    # --- the character -------------------------------------------------------------------------

    async def _character(self, ctx: RuntimeContext, workdir: Path) -> CharacterRef:
        name = self.character or (self.script.characters[0].name if self.script else None)
        if not name and self.character_image is None:
            raise InputError("no character given", field="--character",
                             hint="pass --character NAME (from `reelforge characters list`) or an image file")
        path = Path(self.character_image or name or "")
        if self.character_image is not None or path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
            if not path.is_file():
                raise InputError(f"character image not found: {path}", field="--character", hint="check the path")
            from .characters import offline_profile

            label = self.script.characters[0].name if self.script else (
                self.character if self.character_image is not None and self.character else path.stem)
            profile = await asyncio.to_thread(offline_profile, [path.read_bytes()], self.description)
            return CharacterRef(label, profile.prompt_description, path, "file")
        from .characters import store_for

        found = await asyncio.to_thread(store_for(ctx).get, str(name))
        first = found.images[0]
        image = Artifact(first.digest, first.media_type, 0)
        path_of = getattr(ctx.store, "path_of", None)
        local = Path(path_of(image)) if path_of else await asyncio.to_thread(
            ctx.store.export, image, workdir / f"character{Path(first.filename).suffix or '.png'}")
        return CharacterRef(found.name, found.prompt_description, local, "library")

    # --- steps ---------------------------------------------------------------------------------

    def script_step(self, character: CharacterRef) -> Step:
        idea = (self.idea or "").strip()
        params: dict[str, Any] = {"idea": idea, "character": character.name, "description": character.description,
                  "segments": self.segments, "format": self.format, "duration": self.duration,
                  "durations": list(self._durations()), "allow_dialogue": self.allow_dialogue,
                  "creature_language": self.creature_language, "style": self.style}
        if self.writer_name == "local":  # templates on this machine: a local step, no provider gate
            return Step("script", DraftScript.kind, {**params, "writer_model": self.writer_model()},
                        label=f"draft script: {idea[:60]}")
        return Step("script", WriteScript.kind, params, self.writer_name, self.writer_model(),
                    label=f"script: {idea[:60]}", billing=("1k_tokens", round(0.4 * self.segments + 1.0, 2)))

    def keyframe_step(self, script: StoryScript, character: CharacterRef, n: int, which: str, attempt: int,
                      needs: tuple[str, ...], provider: str | None = None) -> Step:
        segment = script.segments[n]
        base = f"s{n + 1:02d}-{which}"
        provider = provider or self.image_provider
        params = {"prompt": frame_prompt(script, segment, which, character.description), "aspect": self.aspect,
                  "seed": attempt, "which": which, "segment": n + 1}
        model = self.image_model() if provider == self.image_provider else "draft-card-2"
        return Step(base if attempt == 0 else f"{base}-r{attempt}", Keyframe.kind, params, provider, model,
                    needs=needs, files={"character0": character.image}, label=f"segment {n + 1} {which} frame",
                    billing=("image", 1))

    def clip_step(self, script: StoryScript, n: int, first: FrameChoice | str, last: FrameChoice | str,
                  provider: str) -> Step:
        segment = script.segments[n]
        local = provider == "local"
        model = "motion-1" if local else self.video_model_id()
        media = {"image": first.artifact.media_type if isinstance(first, FrameChoice) else "image/png",
                 "last_frame": last.artifact.media_type if isinstance(last, FrameChoice) else "image/png"}
        params = {"prompt": clip_prompt(script, segment), "aspect": self.aspect, "resolution": self.resolution,
                  "duration": segment.duration, "negative_prompt": None, "seed": None, "audio": None, "count": 1,
                  "ref_types": [], "video_uri": None, "extend": False, "media_types": media, "model": model}
        needs = tuple(c.step_id if isinstance(c, FrameChoice) else c for c in (first, last))
        sid = f"s{n + 1:02d}-clip" + ("-local" if local and self.video_name != "local" else "")
        return Step(sid, StoryLocalClip.kind if local else StoryVeoClip.kind, params, provider,
                    f"{model}@{self.resolution}", needs=needs, label=f"segment {n + 1} clip",
                    billing=("second", float(segment.duration)))

    def nominal_steps(self, script: StoryScript, character: CharacterRef) -> list[Step]:
        """The graph without regenerations or fallbacks: what a plan prices."""
        steps = [self.keyframe_step(script, character, 0, "first", 0, ())]
        boundary = steps[0].id
        for n in range(len(script.segments)):
            last = self.keyframe_step(script, character, n, "last", 0, (boundary,))
            steps += [last, self.clip_step(script, n, boundary, last.id, self.video_name)]
            boundary = last.id
        return steps

    # --- plan ----------------------------------------------------------------------------------

    async def aplan(self, ctx: RuntimeContext) -> StoryPlan:
        """Every call and its estimated cost (Veo seconds included); calls nothing. Before the
        script exists, the segments are placeholders of `duration` seconds each."""
        self.check()
        runner = self._runner(ctx)
        with tempfile.TemporaryDirectory(prefix="reelforge-story-") as tmp:
            character = await self._character(ctx, Path(tmp))
            steps: list[Step] = []
            script = self.script
            notes = []
            if script is None:
                step = self.script_step(character)
                steps.append(step)
                cached = (await runner.plan([step], self.refresh)).steps[0].cached
                script = await self._cached_script(ctx, runner, step) if cached else None
                if script is None:
                    script = _placeholder(self, character)
                    notes.append(f"the script is not written yet: {self.segments} segment(s) of {self.duration} s "
                                 "assumed")
            steps += self.nominal_steps(script, character)
            plan = await runner.plan(steps, self.refresh)
        if self.max_regenerations:
            notes.append(f"a keyframe that drifts from the character is drawn again up to {self.max_regenerations} "
                         "more time(s), each priced like the first")
        return StoryPlan(plan, script, notes)

    async def _cached_script(self, ctx: RuntimeContext, runner: Runner, step: Step) -> StoryScript | None:
        async with runner.start(RunOptions(title="story plan (cached script)")) as run:
            await run.add([step])
            outcome = await run.result(step.id)
        if outcome.result is None:
            return None
        return StoryScript.model_validate_json(await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0]))

    # --- write only ----------------------------------------------------------------------------

    async def awrite(self, ctx: RuntimeContext, events: EventSink | None = None,
                     cancel: CancelToken | None = None) -> tuple[StoryScript, RunReport]:
        """Only the script (`reelforge story write`)."""
        self.check()
        self._check_providers(ctx, writer=True)
        runner = self._runner(ctx)
        with tempfile.TemporaryDirectory(prefix="reelforge-story-") as tmp, subscribed(runner.bus, events):
            character = await self._character(ctx, Path(tmp))
            async with (cancel or CancelToken()).scope(), runner.start(self._options("story write")) as run:
                script = await self._write(ctx, run, character)
        assert run.report is not None
        return script, run.report

    def _options(self, title: str) -> RunOptions:
        return RunOptions(self.budget_usd, None, self.refresh, title=f"{title} [{self.writer_name}/"
                          f"{self.image_provider}/{self.video_name}] {(self.idea or '')[:50]}")

    async def _write(self, ctx: RuntimeContext, run: Any, character: CharacterRef) -> StoryScript:
        step = self.script_step(character)
        await run.add([step])
        outcome = await run.result(step.id)
        _raise_if_failed(outcome, "writing the script")
        assert outcome.result is not None
        data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
        script = StoryScript.model_validate_json(data)
        self.check_script(script, "the written script")
        return script

    # --- the run -------------------------------------------------------------------------------

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> StoryResult:
        from .finish import finish, merge_step

        started = time.monotonic()
        self.check()
        self._check_providers(ctx, writer=self.script is None)
        self.warnings = []
        runner = self._runner(ctx)
        with tempfile.TemporaryDirectory(prefix="reelforge-story-") as tmp, subscribed(runner.bus, events):
            character = await self._character(ctx, Path(tmp))
            async with (cancel or CancelToken()).scope():
                async with runner.start(self._options("story")) as run:
                    script = self.script or await self._write(ctx, run, character)
                    await asyncio.to_thread(_write_script_early, self.output, script)
                    frames, clips = await self._film(ctx, run, script, character)
                    merge = merge_step(self, script, clips)
                    await run.add([merge])
                    merged = await run.result(merge.id)
                    _raise_if_failed(merged, "merging the clips")
                assert run.report is not None and merged.result is not None
                return await finish(self, ctx, script, character, frames, clips, merged.result.artifacts[0],
                                    run.report, started)

    async def _film(self, ctx: RuntimeContext, run: Any, script: StoryScript, character: CharacterRef
                    ) -> tuple[list[FrameChoice], list[ClipChoice | None]]:
        """Keyframes in order (each needs the one before), clips as soon as their two frames exist."""
        reference = await asyncio.to_thread(character.image.read_bytes)
        boundaries = [await self._keyframe(ctx, run, script, character, reference, 0, "first", ())]
        clip_tasks = []
        try:
            for n in range(len(script.segments)):
                last = await self._keyframe(ctx, run, script, character, reference, n, "last", (boundaries[-1].step_id,))
                clip_tasks.append(asyncio.ensure_future(self._clip(ctx, run, script, n, boundaries[-1], last)))
                boundaries.append(last)
            clips = list(await asyncio.gather(*clip_tasks))
        except BaseException:
            for task in clip_tasks:
                task.cancel()
            await asyncio.gather(*clip_tasks, return_exceptions=True)
            raise
        return boundaries, clips

    async def _keyframe(self, ctx: RuntimeContext, run: Any, script: StoryScript, character: CharacterRef,
                        reference: bytes, n: int, which: str, needs: tuple[str, ...]) -> FrameChoice:
        """Draw the keyframe; while it drifts from the character (score below `min_consistency`),
        draw it again with another seed, at most `max_regenerations` times; keep the best."""
        from .consistency import consistency

        best: FrameChoice | None = None
        attempts: list[dict[str, Any]] = []
        for attempt in range(self.max_regenerations + 1):
            step = self.keyframe_step(script, character, n, which, attempt, needs)
            await run.add([step])
            outcome = await run.result(step.id)
            if outcome.result is None:
                attempts.append({"step": step.id, "error": outcome.error})
                if best is not None:
                    break
                return await self._keyframe_fallback(ctx, run, script, character, reference, n, which, needs,
                                                     outcome, attempts)
            artifact = outcome.result.artifacts[0]
            data = await asyncio.to_thread(ctx.store.read_bytes, artifact)
            score = await asyncio.to_thread(consistency, reference, data)
            attempts.append({"step": step.id, "score": score, "sha256": artifact.digest})
            if best is None or score > best.score:
                best = FrameChoice(step.id, artifact, score, step.provider or "", attempts)
            if score >= self.min_consistency:
                break
        assert best is not None
        if best.score < self.min_consistency:
            self.warnings.append(f"segment {n + 1} {which} frame: consistency {best.score:.2f} stays under "
                                 f"{self.min_consistency:.2f} after {len(attempts)} attempt(s); the best is used")
        return best

    async def _keyframe_fallback(self, ctx: RuntimeContext, run: Any, script: StoryScript, character: CharacterRef,
                                 reference: bytes, n: int, which: str, needs: tuple[str, ...], failed: Outcome,
                                 attempts: list[dict[str, Any]]) -> FrameChoice:
        """A keyframe the provider would not draw: under `--on-fail local` a local draft card takes
        its place (marked in the report); otherwise the story stops (a chain has no gaps)."""
        from .consistency import consistency

        if self.on_fail != "local" or self.image_provider == "local" or _must_stop(failed):
            _raise_if_failed(failed, f"segment {n + 1} {which} frame")
        step = self.keyframe_step(script, character, n, which, 0, needs, provider="local")
        step = Step(f"{step.id}-local", step.kind, step.params, step.provider, step.model, step.needs, step.files,
                    step.label, step.billing)
        await run.add([step])
        outcome = await run.result(step.id)
        _raise_if_failed(outcome, f"segment {n + 1} {which} frame (local fallback)")
        assert outcome.result is not None
        artifact = outcome.result.artifacts[0]
        score = await asyncio.to_thread(consistency, reference, await asyncio.to_thread(ctx.store.read_bytes, artifact))
        self.warnings.append(f"segment {n + 1} {which} frame: {self.image_provider} failed ({failed.error}); a local "
                             "draft card stands in")
        return FrameChoice(step.id, artifact, score, "local", attempts, fallback=failed.error)

    async def _clip(self, ctx: RuntimeContext, run: Any, script: StoryScript, n: int, first: FrameChoice,
                    last: FrameChoice) -> ClipChoice | None:
        step = self.clip_step(script, n, first, last, self.video_name)
        async with self._operation_slot(ctx):
            await run.add([step])
            outcome = await run.result(step.id)
        if outcome.result is not None:
            return ClipChoice(step.id, outcome.result.artifacts[0], self.video_name, self.video_model_id(),
                              outcome.result.cost_usd)
        error = outcome.error or "failed"
        if self.on_fail == "fail" or self.video_name == "local" or _must_stop(outcome):
            _raise_if_failed(outcome, f"segment {n + 1} clip")
        if self.on_fail == "skip":
            self.warnings.append(f"segment {n + 1}: the clip failed ({error}); left out of the video")
            return ClipChoice(None, None, self.video_name, self.video_model_id(), error=error)
        fallback = self.clip_step(script, n, first, last, "local")
        await run.add([fallback])
        done = await run.result(fallback.id)
        _raise_if_failed(done, f"segment {n + 1} clip (local fallback)")
        assert done.result is not None
        self.warnings.append(f"segment {n + 1}: {self.video_name} failed ({error}); the local morph stands in")
        return ClipChoice(fallback.id, done.result.artifacts[0], "local", "motion-1", 0.0, fallback=error, error=error)

    def _operation_slot(self, ctx: RuntimeContext) -> Any:
        """Veo's bound on operations in flight (REELFORGE_VEO_MAX_OPERATIONS); none for local."""
        import contextlib

        if self.video_name == "local":
            return contextlib.nullcontext()
        assert ctx.providers is not None
        return getattr(ctx.providers.get("video", self.video_name), "operations", None) or contextlib.nullcontext()

    # --- sync wrappers -------------------------------------------------------------------------

    def run(self, on_event: EventSink | None = None) -> StoryResult:
        result: StoryResult = run_job(self, self.settings, on_event=on_event)
        return result

    def plan(self) -> StoryPlan:
        result: StoryPlan = plan_job(self, self.settings)
        return result

    def write(self, on_event: EventSink | None = None) -> tuple[StoryScript, RunReport]:
        job = self

        class _Write:
            settings = job.settings

            async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                           cancel: CancelToken | None = None) -> Any:
                return await job.awrite(ctx, events, cancel)

        result: tuple[StoryScript, RunReport] = run_job(_Write(), self.settings, on_event=on_event)
        return result


@dataclass
class StoryPlan:
    plan: Plan
    script: StoryScript
    notes: list[str]

    @property
    def video_seconds(self) -> float:
        return sum(s.step.billing[1] for s in self.plan.steps
                   if s.step.billing and s.step.billing[0] == "second" and not s.cached)


def _placeholder(job: StoryJob, character: CharacterRef) -> StoryScript:
    from reelforge.providers.writer.local import draft_script

    return draft_script(job.idea or "", character.name, character.description, job.segments, job.format,
                        job.duration, job.allow_dialogue, job.creature_language, job.style)


# Failures no fallback should paper over: the user's money limit, and keys or accounts that refuse
STOPPING_REASONS = ("auth", "quota_exhausted", "payment_required")


def _must_stop(outcome: Outcome) -> bool:
    from reelforge.errors import BudgetExceeded

    exc = outcome.exception
    return isinstance(exc, BudgetExceeded) or getattr(exc, "reason", None) in STOPPING_REASONS


def _raise_if_failed(outcome: Outcome, what: str) -> None:
    if outcome.result is not None:
        return
    if isinstance(outcome.exception, ReelforgeError):
        raise outcome.exception
    raise StoryFailed(f"{what} failed: {outcome.error}", hint="run it again: finished steps are cached")


def _write_script_early(output: Path, script: StoryScript) -> None:
    """script.yaml as soon as the script exists: a run stopped later still leaves it to edit."""
    from .script import save_script

    save_script(script, Path(output) / "script.yaml")


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)


def story(idea: str | None = None, output: str | Path = "story", *, character: str | None = None,
          script: StoryScript | str | Path | None = None, settings: Settings | None = None,
          **options: Any) -> StoryResult:
    """Make a story from Python: `reelforge.story("Floof finds a box", "out/", character="Floof")`,
    or from a script file: `reelforge.story(script="script.yaml", output="out/", character="Floof")`."""
    from reelforge.settings import get_settings

    from .script import load_script

    if isinstance(script, str | Path):
        script = load_script(Path(script))
    return StoryJob(Path(output), settings or get_settings(), idea=idea, script=script, character=character,
                    **options).run()
