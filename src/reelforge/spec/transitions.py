"""Transition names: every ffmpeg `xfade` transition (ffmpeg 7–9) plus `cut`."""

from __future__ import annotations

from typing import Literal, get_args

XfadeName = Literal[
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright",
    "slideup", "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite",
    "radial", "smoothleft", "smoothright", "smoothup", "smoothdown", "circleopen",
    "circleclose", "vertopen", "vertclose", "horzopen", "horzclose", "dissolve", "pixelize",
    "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice",
    "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev",
    "zoomin", "fadefast", "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind", "coverleft",
    "coverright", "coverup", "coverdown", "revealleft", "revealright", "revealup", "revealdown",
]
TransitionName = Literal[XfadeName, "cut"]
XFADE_NAMES: tuple[str, ...] = get_args(XfadeName)
TRANSITION_NAMES: tuple[str, ...] = (*XFADE_NAMES, "cut")
