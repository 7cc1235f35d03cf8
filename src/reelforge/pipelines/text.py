"""Text as an image: a named style (plus overrides) and a string → an RGBA PNG.

`engine="local"` is the typographic engine (`imaging.text.engine`). `engine="ai"` has an image
provider draw the text on a plain backdrop (pure white unless the style is white itself) and cuts
it out with `key`; both steps run on the generation runtime, cached, priced and within budget
(`pipelines.text_ai`, prompt from `pipelines.text_prompt`).

`TextJob` (kind "text") is the job form of both: `aplan` says what would be done (for `ai`, the
prompt, provider and cost), `arun` runs it on a context with runtime events and a CancelToken
(the AI path is `TextAIJob`'s run; the local one a single `text.render` step).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from PIL import Image

from reelforge.atomic import save_image
from reelforge.errors import SpecError
from reelforge.imaging.text.engine import render_styled
from reelforge.spec.text_presets import get_style
from reelforge.spec.text_style import Style

if TYPE_CHECKING:
    from reelforge.pipelines.job import CancelToken, EventSink
    from reelforge.pipelines.text_ai import TextAIJob, TextPlan
    from reelforge.runtime.context import RuntimeContext
    from reelforge.settings import Settings

Engine = Literal["local", "ai"]
ENGINES = ("local", "ai")


def style_overrides(font: str | None = None, size: float | None = None, color: str | None = None,
                    width: int | None = None, height: int | None = None) -> dict[str, Any]:
    """CLI-style overrides → Style fields. `--color` paints a solid fill; `--width` wraps, and
    with `--height` too the text is auto-fitted to that box."""
    overrides: dict[str, Any] = {"font": font, "size": size}
    if color is not None:
        overrides["fill"] = {"type": "solid", "color": color}
    if width is not None and height is not None:
        overrides["box"] = (width, height)
    elif width is not None:
        overrides["max_width"] = width
    elif height is not None:
        raise SpecError("--height needs --width (the box to fit the text into)", hint="give both, e.g. --width 800 --height 200")
    return {k: v for k, v in overrides.items() if v is not None}


def resolve_style(style: str | Style | None, overrides: dict[str, Any] | None = None) -> Style:
    """A preset (by name), a Style, or the default style, with `overrides` applied and validated."""
    if isinstance(style, Style):
        return get_style(None, {**style.model_dump(exclude_unset=True), **(overrides or {})})
    return get_style(style, overrides)


def text_image(text: str, style: str | Style | None = None, overrides: dict[str, Any] | None = None,
               *, engine: str = "local", provider: str | None = None, settings: Settings | None = None,
               budget_usd: float | None = None, refresh: Collection[str] = ()) -> Image.Image:
    """Render `text` in a preset (by name), a Style, or the default style, as RGBA.

    `engine="ai"` asks `provider` (default: the configured image provider) for the image, within
    `budget_usd`; `refresh` names step kinds/ids to redo (e.g. "image.generate"). How the image
    was made and what it cost is in `image.info["text_ai"]`."""
    _check_text(text, engine)
    resolved = resolve_style(style, overrides)
    if engine == "ai":
        return ai_job(text, resolved, provider=provider, settings=settings, budget_usd=budget_usd,
                      refresh=refresh).run()
    return render_styled(text, resolved, field="font")


def plan_text_image(text: str, style: str | Style | None = None, overrides: dict[str, Any] | None = None,
                    *, provider: str | None = None, settings: Settings | None = None,
                    refresh: Collection[str] = ()) -> TextPlan:
    """What `engine="ai"` would send and cost, and whether it is cached; calls nothing, needs no key."""
    _check_text(text, "ai")
    return ai_job(text, resolve_style(style, overrides), provider=provider, settings=settings,
                  refresh=refresh).plan()


def ai_job(text: str, style: Style, *, provider: str | None = None, settings: Settings | None = None,
           budget_usd: float | None = None, refresh: Collection[str] = ()) -> TextAIJob:
    from reelforge.pipelines.text_ai import TextAIJob
    from reelforge.settings import get_settings

    if budget_usd is not None and budget_usd < 0:
        raise SpecError("--budget must not be negative", hint="give the most you want to spend in USD, e.g. 0.10")
    chosen = settings or get_settings()
    return TextAIJob(text, style, provider or chosen.image_provider, chosen, budget_usd, tuple(refresh))


def _check_text(text: str, engine: str) -> None:
    if not text.strip():
        raise SpecError("the text is empty", hint='pass the words to render, e.g. reelforge text "SALE" -o sale.png')
    if engine not in ENGINES:
        raise SpecError(f"unknown text engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")


def render_text_png(text: str, output: str | Path, style: str | Style | None = None,
                    overrides: dict[str, Any] | None = None, *, engine: str = "local", **ai: Any) -> Image.Image:
    """Render to `output` (.png), written to a temp name and renamed when complete. `ai` takes
    text_image's AI options (provider, settings, budget_usd, refresh)."""
    out = Path(output)
    if out.suffix.lower() != ".png":
        raise SpecError(f"text output must be a .png file (RGBA), got {out.name}", hint="name it e.g. sale.png")
    image = text_image(text, style, overrides, engine=engine, **ai)
    save_image(image, out)
    return image


