"""`ClipJob`: one clip request as a run. One step per request (Veo returns all `count` videos
from one operation), so a rerun after a kill resumes the operation it already paid for, and a
finished clip is never generated (or paid for) twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reelforge.errors import InputError
from reelforge.pipelines.clip.actions import EXTEND_SECONDS, GenerateClip, LocalClip
from reelforge.pipelines.job import CancelToken, EventSink, plan_job, run_job, subscribed
from reelforge.providers.video.base import Reference, VideoCapabilities, VideoRequest, check_request
from reelforge.runtime import Event, Plan, Runner, RunOptions, RunReport, Step
from reelforge.runtime.context import RuntimeContext
from reelforge.settings import Settings

MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


@dataclass
class ClipResult:
    report: RunReport | None
    files: list[Path] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)  # what storage answered (url, key, …)
    meta: list[dict[str, Any]] = field(default_factory=list)  # per file: duration, size, audio, operation, …


@dataclass
class ClipJob:
    """A clip to generate into `output` (OUT.mp4; OUT-2.mp4 … when count > 1)."""

    prompt: str
    output: Path
    settings: Settings
    provider: str = "local"
    model: str | None = None
    image: Path | None = None
    last_frame: Path | None = None
    refs: tuple[tuple[Path, str], ...] = ()  # (file, "asset" | "style")
    extend: Path | None = None
    extend_uri: str | None = None  # a Veo file URI to extend (Gemini API)
    duration: int = 8
    aspect: str = "16:9"
    resolution: str = "720p"
    audio: bool | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    count: int = 1
    upload: str | None = None  # s3://bucket/key, gs://bucket/key, cloudinary://folder/name, file:///dir
    budget_usd: float | None = None
    refresh: tuple[str, ...] = ()
    generator: Any = None  # an adapter to use instead of the registry's (tests, embedding)
    on_event: Callable[[Event], None] | None = None

    kind: ClassVar[str] = "clip"

    # --- validation: every limit before any call ----------------------------------------------

    def request(self) -> VideoRequest:
        """The request with placeholder bytes (validation needs shapes, not pixels)."""
        for flag, path in (("--image", self.image), ("--last-frame", self.last_frame), ("--extend", self.extend),
                           *(("--ref", p) for p, _ in self.refs)):
            if path is not None and not Path(path).is_file():
                raise InputError(f"file not found: {path}", field=flag, hint="check the path")
        for _, kind in self.refs:
            if kind not in ("asset", "style"):
                raise InputError(f"reference type {kind!r} is not asset or style", field="--ref-type")
        return VideoRequest(self.prompt, b"" if self.image else None, b"" if self.last_frame else None,
                            tuple(Reference(b"", kind) for _, kind in self.refs),  # type: ignore[arg-type]
                            self.extend, self.extend_uri,
                            self.aspect, self.resolution, self.duration, self.negative_prompt, self.seed,
                            self.audio, self.count)

    def model_id(self) -> str:
        return self.model or (self.settings.veo_model if self.provider == "veo" else "motion-1")

    def capabilities(self) -> VideoCapabilities:
        if self.generator is not None:
            caps: VideoCapabilities = self.generator.capabilities(self.model_id())
            return caps
        if self.provider == "veo":
            from reelforge.providers.video.models import capabilities, vertex_caps

            caps = capabilities(self.model_id())
            return vertex_caps(caps) if self.settings.google_genai_use_vertexai else caps
        from reelforge.providers.video.local import CAPS

        return CAPS

    def validate(self) -> None:
        developer_api = self.provider == "veo" and not self.settings.google_genai_use_vertexai
        check_request(self.provider, self.capabilities(), self.request(), developer_api=developer_api)
        if self.upload:
            from reelforge.providers.storage import parse_target

            parse_target(self.upload)

    # --- the run ------------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        self.validate()
        files: dict[str, Path] = {}
        media: dict[str, str] = {}
        for name, path in (("image", self.image), ("last_frame", self.last_frame), ("video", self.extend)):
            if path is not None:
                files[name] = Path(path)
                media[name] = MEDIA_TYPES.get(Path(path).suffix.lower(), "image/png")
        for n, (path, _) in enumerate(self.refs):
            files[f"ref{n}"] = Path(path)
            media[f"ref{n}"] = MEDIA_TYPES.get(Path(path).suffix.lower(), "image/png")
        extending = self.extend is not None or bool(self.extend_uri)
        params = {"prompt": self.prompt, "aspect": self.aspect, "resolution": self.resolution,
                  "duration": self.duration, "negative_prompt": self.negative_prompt, "seed": self.seed,
                  "audio": self.audio, "count": self.count, "ref_types": [k for _, k in self.refs],
                  "video_uri": self.extend_uri, "extend": extending, "media_types": media, "model": self.model_id()}
        seconds = (EXTEND_SECONDS if extending else self.duration) * self.count
        kind = LocalClip.kind if self.provider == "local" else GenerateClip.kind
        # the priced model carries the resolution: Veo's price per second depends on it
        priced = f"{self.model_id()}@{self.resolution}"
        return [Step("clip", kind, params, self.provider, priced, files=files, label=self.prompt[:80],
                     billing=("second", seconds))]

    def _runner(self, ctx: RuntimeContext) -> Runner:
        s = self.settings
        actions: list[Any] = [GenerateClip(s.veo_poll_interval_s, s.veo_poll_max_interval_s, s.veo_max_wait_s), LocalClip()]
        providers = {self.provider: self.generator} if self.generator is not None else None
        return Runner(actions={a.kind: a for a in actions}, context=ctx, providers=providers)

    async def aplan(self, ctx: RuntimeContext) -> Plan:
        return await self._runner(ctx).plan(self.steps(), self.refresh)

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> ClipResult:
        steps = self.steps()
        runner = self._runner(ctx)
        options = RunOptions(self.budget_usd, None, self.refresh, title=f"clip [{self.provider}] {self.prompt[:60]}")
        with subscribed(runner.bus, events):
            async with (cancel or CancelToken()).scope(), self._operation_slot(ctx):
                report = await runner.run(steps, options)
        outcome = report.outcomes.get("clip")
        if outcome is None or outcome.result is None:
            return ClipResult(report)
        files, metas = self._export(ctx, outcome.result.artifacts)
        uploads = await self._upload(ctx, files, metas, report.run_id) if self.upload else []
        return ClipResult(report, files, uploads, metas)

    def _operation_slot(self, ctx: RuntimeContext) -> Any:
        """The provider's bound on operations in flight (Veo: REELFORGE_VEO_MAX_OPERATIONS), taken
        before submitting and held until the clip is downloaded; none for local rendering."""
        import contextlib

        if self.provider == "local":
            return contextlib.nullcontext()
        assert ctx.providers is not None
        generator = self.generator or ctx.providers.get("video", self.provider)
        return getattr(generator, "operations", None) or contextlib.nullcontext()

    def _export(self, ctx: RuntimeContext, artifacts: Any) -> tuple[list[Path], list[dict[str, Any]]]:
        files, metas = [], []
        for n, artifact in enumerate(artifacts):
            target = self.output if n == 0 else self.output.with_name(f"{self.output.stem}-{n + 1}{self.output.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            files.append(ctx.store.export(artifact, target))
            metas.append(dict(artifact.meta))
        return files, metas

    async def _upload(self, ctx: RuntimeContext, files: list[Path], metas: list[dict[str, Any]],
                      run_id: str) -> list[dict[str, Any]]:
        import asyncio

        from reelforge.providers.storage import open_target

        store, key = open_target(self.upload or "", self.settings)
        answers = []
        for n, (path, meta) in enumerate(zip(files, metas, strict=True)):
            name = key if n == 0 else _numbered(key, n + 1)
            user_meta = {"prompt": self.prompt[:1000], "model": self.model_id(), "provider": self.provider,
                         "duration": str(meta.get("duration") or ""), "run-id": run_id}
            answers.append(await asyncio.to_thread(store.upload, path, name, "video/mp4", user_meta))
        return answers

    def plan(self) -> Plan:
        result: Plan = plan_job(self, self.settings)
        return result

    def run(self) -> ClipResult:
        result: ClipResult = run_job(self, self.settings, on_event=self.on_event)
        return result


def _numbered(key: str, n: int) -> str:
    stem, dot, ext = key.rpartition(".")
    return f"{stem}-{n}.{ext}" if dot else f"{key}-{n}"


def clip(prompt: str = "", output: str | Path = "clip.mp4", *, settings: Settings | None = None,
         **options: Any) -> ClipResult:
    """Generate a clip from Python: `reelforge.clip("a fox in snow", "fox.mp4", provider="veo")`."""
    from reelforge.settings import get_settings

    s = settings or get_settings()
    job = ClipJob(prompt, Path(output), s, **{"provider": s.video_provider, **options})
    return job.run()
