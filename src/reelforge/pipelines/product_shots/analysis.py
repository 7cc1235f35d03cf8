"""The local half of product-shots: sample the video once, split it into shots, estimate each
still shot's clean plate and subject masks, score every frame, keep the top candidates per shot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reelforge.imaging import frames as F
from reelforge.pipelines.product_shots.sampling import DecodeControl, Sampled, sample_frames
from reelforge.pipelines.product_shots.source import VideoSource


@dataclass
class Analysis:
    source: VideoSource
    sampled: Sampled
    shots: list[int]
    plates: dict[int, F.ShotPlate]
    masks: list[np.ndarray | None]  # subject mask per frame (still shots only)
    scores: list[F.FrameScore]
    candidates: list[F.FrameScore]
    timings: dict[str, float] = field(default_factory=dict)

    def shot_frames(self, shot: int) -> list[int]:
        return [i for i, s in enumerate(self.shots) if s == shot]


def analyse(source: VideoSource, folder: Path, *, fps: float, max_frames: int, per_shot: int,
            min_gap_s: float, control: DecodeControl | None = None) -> Analysis:
    t0 = time.perf_counter()
    control = control or DecodeControl()
    sampled = sample_frames(source, folder, fps=fps, max_frames=max_frames, control=control)
    control.check()  # cancelled as the decode ended: no scoring
    t1 = time.perf_counter()
    shots = F.detect_shots(sampled.frames)
    plates = F.shot_plates(sampled.frames, shots)
    masks: list[np.ndarray | None] = [
        F.plate_mask(frame, plates[shot].plate) if shot in plates and plates[shot].static else None
        for frame, shot in zip(sampled.frames, shots, strict=True)]
    scores = F.score_frames(sampled.frames, sampled.times, shots, masks)
    candidates = F.select_candidates(scores, per_shot, min_gap_s)
    t2 = time.perf_counter()
    return Analysis(source, sampled, shots, plates, masks, scores, candidates,
                    {"sample_s": round(t1 - t0, 3), "score_s": round(t2 - t1, 3)})
