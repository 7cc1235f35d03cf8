"""What the renderer works from: a timeline resolved into frame counts, prepared stills and
probed videos. Built by `prepare.py`, turned into an ffmpeg command by `graph.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from reelforge.spec.timeline import KenBurns, Music


@dataclass(frozen=True)
class Window:
    """When a layer shows inside its clip, in frames."""

    start: int
    frames: int


@dataclass(frozen=True)
class StillLayer:
    """A prepared still (PNG written by reelforge, or an untouched source file) at (x, y)."""

    path: str
    x: int
    y: int
    window: Window
    opaque_full: bool = False  # covers the whole canvas with no transparency
    fade_in: float = 0.0
    fade_out: float = 0.0


@dataclass(frozen=True)
class MotionLayer:
    """A Ken Burns move over a prepared still of `size`, shown at `box` size at (x, y)."""

    path: str
    x: int
    y: int
    size: tuple[int, int]
    box: tuple[int, int]
    motion: KenBurns
    window: Window
    opaque_full: bool = False


@dataclass(frozen=True)
class VideoLayer:
    path: str
    x: int
    y: int
    box: tuple[int, int]
    fit: str
    trim_in: float
    trim_out: float | None
    loop: bool
    speed: float
    window: Window
    audio: bool  # use this layer's audio
    volume: float
    opaque_full: bool = False


PreparedLayer = StillLayer | MotionLayer | VideoLayer


@dataclass(frozen=True)
class ClipPlan:
    frames: int
    layers: tuple[PreparedLayer, ...]
    transition: str | None = None  # into the next clip; None = cut
    transition_frames: int = 0


@dataclass(frozen=True)
class RenderPlan:
    width: int
    height: int
    fps: Fraction
    background: str
    clips: tuple[ClipPlan, ...]
    music: Music | None = None
    clip_audio: bool = True
    clip_volume: float = 1.0
    alpha: bool = False
    interpolation: str = "cubic"
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_frames(self) -> int:
        return sum(c.frames for c in self.clips) - sum(c.transition_frames for c in self.clips[:-1])

    @property
    def duration(self) -> float:
        return float(self.total_frames / self.fps)

    def clip_starts(self) -> list[int]:
        """First frame of each clip on the output timeline."""
        starts, at = [], 0
        for clip in self.clips:
            starts.append(at)
            at += clip.frames - clip.transition_frames
        return starts
