"""Job kinds the service runs: kind → the spec model (the one the CLI validates with), the
fields of the spec that name files, and a builder `build(spec, options, settings, workdir) ->
job`. A new pipeline (product-shots, clip, story) is one more `JobKind` in `KINDS`. The service
holds no pipeline logic: builders only construct today's job objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.errors import SpecError
from reelforge.settings import Settings
from reelforge.spec.provider_names import CutoutMethod


class JobOptions(BaseModel):
    """How to run a job (not what it makes)."""

    model_config = ConfigDict(extra="forbid")
    budget_usd: float | None = Field(None, ge=0, description="Refuse a call that would take the cost past this.")
    refresh: list[str] = Field(default_factory=list, description="Step kinds or ids to redo instead of reusing.")


Builder = Callable[[Any, JobOptions, Settings, Path], Any]


@dataclass(frozen=True)
class JobKind:
    kind: str
    title: str
    description: str
    model: type[BaseModel]
    build: Builder
    path_fields: tuple[str, ...] = ()  # dotted paths, `*` = every list item; values are upload:/job:/URLs
    validate: Callable[[Any], Any] | None = None  # default: validate_model(model, ...)

    def parse(self, spec: Any) -> Any:
        from reelforge.spec.loader import validate_model

        if self.validate is not None:
            return self.validate(spec)
        return validate_model(self.model, spec, what=f"{self.kind} spec")


def _out(workdir: Path) -> Path:
    return workdir / "out"


# --- image -------------------------------------------------------------------------------------

class ImageSpec(BaseModel):
    """Images from a prompt (`reelforge image`)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(min_length=1, max_length=8000, description="What to draw.")
    more_prompts: list[str] = Field(default_factory=list, max_length=500,
                                    description="A batch: more prompts drawn with the same options, one step each.")
    count: int = Field(1, ge=1, le=16, description="How many images.")
    aspect: str = Field("1:1", description="Aspect ratio, e.g. 16:9.")
    provider: str | None = Field(None, description="Image provider (default REELFORGE_IMAGE_PROVIDER).")
    refs: list[str] = Field(default_factory=list, description="Reference images (upload:, job: or URLs).")
    seed: int | None = Field(None, description="Seed, where the provider supports one.")
    negative_prompt: str | None = Field(None, description="What to avoid.")


