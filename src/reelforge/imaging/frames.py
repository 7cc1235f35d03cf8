"""Frame scoring for product videos, before any model sees a frame.

Every sampled frame gets local scores — sharpness (variance of the Laplacian, on the subject
when one is known), exposure, motion (difference to its neighbours), subject size and centring —
and frames are grouped into shots at scene cuts. `select_candidates` keeps the top K of each
shot with temporal diversity (no two picks closer than a gap), so the frames a vision model
(or the local finder) looks at are already the sharp, well-exposed, still ones.

All functions work on small analysis frames (H×W×3 uint8 RGB, ~480 px wide): the decisions do
not need full resolution, and the scores stay comparable between videos of different sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

CUT_THRESHOLD = 0.45  # Bhattacharyya distance of HSV histograms between neighbours that starts a shot
SUBJECT_DIFF = 28  # 8-bit colour difference to the shot's clean plate that counts as subject
MIN_PLATE_FRAMES = 5  # fewer frames in a shot than this: no temporal median plate


@dataclass
class FrameScore:
    """Local scores of one sampled frame (all comparable within a shot)."""

    index: int
    time_s: float
    shot: int = 0
    sharpness: float = 0.0  # variance of the Laplacian (subject region when known)
    exposure: float = 0.0  # 0 (clipped/dark) .. 1 (well exposed)
    motion: float = 0.0  # mean abs difference to the neighbouring frames, 0..255
    subject_size: float = 0.0  # share of the frame covered by the subject mask
    centring: float = 0.0  # 1 = subject centred, 0 = at a corner
    cropped: bool = False  # the subject touches the frame edge (not fully visible)
    score: float = 0.0  # the combined rank score within the shot

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}


@dataclass
class ShotPlate:
    """A shot's clean plate (temporal median) and whether the camera held still enough to trust it."""

    shot: int
    plate: np.ndarray  # analysis-size RGB uint8
    static: bool
    frames: list[int] = field(default_factory=list)


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _hist(frame: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist).flatten()


def detect_shots(frames: list[np.ndarray], threshold: float = CUT_THRESHOLD) -> list[int]:
    """The shot number of each frame: a jump in the colour histogram between neighbours is a cut."""
    shots, current, previous = [], 0, None
    for frame in frames:
        hist = _hist(frame)
        if previous is not None and cv2.compareHist(previous, hist, cv2.HISTCMP_BHATTACHARYYA) > threshold:
            current += 1
        shots.append(current)
        previous = hist
    return shots


