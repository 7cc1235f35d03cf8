"""Frame layout for a scenes video: where the subject and the caption go, as geometry.

Pure functions on rectangles, no pixels. The scenes composite step calls `place_subject` with the
subject's alpha bounding box, the caption's box (measured by drawing it, `caption_rect`) and the
clip's Ken Burns move, so that on screen — at every point of the zoom — the subject:

- fills the share of the frame meant for this aspect (`SUBJECT_SHARE`: a tall bottle and a wide
  sneaker are both sized to the box, whichever side binds),
- stays clear of the caption by `gap` (captions sit in the lower band, the subject above it),
- is never cropped by the zoom (a subject near the edge would slide out as the window narrows).

Captions stay inside the platform safe zone (`SAFE_ZONES`): on 9:16 the bottom and right bands are
covered by the Shorts/Reels/TikTok caption, buttons and progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reelforge.spec.common import anchor_xy

# Insets (left, top, right, bottom) as fractions of the frame's width/height that text must keep out
# of. 9:16: TikTok/Reels/Shorts draw the account name, caption and progress bar over the lowest
# ~20 % and the like/comment/share column over the rightmost ~12 %. 16:9: title-safe 5 % plus the
# player's control bar at the bottom.
SAFE_ZONES: dict[str, tuple[float, float, float, float]] = {
    "9:16": (0.06, 0.10, 0.14, 0.22),
    "16:9": (0.05, 0.05, 0.05, 0.09),
}
DEFAULT_SAFE = (0.05, 0.06, 0.05, 0.10)
# The box (fractions of frame width, height) a subject's bounding box is fitted into at zoom 1.
SUBJECT_SHARE: dict[str, tuple[float, float]] = {
    "9:16": (0.80, 0.48),
    "16:9": (0.50, 0.62),
}
DEFAULT_SHARE = (0.62, 0.56)
EDGE = 0.04  # the subject keeps this fraction of the short side from every frame edge on screen
GAP = 0.03  # caption ↔ subject distance, fraction of the short side
SHADOW_ROOM = 0.02  # frame height below the subject kept for its contact shadow
OPTICAL_CENTRE = 0.55  # where the subject sits in its free band (0 top … 1 bottom); a touch low looks centred


@dataclass(frozen=True)
class Rect:
    """A box in pixels (left, top, right, bottom)."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def grown(self, by: float) -> Rect:
        return Rect(self.left - by, self.top - by, self.right + by, self.bottom + by)

    def intersects(self, other: Rect) -> bool:
        return self.left < other.right and other.left < self.right and self.top < other.bottom and other.top < self.bottom

    def inside(self, other: Rect, tolerance: float = 0.5) -> bool:
        return (self.left >= other.left - tolerance and self.top >= other.top - tolerance
                and self.right <= other.right + tolerance and self.bottom <= other.bottom + tolerance)

    def as_list(self) -> list[float]:
        return [round(v, 2) for v in (self.left, self.top, self.right, self.bottom)]


@dataclass(frozen=True)
class View:
    """One point of a Ken Burns move: zoom and the window's centre (fractions of the frame), clamped
    as the renderer clamps it (render/graph.py: the window never leaves the image)."""

    zoom: float
    cx: float
    cy: float

    def to_screen(self, rect: Rect, size: tuple[int, int]) -> Rect:
        w, h = size
        return Rect((rect.left / w - self.cx) * self.zoom * w + w / 2, (rect.top / h - self.cy) * self.zoom * h + h / 2,
                    (rect.right / w - self.cx) * self.zoom * w + w / 2, (rect.bottom / h - self.cy) * self.zoom * h + h / 2)


def safe_rect(aspect: str, size: tuple[int, int]) -> Rect:
    """The part of the frame where text is not covered by the platform's UI."""
    left, top, right, bottom = SAFE_ZONES.get(aspect, DEFAULT_SAFE)
    w, h = size
    return Rect(left * w, top * h, w - right * w, h - bottom * h)