def build_image(spec: ImageSpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.images import ImageItem, ImageJob

    items = [ImageItem(prompt, spec.count, spec.aspect, tuple(Path(r) for r in spec.refs), spec.seed,
                       spec.negative_prompt, source=f"spec.prompt[{n}]") for n, prompt in
             enumerate([spec.prompt, *spec.more_prompts])]
    return ImageJob(items, _out(workdir), spec.provider or settings.image_provider, settings,
                    budget_usd=options.budget_usd, refresh=tuple(options.refresh))


# --- text --------------------------------------------------------------------------------------

class TextSpec(BaseModel):
    """Styled text as a transparent PNG (`reelforge text`)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000, description="The words (newlines break lines).")
    style: str | None = Field(None, description="Preset name (sale-badge, neon, gold-3d, …).")
    engine: Literal["local", "ai"] = Field("local", description="local typographic engine, or ai (an image provider).")
    provider: str | None = Field(None, description="With engine ai: the image provider.")
    font: str | None = Field(None, description="Font family.")
    size: float | None = Field(None, gt=0, le=2000, description="Font size in pixels.")
    color: str | None = Field(None, description="Solid fill colour.")
    width: int | None = Field(None, gt=0, le=8192, description="Wrap at this width (px).")
    height: int | None = Field(None, gt=0, le=8192, description="With width: fit the text into this box.")


def build_text(spec: TextSpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.text import TextJob, style_overrides

    overrides = style_overrides(spec.font, spec.size, spec.color, spec.width, spec.height)
    return TextJob(spec.text, spec.style, overrides, engine=spec.engine, output=_out(workdir) / "text.png",
                   provider=spec.provider, settings=settings, budget_usd=options.budget_usd,
                   refresh=tuple(options.refresh))


# --- scenes ------------------------------------------------------------------------------------

def build_scenes(spec: Any, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.scenes.job import ScenesJob

    return ScenesJob(spec, _out(workdir) / "scenes.mp4", settings, budget_usd=options.budget_usd,
                     refresh=tuple(options.refresh))


# --- render (timeline) -------------------------------------------------------------------------

def validate_render(doc: Any) -> Any:
    from reelforge.spec.loader import validate_timeline

    return validate_timeline(doc, source="spec")


def build_render(timeline: Any, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.render import RenderJob

    ext = {"webm": ".webm", "webm-alpha": ".webm", "mov-prores": ".mov", "gif": ".gif"}.get(timeline.output.format, ".mp4")
    return RenderJob(timeline, _out(workdir) / f"video{ext}", settings=settings)


# --- cut-out -----------------------------------------------------------------------------------

class CutoutSpec(BaseModel):
    """Transparent cut-outs of images (`reelforge cutout`)."""

    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(min_length=1, max_length=100, description="Images (upload:, job: or URLs).")
    method: CutoutMethod = Field(
        "auto", description="auto picks keying for plain backgrounds, else the ML model.")
    model: str = Field("u2netp", description="ML model for ml/refine/auto.")
    keep_shadow: bool = Field(False, description="Keep the subject's shadow.")
    background: str | None = Field(None, description="A colour to composite onto (default: transparent).")
    crop: bool = Field(False, description="Crop to the subject.")
    margin: float = Field(0.04, ge=0, le=1, description="Margin around the subject when cropping.")


def build_cutout(spec: CutoutSpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.cutout import CutoutJob, CutoutOptions

    opts = CutoutOptions(method=spec.method, model=spec.model, keep_shadow=spec.keep_shadow,
                         background=spec.background, crop=spec.crop, margin=spec.margin)
    return _AllFailedIsAFailure(CutoutJob([Path(p) for p in spec.inputs], _out(workdir), opts, settings,
                                          workers=1, budget_usd=options.budget_usd, refresh=tuple(options.refresh)))


class _AllFailedIsAFailure:
    """A cut-out batch goes on past bad files; a job none of whose files could be cut out
    failed (its status says so, with the first file's error)."""

    def __init__(self, job: Any) -> None:
        self.job, self.kind = job, job.kind

    async def aplan(self, ctx: Any) -> Any:
        return await self.job.aplan(ctx)

    async def arun(self, ctx: Any, events: Any = None, cancel: Any = None) -> Any:
        from reelforge.errors import InputError

        result = await self.job.arun(ctx, events, cancel)
        if result.items and len(result.failed) == len(result.items):
            raise InputError(f"no image could be cut out: {result.failed[0].error}", field="inputs")
        return result


# --- overlay -----------------------------------------------------------------------------------

def _overlay_model() -> type[BaseModel]:
    from reelforge.spec.overlay import OverlayJob

    class OverlaySpec(OverlayJob):
        """Overlays burned into videos (`reelforge overlay`)."""

        videos: list[str] = Field(min_length=1, max_length=50, description="Videos (upload:, job: or URLs).")

    return OverlaySpec


def build_overlay(spec: Any, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.overlay import OverlayBatchJob
    from reelforge.spec.overlay import OverlayJob

    job = OverlayJob.model_validate(spec.model_dump(exclude={"videos"}, exclude_unset=True))
    return OverlayBatchJob([Path(v) for v in spec.videos], job, _out(workdir), settings=settings)


# --- product shots -----------------------------------------------------------------------------

ShotStyle = Literal["studio", "desk", "gradient"]
ShotAspect = Literal["1:1", "4:5", "9:16", "16:9"]
_SHOT_STYLES: tuple[ShotStyle, ...] = ("studio", "desk", "gradient")
_SHOT_SIZES: tuple[ShotAspect, ...] = ("1:1", "4:5", "9:16")


class ProductShotsSpec(BaseModel):
    """Products found in a video → best frame, real cut-out and studio shots (`reelforge product-shots`)."""

    model_config = ConfigDict(extra="forbid")
    video: str = Field(description="The product video (upload:, job: or an http(s) URL to a video file).")
    fps: float = Field(2.0, gt=0, le=30, description="Frames sampled per second.")
    max_frames: int = Field(240, ge=2, le=2000, description="At most this many frames.")
    vision: Literal["local", "gemini", "openai"] = Field("local", description="Who finds the products.")
    shots: list[ShotStyle] = Field(default_factory=lambda: list(_SHOT_STYLES), min_length=1,
                                   description="Shot styles.")
    sizes: list[ShotAspect] = Field(default_factory=lambda: list(_SHOT_SIZES), min_length=1,
                                    description="Output aspect ratios.")
    long_side: int = Field(2048, ge=256, le=4096, description="Long side of every shot in pixels.")
    brand_color: str = Field("#3b5bdb", description="Colour of the gradient shot.")
    ai_background: str | None = Field(None, description="Image provider that draws an empty scene (optional).")
    reimagined_product: str | None = Field(None, description="Image provider that ALSO draws each product from its "
                                           "description (text-to-image): NOT the real product. Off by default.")
    cutout_qa: Literal["retry", "warn", "reject"] = Field("retry", description="A cut-out that keeps backdrop "
                                                          "(ghost strip, rim smear): retry other paths, warn, reject.")


def build_product_shots(spec: ProductShotsSpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.product_shots import ProductShotsJob, ProductShotsOptions

    opts = ProductShotsOptions(fps=spec.fps, max_frames=spec.max_frames, vision=spec.vision, shots=tuple(spec.shots),
                               sizes=tuple(spec.sizes), long_side=spec.long_side, brand_color=spec.brand_color,
                               ai_background=spec.ai_background, reimagined_product=spec.reimagined_product,
                               cutout_qa=spec.cutout_qa)
    return ProductShotsJob(spec.video, _out(workdir), opts, settings, budget_usd=options.budget_usd,
                           refresh=tuple(options.refresh))
# --- clip --------------------------------------------------------------------------------------

class ClipSpec(BaseModel):
    """A generated clip (`reelforge clip`)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field("", max_length=4000, description="What happens in the clip.")
    provider: Literal["veo", "local"] | None = Field(None, description="veo or local (default REELFORGE_VIDEO_PROVIDER).")
    model: str | None = Field(None, description="Veo model id.")
    image: str | None = Field(None, description="First frame (upload:, job: or a URL).")
    last_frame: str | None = Field(None, description="Last frame (needs image).")
    refs: list[str] = Field(default_factory=list, max_length=3, description="Reference images (asset).")
    extend: str | None = Field(None, description="A clip to extend.")
    duration: int = Field(8, ge=1, le=60, description="Seconds (Veo: 4, 6 or 8).")
    aspect: Literal["16:9", "9:16"] = "16:9"
    resolution: Literal["720p", "1080p", "4k"] = "720p"
    audio: bool | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    count: int = Field(1, ge=1, le=4)


def build_clip(spec: ClipSpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.clip import ClipJob

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    return ClipJob(spec.prompt, _out(workdir) / "clip.mp4", settings, provider=spec.provider or settings.video_provider,
                   model=spec.model, image=path(spec.image), last_frame=path(spec.last_frame),
                   refs=tuple((Path(r), "asset") for r in spec.refs), extend=path(spec.extend),
                   duration=spec.duration, aspect=spec.aspect, resolution=spec.resolution, audio=spec.audio,
                   negative_prompt=spec.negative_prompt, seed=spec.seed, count=spec.count,
                   budget_usd=options.budget_usd, refresh=tuple(options.refresh))


# --- story -------------------------------------------------------------------------------------

class StorySpec(BaseModel):
    """An idea (or a script) and a character → a merged video, thumbnails and a report (`reelforge story`)."""

    model_config = ConfigDict(extra="forbid")
    idea: str | None = Field(None, max_length=2000, description="The idea; the writer writes the script.")
    script: dict[str, Any] | None = Field(None, description="A script instead of an idea (`reelforge schema story`).")
    character: str | None = Field(None, max_length=80, description="A character of the library (GET /v1/characters).")
    character_image: str | None = Field(None, description="Or the character's picture (upload:, job: or a URL).")
    description: str = Field("", max_length=1200, description="With character_image: what the character looks like.")
    segments: int = Field(4, ge=1, le=20, description="How many segments the writer writes.")
    format: Literal["story", "daily-character", "meme", "music-video"] = "story"
    duration: int = Field(8, ge=1, le=60, description="Seconds per segment the writer uses.")
    allow_dialogue: bool = False
    creature_language: str | None = Field(None, max_length=120)
    style: str = Field("", max_length=400)
    writer: Literal["local", "gemini", "openai"] | None = Field(None, description="Default REELFORGE_WRITER_PROVIDER.")
    image_provider: str = Field("local", description="Keyframes: local (draft cards), gemini, …")
    video_provider: Literal["veo", "local"] | None = Field(None, description="Default REELFORGE_VIDEO_PROVIDER.")
    video_model: str | None = None
    aspect: Literal["16:9", "9:16"] = "16:9"
    resolution: Literal["720p", "1080p", "4k"] = "720p"
    transition: Literal["cut", "crossfade"] = "cut"
    captions: bool = True
    music: str | None = Field(None, description="A music bed (upload:, job: or a URL).")
    on_fail: Literal["local", "skip", "fail"] = "local"


def validate_story(doc: Any) -> StorySpec:
    from reelforge.spec.loader import validate_model
    from reelforge.spec.story import StoryScript

    spec = validate_model(StorySpec, doc, what="story spec")
    if (spec.idea is None) == (spec.script is None):
        raise SpecError("give an idea or a script (one of them)", problems=[("idea", None, "set idea or script")])
    if spec.character is None and spec.character_image is None and spec.script is None:
        raise SpecError("no character", problems=[("character", None, "name a library character or give "
                                                                       "character_image")])
    if spec.script is not None:
        validate_model(StoryScript, spec.script, what="story script", prefix=("script",))
    return spec


def build_story(spec: StorySpec, options: JobOptions, settings: Settings, workdir: Path) -> Any:
    from reelforge.pipelines.story import StoryJob
    from reelforge.spec.story import StoryScript

    script = StoryScript.model_validate(spec.script) if spec.script is not None else None
    return StoryJob(_out(workdir), settings, idea=spec.idea, script=script, character=spec.character,
                    character_image=Path(spec.character_image) if spec.character_image else None,
                    description=spec.description, segments=spec.segments, format=spec.format,
                    duration=spec.duration, allow_dialogue=spec.allow_dialogue,
                    creature_language=spec.creature_language, style=spec.style, writer=spec.writer,
                    image_provider=spec.image_provider, video_provider=spec.video_provider,
                    video_model=spec.video_model, aspect=spec.aspect, resolution=spec.resolution,
                    transition=spec.transition, captions=spec.captions,
                    music=Path(spec.music) if spec.music else None, on_fail=spec.on_fail,
                    budget_usd=options.budget_usd, refresh=tuple(options.refresh))


def _kinds() -> dict[str, JobKind]:
    from reelforge.spec.scenes import ScenesSpec
    from reelforge.spec.timeline import Timeline

    kinds = [
        JobKind("render", "Render a timeline", "A timeline spec rendered to a video by one FFmpeg run.", Timeline,
                build_render, ("clips.*.layers.*.path", "clips.*.layers.*.generate.image",
                               "clips.*.layers.*.generate.last_frame", "audio.music.path"), validate_render),
        JobKind("scenes", "Scenes video", "Scene prompts or images → a finished video with motion and captions.",
                ScenesSpec, build_scenes, ("scenes.*.image", "music", "music.path")),
        JobKind("cutout", "Cut-out", "Transparent cut-outs of product photos.", CutoutSpec, build_cutout,
                ("inputs.*",)),
        JobKind("text", "Styled text", "Text in a style as a transparent PNG.", TextSpec, build_text),
        JobKind("overlay", "Overlay", "A text or image overlay burned into videos.", _overlay_model(),
                build_overlay, ("videos.*", "overlays.*.image")),
        JobKind("image", "Images", "Images from a prompt with an image provider.", ImageSpec, build_image,
                ("refs.*",)),
        JobKind("product-shots", "Product shots", "A product video → best frame, real cut-out and studio shots "
                "per product.", ProductShotsSpec, build_product_shots, ("video",)),
        JobKind("clip", "Clip", "A video clip from a prompt, frames or references (Veo or local motion).", ClipSpec,
                build_clip, ("image", "last_frame", "refs.*", "extend")),
        JobKind("story", "Story", "An idea and a character → script, chained keyframes, clips, merged video and "
                "thumbnails.", StorySpec, build_story, ("character_image", "music"), validate_story),
    ]
    return {k.kind: k for k in kinds}


_KINDS: dict[str, JobKind] | None = None


def kinds() -> dict[str, JobKind]:
    """Every job kind, by name (built on first use: spec models import pydantic schemas)."""
    global _KINDS
    if _KINDS is None:
        _KINDS = _kinds()
    return _KINDS


def get_kind(kind: str) -> JobKind:
    found = kinds().get(kind)
    if found is None:
        raise SpecError(f"unknown job kind {kind!r}", problems=[("kind", None, f"use one of {', '.join(kinds())}")],
                        hint="GET /v1/kinds lists them")
    return found
