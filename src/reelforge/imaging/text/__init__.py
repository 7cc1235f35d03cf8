"""Text as images: shaping (raqm/HarfBuzz), per-character font fallback, bidi, wrapping.

- `render_plain_text(text, PlainTextStyle)` (`plain.py`): one colour, outline, shadow, box — labels
  and timeline text layers written without a `style`.
- `render_styled(text, Style)`: the effects engine (gradient/metallic fills, outlines, shadows,
  glow, 3D extrusion, bevel, letter spacing, auto-fit, badges) behind `reelforge text` and
  text overlays and `style:` on text layers; `spec/text_presets.yaml` holds the named looks.
"""

from __future__ import annotations

from reelforge.imaging.text.layout import (
    Run,
    Setter,
    bidi_levels,
    clusters,
    is_rtl,
    split_runs,
    visual_order,
    wrap,
)
from reelforge.imaging.text.plain import PlainTextStyle, render_plain_text

__all__ = ["PlainTextStyle", "Run", "Setter", "bidi_levels", "clusters", "is_rtl", "render_plain_text",
           "split_runs", "visual_order", "wrap"]
