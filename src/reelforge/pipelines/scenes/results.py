"""What a scenes run produces: per-scene outcomes, the run's result, its stage timings, and the
error raised when the failure policy stops a run. `job` builds them, `finish` fills them in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reelforge.errors import ReelforgeError
from reelforge.runtime import Event


class ScenesFailed(ReelforgeError):
    """Scenes failed their checks and the policy is `fail`: nothing was rendered."""


@dataclass
class SceneResult:
    """How one scene ended up in the video."""

    index: int
    state: str  # generated / cached / draft-card / skipped / failed
    frame: Path | None = None
    attempts: int = 0  # rounds this scene took part in
    prompt_sent: str | None = None
    qa_flags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cutout: dict[str, Any] | None = None
    error: BaseException | None = None  # a failure regenerating cannot fix (key, budget, …)
    clip: Path | None = None  # the generated clip shown instead of the frame (a scene's `video:`)
    clip_meta: dict[str, Any] | None = None  # its duration, size, model, operation, …


@dataclass
class ScenesResult:
    output: Path | None
    contact_sheet: Path | None
    report_path: Path
    report: dict[str, Any]
    summary: str
    scenes: list[SceneResult]


class StageClock:
    """Per step kind: busy seconds (summed), wall span (first start → last end), counts. Fed
    by the event stream; the report's per-stage timings come from here."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, Any]] = {}
        self._kinds: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        kind = event.data.get("kind")
        if event.step and kind:
            self._kinds[event.step] = kind
        kind = kind or (self._kinds.get(event.step or "") if event.step else None)
        if not kind:
            return
        stage = self.stages.setdefault(kind, {"steps": 0, "cached": 0, "failed": 0, "busy_s": 0.0,
                                              "first": None, "last": None})
        if event.type == "step.started":
            stage["first"] = now if stage["first"] is None else stage["first"]
        elif event.type in ("step.finished", "step.cached", "step.failed"):
            stage["steps"] += 1
            stage["cached"] += event.type == "step.cached"
            stage["failed"] += event.type == "step.failed"
            stage["busy_s"] += float(event.data.get("seconds") or 0.0)
            stage["last"] = now

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = {"steps": 1, "cached": 0, "failed": 0, "busy_s": seconds, "first": None, "last": None,
                             "wall_s": seconds}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        out = {}
        for kind, s in self.stages.items():
            wall = s.get("wall_s")
            if wall is None:
                wall = (s["last"] - s["first"]) if s["first"] is not None and s["last"] is not None else 0.0
            out[kind] = {"steps": s["steps"], "cached": s["cached"], "failed": s["failed"],
                         "busy_s": round(s["busy_s"], 3), "wall_s": round(wall, 3)}
        return out