@dataclass(frozen=True)
class LocalTextPlan:
    """What the typographic engine would do: no call, no cost."""

    text: str
    style: Style
    engine: str = "local"
    cost_usd: float = 0.0


@dataclass
class TextJob:
    """Text in a style, by either engine, optionally written to `output` (.png, atomically)."""

    text: str
    style: str | Style | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    engine: str = "local"
    output: Path | None = None
    provider: str | None = None
    settings: Settings | None = None
    budget_usd: float | None = None
    refresh: Collection[str] = ()
    on_event: EventSink | None = None

    kind: ClassVar[str] = "text"

    def _check(self) -> Style:
        _check_text(self.text, self.engine)
        if self.output is not None and Path(self.output).suffix.lower() != ".png":
            raise SpecError(f"text output must be a .png file (RGBA), got {Path(self.output).name}",
                            hint="name it e.g. sale.png")
        return resolve_style(self.style, self.overrides)

    def _ai(self, style: Style, settings: Settings) -> TextAIJob:
        return ai_job(self.text, style, provider=self.provider, settings=self.settings or settings,
                      budget_usd=self.budget_usd, refresh=self.refresh)

    async def aplan(self, ctx: RuntimeContext) -> TextPlan | LocalTextPlan:
        style = self._check()
        if self.engine == "ai":
            return await self._ai(style, ctx.settings).aplan(ctx)
        return LocalTextPlan(self.text, style)

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> Image.Image:
        style = self._check()
        if self.engine == "ai":
            image = await self._ai(style, ctx.settings).arun(ctx, events, cancel)
        else:
            image = await self._local(ctx, style, events, cancel)
        if self.output is not None:
            await asyncio.to_thread(_write_png, image, Path(self.output))
        return image

    async def _local(self, ctx: RuntimeContext, style: Style, events: EventSink | None,
                     cancel: CancelToken | None) -> Image.Image:
        from reelforge.pipelines.run_events import RunEvents

        run = RunEvents(ctx, events)
        summary: dict[str, Any] = {"engine": "local", "cost_usd": 0.0}
        async with run.run(cancel, summary, kind=self.kind, title=f"text [local] {self.text[:60]}", steps=1):
            run.emit("step.started", "render", kind="text.render", label=self.text[:60])
            image = await asyncio.to_thread(lambda: render_styled(self.text, style, field="font"))
            run.emit("step.finished", "render", kind="text.render", label=self.text[:60])
            summary["size"] = [image.width, image.height]
        return image

    def plan(self) -> TextPlan | LocalTextPlan:
        from reelforge.pipelines.job import plan_job

        if self.engine == "ai":
            return plan_job(self, self.settings)
        from reelforge.pipelines.run_events import run_light

        return run_light(self.aplan, self.settings)

    def run(self, cancel: CancelToken | None = None) -> Image.Image:
        """Blocking; the AI engine's runs are recorded like every generation run."""
        from reelforge.pipelines.job import run_job

        if self.engine == "ai":
            image: Image.Image = run_job(self, self.settings, on_event=self.on_event, cancel=cancel)
            return image
        from reelforge.pipelines.run_events import run_light

        return run_light(lambda ctx: self.arun(ctx, self.on_event, cancel), self.settings)


def _write_png(image: Image.Image, output: Path) -> None:
    save_image(image, output)
