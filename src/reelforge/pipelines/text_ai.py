"""The AI text engine as a run: an image provider draws the text on a plain backdrop (the prompt
from `text_prompt`), then `key` cuts it out into the same tight RGBA image the typographic
engine returns.

Two steps on the generation runtime, both cached by content key: `image.generate` (the provider
call, billed, limited, retried) and `text.cutout` (no provider; keying in the process pool). The
same text, style and provider a second time makes no call at all.

`--provider local` has no image model, and its draft cards are not text on a backdrop, so here
it draws the text itself with the typographic engine on the chosen backdrop (marked as a draft):
the whole AI path, key cut-out included, runs offline for $0.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, PngImagePlugin

from reelforge.errors import QualityError, ReelforgeError
from reelforge.pipelines.images import GenerateImage, choose_generator, generation_runner
from reelforge.pipelines.text_prompt import TextPrompt, build_prompt
from reelforge.providers.image import (
    GeneratedImage,
    ImageCapabilities,
    ImageGenerator,
    ImageRequest,
    size_for_aspect,
)
from reelforge.runtime import (
    ActionResult,
    Event,
    Plan,
    Runner,
    RunOptions,
    Step,
    StepContext,
    StepOutput,
)
from reelforge.runtime.runner import StepFailed
from reelforge.settings import Settings
from reelforge.spec.text_style import Style

CROP_MARGIN = 0.03  # transparent margin around the cut-out text, a fraction of its larger side
DRAFT_LONG_SIDE = 1024
DRAFT_FILL = 0.75  # the draft text spans this much of the canvas width (as the prompt asks)


# --- step 2: the cut-out ----------------------------------------------------------------------


class CutOutText:
    """Step action `text.cutout`: key the generated image, crop it tight, store the RGBA PNG."""

    kind = "text.cutout"
    version = 1

    async def run(self, ctx: StepContext) -> ActionResult:
        [generated] = ctx.inputs["generate"][:1]
        data = await ctx.read(generated)
        png, meta = await ctx.run_cpu(cut_text, data, bool(ctx.params["keep_shadow"]), ctx.params["backdrop"])
        check_cutout(meta, ctx.params["provider"])
        return ActionResult([StepOutput(png, "image/png", meta)])


def cut_text(data: bytes, keep_shadow: bool, backdrop: str) -> tuple[bytes, dict[str, Any]]:
    """(PNG bytes, cut-out metadata); runs in a worker process. A cut-out that failed QA comes
    back with no bytes and its flags, for `check_cutout` to turn into an error."""
    from reelforge.pipelines.cutout import crop_to_subject, cutout_result

    with Image.open(io.BytesIO(data)) as answer:
        rgb = answer.convert("RGB")
    result = cutout_result(rgb, "key", keep_shadow=keep_shadow, force=True)
    meta = result.metadata()
    meta["source_size"] = list(rgb.size)
    meta["warnings"] += _backdrop_warnings(meta, backdrop)
    if {"empty-mask", "full-mask"} & set(meta["qa"]["flags"]):
        return b"", meta
    image = crop_to_subject(result.image, CROP_MARGIN)
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "reelforge text --engine ai")
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue(), meta


def _backdrop_warnings(meta: dict[str, Any], asked: str) -> list[str]:
    got = meta.get("backdrop_color")
    if not got:
        return []
    distance = sum((int(got[i:i + 2], 16) - int(asked[i:i + 2], 16)) ** 2 for i in (1, 3, 5)) ** 0.5
    return [f"asked for a {asked} backdrop, the image has {got}; keyed against that"] if distance > 40 else []


def check_cutout(meta: dict[str, Any], provider: str) -> None:
    """A blank or backdrop-less answer is an error, never a silent empty PNG."""
    flags = meta["qa"]["flags"]
    retry = (f"rerun with --refresh image.generate to ask {provider} again (billed again), try another --provider, "
             "or use --engine local")
    if "empty-mask" in flags:
        raise QualityError(f"{provider}'s image has no text on it to cut out: it is all backdrop", hint=retry)
    if "full-mask" in flags:
        raise QualityError(f"{provider}'s image has no plain backdrop to cut away (the text fills the whole image "
                           "or the background is busy)", hint=retry)


# --- the offline stand-in -----------------------------------------------------------------------


@dataclass
class LocalTextDraft:
    """`--provider local` for the text engine: the typographic engine draws the text on the
    backdrop the prompt asks for, as a draft (no image model), so the cut-out path runs offline.
    CPU-bound: the runtime runs `generate_sync` in its process pool."""

    text: str
    style: Style
    backdrop: str
    name: str = "local"
    model: str = "text-draft"
    capabilities: ImageCapabilities = field(default_factory=ImageCapabilities)
    cpu_bound: bool = True

    async def generate(self, request: ImageRequest) -> list[GeneratedImage]:
        return await asyncio.to_thread(self.generate_sync, request)

    def generate_sync(self, request: ImageRequest) -> list[GeneratedImage]:
        from reelforge.imaging.text.engine import render_styled

        canvas_size = _draft_size(request.aspect_ratio)
        text = render_styled(self.text, self.style)
        scale = min(canvas_size[0] * DRAFT_FILL / text.width, canvas_size[1] * 0.8 / text.height)
        text = text.resize((max(1, round(text.width * scale)), max(1, round(text.height * scale))),
                           Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", canvas_size, self.backdrop)
        canvas.alpha_composite(text, ((canvas.width - text.width) // 2, (canvas.height - text.height) // 2))
        buffer = io.BytesIO()
        canvas.convert("RGB").save(buffer, "PNG")
        return [GeneratedImage(buffer.getvalue(), "image/png", {"draft": True, "size": list(canvas_size)})]


def _draft_size(aspect: str) -> tuple[int, int]:
    w, h = size_for_aspect(aspect, multiple=2)
    scale = DRAFT_LONG_SIDE / max(w, h)
    return round(w * scale), round(h * scale)


# --- the job ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPlan:
    """What `--dry-run` shows: the exact request, and the plan's steps with cost and cache state."""

    prompt: TextPrompt
    provider: str
    model: str
    plan: Plan
    notes: tuple[str, ...]

    @property
    def cached(self) -> bool:
        return all(p.cached for p in self.plan.steps)