def caption_fit(aspect: str, size: tuple[int, int], position: str) -> dict[str, float]:
    """`margin` and `wrap_width` for a caption text layer at `position` so that it lands inside the
    safe zone. The renderer uses one margin for both axes, so it is the widest inset on the sides the
    anchor touches; the wrap width keeps a centred block clear of both side bands, and a corner block
    (pushed in by that margin) clear of the opposite band."""
    left, top, right, bottom = SAFE_ZONES.get(aspect, DEFAULT_SAFE)
    w, h = size
    short = min(size)
    sides = [left * w if position.endswith("left") else 0, right * w if position.endswith("right") else 0,
             top * h if position.startswith("top") else 0, bottom * h if position.startswith("bottom") else 0]
    margin = max(sides) if max(sides) > 0 else max(left * w, right * w)
    wrap = 1 - 2 * max(left, right) - 0.02
    if position.endswith("left"):
        wrap = min(wrap, (w - margin - right * w) / w - 0.02)
    elif position.endswith("right"):
        wrap = min(wrap, (w - margin - left * w) / w - 0.02)
    return {"margin": round(margin / short + 0.002, 4), "wrap_width": round(max(wrap, 0.2), 4)}


def caption_rect(image_size: tuple[int, int], position: str, margin: float, size: tuple[int, int]) -> Rect:
    """Where the renderer puts a caption image (`render/prepare.py`: anchor + margin × short side)."""
    px = round(margin * min(size))
    x, y = anchor_xy(position, image_size, size, (px, px))
    return Rect(x, y, x + image_size[0], y + image_size[1])


def motion_views(motion: dict[str, Any] | None, samples: int = 11) -> list[View]:
    """The move sampled along its path as the renderer draws it (end points fitted to what the zoom
    can reach, then linear in the eased progress, so progress values 0..1 cover every frame
    whatever the easing)."""
    from reelforge.spec.timeline import KenBurns

    if not motion:
        return [View(1.0, 0.5, 0.5)]
    move = KenBurns.model_validate(motion)
    (fx0, fy0), (fx1, fy1) = move.reachable_path()
    views = []
    for i in range(samples):
        p = i / (samples - 1)
        z = move.zoom_from + (move.zoom_to - move.zoom_from) * p
        half = 1 / (2 * z)
        fx, fy = fx0 + (fx1 - fx0) * p, fy0 + (fy1 - fy0) * p
        views.append(View(z, min(max(fx, half), 1 - half), min(max(fy, half), 1 - half)))
    return views


def _allowed(lo: float, hi: float, views: list[View]) -> tuple[float, float]:
    """The frame interval (fractions) whose every point stays within [lo, hi] on screen in every view
    (screen = (x − c)·z + ½ ⇒ x ∈ [(lo − ½)/z + c, (hi − ½)/z + c]); one axis, `views` as (z, c)."""
    return (max((lo - 0.5) / v.zoom + v.cx for v in views), min((hi - 0.5) / v.zoom + v.cx for v in views))


@dataclass(frozen=True)
class SubjectPlacement:
    size: tuple[int, int]  # the subject's bounding box on the frame, pixels
    origin: tuple[int, int]  # its top-left (row, column) on the frame
    share: float  # how much of the intended box it fills (1 = all of it)

    @property
    def rect(self) -> Rect:
        (top, left), (w, h) = self.origin, self.size
        return Rect(left, top, left + w, top + h)


def place_subject(subject: tuple[int, int], size: tuple[int, int], aspect: str, caption: Rect | None,
                  views: list[View]) -> SubjectPlacement:
    """Size and position (on the frame) of a subject whose alpha bounding box is `subject` (w, h)."""
    w, h = size
    short = min(size)
    edge_x, edge_y = EDGE * short / w, EDGE * short / h
    top, bottom = edge_y, 1 - edge_y - SHADOW_ROOM
    if caption is not None:
        gap = GAP * short
        if caption.top + caption.bottom > h:  # a caption in the lower half: the subject stands above it
            bottom = min(bottom, (caption.top - gap) / h - SHADOW_ROOM)
        else:
            top = max(top, (caption.bottom + gap) / h)
    x0, x1 = _allowed(edge_x, 1 - edge_x, [View(v.zoom, v.cx, 0) for v in views])
    y0, y1 = _allowed(top, bottom, [View(v.zoom, v.cy, 0) for v in views])
    share_w, share_h = SUBJECT_SHARE.get(aspect, DEFAULT_SHARE)
    wanted = min(share_w * w / subject[0], share_h * h / subject[1])  # pixels per subject pixel
    k = max(min(wanted, (x1 - x0) * w / subject[0], (y1 - y0) * h / subject[1]), 1e-3)
    pw, ph = max(1, round(subject[0] * k)), max(1, round(subject[1] * k))
    left = min(max(0.5 - pw / w / 2, x0), x1 - pw / w)
    free = (y1 - y0) - ph / h
    row = y0 + max(free, 0) * OPTICAL_CENTRE
    return SubjectPlacement((pw, ph), (int(row * h), int(round(left * w))), round(k / wanted, 4))