def shot_plates(frames: list[np.ndarray], shots: list[int]) -> dict[int, ShotPlate]:
    """Each shot's temporal median. It is a clean plate of the backdrop when the camera held
    still and the product moved: then most of the border agrees with every frame."""
    plates: dict[int, ShotPlate] = {}
    for shot in sorted(set(shots)):
        members = [i for i, s in enumerate(shots) if s == shot]
        if len(members) < MIN_PLATE_FRAMES:
            continue
        stack = np.stack([frames[i] for i in members[:: max(1, len(members) // 40)]])
        plate = np.median(stack, axis=0).astype(np.uint8)
        border_agree = np.mean([_border_match(frames[i], plate) for i in members])
        plates[shot] = ShotPlate(shot, plate, bool(border_agree > 0.8), members)
    return plates


def _border_match(frame: np.ndarray, plate: np.ndarray) -> float:
    diff = np.abs(frame.astype(np.int16) - plate.astype(np.int16)).max(axis=2)
    band = max(2, min(frame.shape[:2]) // 20)
    edges = np.concatenate([diff[:band].ravel(), diff[-band:].ravel(), diff[:, :band].ravel(), diff[:, -band:].ravel()])
    return float((edges < SUBJECT_DIFF).mean())


def plate_mask(frame: np.ndarray, plate: np.ndarray, threshold: int = SUBJECT_DIFF) -> np.ndarray:
    """The pixels that differ from the clean plate: the product (bool mask, cleaned of specks)."""
    diff = np.abs(frame.astype(np.int16) - plate.astype(np.int16)).max(axis=2)
    mask = (diff > threshold).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    return _fill_holes(mask).astype(bool)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Holes enclosed by the mask (a product whose middle matches the backdrop colour) are filled."""
    padded = cv2.copyMakeBorder(mask * 255, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    canvas = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, canvas, (0, 0), 255)
    holes = padded[1:-1, 1:-1] == 0
    return np.where(holes, 1, mask).astype(np.uint8)


def sharpness(gray_frame: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian, over the (slightly grown) mask when one is given."""
    lap = cv2.Laplacian(gray_frame, cv2.CV_32F, ksize=3)
    if mask is not None and mask.sum() >= 64:
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        return float(lap[grown].var())
    return float(lap.var())


def exposure(gray_frame: np.ndarray) -> float:
    """1 for a well-exposed frame; lower with clipped highlights/shadows and a mean far from mid-grey."""
    clipped = float(((gray_frame < 6) | (gray_frame > 249)).mean())
    offset = abs(float(gray_frame.mean()) / 255 - 0.5)
    return max(0.0, 1.0 - 2.0 * clipped - max(0.0, offset - 0.25) * 2)


def subject_geometry(mask: np.ndarray) -> tuple[float, float, bool]:
    """(share of frame, centring 0..1, touches the border) of a subject mask."""
    if mask is None or not mask.any():
        return 0.0, 0.0, False
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean() / h - 0.5, xs.mean() / w - 0.5
    centring = 1.0 - min(1.0, float(np.hypot(cx, cy)) / np.hypot(0.5, 0.5))
    touches = bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
    return float(mask.mean()), centring, touches


def score_frames(frames: list[np.ndarray], times: list[float], shots: list[int] | None = None,
                 masks: list[np.ndarray | None] | None = None) -> list[FrameScore]:
    """Scores for every frame; `masks` (subject per frame, e.g. from the clean plate) focus the
    sharpness on the product and give its size, centring and whether it is cropped."""
    shots = shots if shots is not None else detect_shots(frames)
    grays = [gray(f) for f in frames]
    scores: list[FrameScore] = []
    for i, g in enumerate(grays):
        mask = masks[i] if masks else None
        neighbours = [grays[j] for j in (i - 1, i + 1) if 0 <= j < len(grays) and shots[j] == shots[i]]
        motion = float(np.mean([cv2.absdiff(g, n).mean() for n in neighbours])) if neighbours else 0.0
        size, centring, cropped = subject_geometry(mask) if mask is not None else (0.0, 0.0, False)
        scores.append(FrameScore(i, times[i], shots[i], sharpness(g, mask), exposure(g), motion, size, centring,
                                 cropped))
    _combine(scores)
    return scores


def _z(values: list[float]) -> np.ndarray:
    arr = np.asarray(values, np.float64)
    spread = arr.std()
    return (arr - arr.mean()) / spread if spread > 1e-9 else np.zeros_like(arr)


def _combine(scores: list[FrameScore]) -> None:
    """One rank score per frame, normalised within its shot: sharpness dominates; blur from
    motion, bad exposure, a cropped or tiny off-centre subject count against it."""
    for shot in {s.shot for s in scores}:
        members = [s for s in scores if s.shot == shot]
        sharp = _z([np.log1p(s.sharpness) for s in members])
        motion = _z([s.motion for s in members])
        for s, z_sharp, z_motion in zip(members, sharp, motion, strict=True):
            s.score = float(1.0 * z_sharp - 0.3 * z_motion + 1.0 * (s.exposure - 1.0) + 0.3 * s.centring
                            + 0.5 * min(s.subject_size * 5, 1.0) - 1.5 * s.cropped)


def select_candidates(scores: list[FrameScore], per_shot: int = 3, min_gap_s: float = 1.0) -> list[FrameScore]:
    """The best `per_shot` frames of every shot, no two within `min_gap_s` of each other
    (greedy by score), in time order."""
    chosen: list[FrameScore] = []
    for shot in sorted({s.shot for s in scores}):
        picked: list[FrameScore] = []
        for s in sorted((s for s in scores if s.shot == shot), key=lambda s: -s.score):
            if len(picked) == per_shot:
                break
            if all(abs(s.time_s - p.time_s) >= min_gap_s for p in picked):
                picked.append(s)
        chosen.extend(picked)
    return sorted(chosen, key=lambda s: s.index)