@dataclass
class TextAIJob:
    """One text in one style, drawn by `provider` and cut out."""

    text: str
    style: Style
    provider: str
    settings: Settings
    budget_usd: float | None = None
    refresh: Collection[str] = ()
    on_event: Callable[[Event], None] | None = None
    notes: list[str] = field(default_factory=list)

    def plan(self) -> TextPlan:
        generator = self._generator(planning=True)
        prompt = self._prompt(generator)
        plan = asyncio.run(self._runner(generator).plan(self._steps(generator, prompt), self.refresh))
        return TextPlan(prompt, self.provider, generator.model, plan, tuple(self.notes))

    def run(self) -> Image.Image:
        """The RGBA cut-out; `image.info["text_ai"]` says how it was made and what it cost."""
        generator = self._generator()
        prompt = self._prompt(generator)
        runner = self._runner(generator)
        options = RunOptions(self.budget_usd, None, self.refresh, title=f"text [{self.provider}] {self.text[:60]}")
        report = asyncio.run(runner.run(self._steps(generator, prompt), options))
        for outcome in report.outcomes.values():
            if outcome.state == "failed":
                raise _user_error(outcome.exception, outcome.error)
        result = report.outcomes["cutout"].result
        assert result is not None
        artifact = result.artifacts[0]
        with Image.open(io.BytesIO(runner.store.read_bytes(artifact))) as png:
            image = png.convert("RGBA")
        image.info["text_ai"] = self._summary(prompt, generator, report.summary, artifact.meta)
        return image

    # --- pieces -----------------------------------------------------------------------------

    def _generator(self, planning: bool = False) -> ImageGenerator:
        from reelforge.providers.images import IMAGE_GENERATORS

        if self.provider == "local":
            self.notes.append("--provider local draws a draft with the typographic engine (no image model), "
                              "then cuts it out like an AI answer")
            return LocalTextDraft(self.text, self.style, build_prompt(self.text, self.style).backdrop)
        limits = IMAGE_GENERATORS.limits(self.provider, self.settings)
        return choose_generator(self.provider, self.settings, limits, planning=planning, notes=self.notes)

    def _prompt(self, generator: ImageGenerator) -> TextPrompt:
        return build_prompt(self.text, self.style, generator.capabilities.aspect_ratios)

    def _runner(self, generator: ImageGenerator) -> Runner:
        from reelforge.providers.images import IMAGE_GENERATORS

        limits = {self.provider: IMAGE_GENERATORS.limits(self.provider, self.settings)}
        return generation_runner(self.settings, [GenerateImage(), CutOutText()], limits, generator,
                                 on_event=self.on_event)

    def _steps(self, generator: ImageGenerator, prompt: TextPrompt) -> list[Step]:
        params: dict[str, Any] = {"prompt": prompt.prompt, "aspect": prompt.aspect, "seed": None, "variant": 0,
                                  "negative_prompt": prompt.negative_prompt if generator.capabilities.negative_prompt
                                  else None}
        if isinstance(generator, LocalTextDraft):  # the draft depends on the whole style, not just the words
            params["draft"] = {"text": self.text, "style": self.style.model_dump(mode="json")}
        generate = Step("generate", GenerateImage.kind, params, self.provider, generator.model, label=self.text,
                        billing=("image", 1))
        cutout = Step("cutout", CutOutText.kind, {"keep_shadow": prompt.keep_shadow, "backdrop": prompt.backdrop,
                                                   "provider": self.provider, "margin": CROP_MARGIN},
                      needs=("generate",), label=self.text)
        return [generate, cutout]

    def _summary(self, prompt: TextPrompt, generator: ImageGenerator, summary: dict[str, Any],
                 cut: dict[str, Any]) -> dict[str, Any]:
        return {"engine": "ai", "provider": self.provider, "model": generator.model, "prompt": prompt.prompt,
                "backdrop": prompt.backdrop, "draft": isinstance(generator, LocalTextDraft),
                "cost_usd": summary.get("cost_usd", 0.0), "calls": summary.get("calls", 0),
                "cached": summary.get("cached", 0) == 2, "warnings": list(cut.get("warnings", [])),
                "notes": list(self.notes), "qa": cut.get("qa")}


def _user_error(exc: BaseException | None, message: str | None) -> ReelforgeError:
    """The failure as the error the user should see (a key problem, a budget, a blank image…)."""
    if isinstance(exc, ReelforgeError):
        return exc
    return StepFailed(message or "the AI text run failed", hint="see `reelforge runs list` for the run record")

