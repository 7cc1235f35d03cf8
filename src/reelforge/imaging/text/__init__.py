"""Text as images: shaping (raqm/HarfBuzz), per-character font fallback, bidi, wrapping.

- `render_text(text, TextStyle)`: the timeline renderer's text layers (stroke, shadow, box).
- `render_styled(text, Style)`: the effects engine (gradient/metallic fills, outlines, shadows,
  glow, 3D extrusion, bevel, letter spacing, auto-fit, badges) behind `reelforge text` and
  text overlays; `presets.py` holds the named looks.
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
from reelforge.imaging.text.simple import TextStyle, render_text

__all__ = ["Run", "Setter", "TextStyle", "bidi_levels", "clusters", "is_rtl", "render_text", "split_runs",
           "visual_order", "wrap"]
