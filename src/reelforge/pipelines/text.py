"""Text as an image: a named style (plus overrides) and a string → an RGBA PNG.

`engine="local"` is the typographic engine (`imaging.text.engine`). The AI path (an image
provider draws the text on pure white, `key` cuts it out, the step is cached like every paid
call) plugs in here as `engine="ai"` once the image providers and the cut-out engine land.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from PIL import Image

from reelforge.atomic import atomic_output
from reelforge.errors import ProviderUnavailable, SpecError
from reelforge.imaging.text.engine import render_styled
from reelforge.imaging.text.presets import get_style
from reelforge.spec.text_style import Style

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


def text_image(text: str, style: str | Style | None = None, overrides: dict[str, Any] | None = None,
               *, engine: str = "local") -> Image.Image:
    """Render `text` in a preset (by name), a Style, or the default style, as RGBA."""
    if not text.strip():
        raise SpecError("the text is empty", hint='pass the words to render, e.g. reelforge text "SALE" -o sale.png')
    if engine == "ai":
        raise ProviderUnavailable("the AI text engine needs an image provider, which this version does not have yet",
                                  hint="use --engine local (the typographic engine); --engine ai arrives with the "
                                       "image providers and the cut-out engine")
    if engine != "local":
        raise SpecError(f"unknown text engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    resolved = get_style(style, overrides) if not isinstance(style, Style) else \
        get_style(None, {**style.model_dump(exclude_unset=True), **(overrides or {})})
    return render_styled(text, resolved, field="font")


def render_text_png(text: str, output: str | Path, style: str | Style | None = None,
                    overrides: dict[str, Any] | None = None, *, engine: str = "local") -> Image.Image:
    """Render to `output` (.png), written to a temp name and renamed when complete."""
    out = Path(output)
    if out.suffix.lower() != ".png":
        raise SpecError(f"text output must be a .png file (RGBA), got {out.name}", hint="name it e.g. sale.png")
    image = text_image(text, style, overrides, engine=engine)
    with atomic_output(out) as tmp:
        image.save(tmp, format="PNG")
    return image
