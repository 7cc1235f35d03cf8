"""Text as an image: a named style (plus overrides) and a string → an RGBA PNG.

`engine="local"` is the typographic engine (`imaging.text.engine`). `engine="ai"` has an image
provider draw the text on a plain backdrop (pure white unless the style is white itself) and cuts
it out with `key`; both steps run on the generation runtime, cached, priced and within budget
(`pipelines.text_ai`, prompt from `pipelines.text_prompt`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image

from reelforge.atomic import save_image
from reelforge.errors import SpecError
from reelforge.imaging.text.engine import render_styled
from reelforge.spec.text_presets import get_style
from reelforge.spec.text_style import Style

if TYPE_CHECKING:
    from reelforge.pipelines.text_ai import TextAIJob, TextPlan
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
