"""First + last frame → an optical-flow morph. Dense flow (OpenCV DIS) is computed both ways
once; each in-between frame forward-splats the first frame along t·flow₀₁ and the last frame
along (1−t)·flow₁₀, then blends them. Forward splatting (not backward warping) is what makes
a small object that moves far actually travel: its pixels are carried to their new place, and
where larger motion lands on a still background the larger motion wins (splat order by flow
magnitude). Pixels neither side reaches fall back to a cross-fade.

Local flow cannot see a move longer than the object itself (a ball crossing the frame does not
overlap its old place), so regions that changed between the two frames are also matched as
patches (template matching) and a confident, textured match sets the flow of that region."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from reelforge.imaging.motion.kenburns import cover, ease

FLOW_WIDTH = 480  # flow is computed at this width and scaled up (speed; large moves need a small image)


def dense_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flow a→b (h, w, 2) in pixels of the full-size frames."""
    h, w = a.shape[:2]
    scale = min(1.0, FLOW_WIDTH / w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    ga = cv2.cvtColor(cv2.resize(a, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(cv2.resize(b, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    flow = dis.calc(ga, gb, None)
    _large_moves(cv2.resize(a, size, interpolation=cv2.INTER_AREA),
                 cv2.resize(b, size, interpolation=cv2.INTER_AREA), flow)
    return cv2.resize(flow, (w, h), interpolation=cv2.INTER_NEAREST) / scale


MAX_REGIONS = 8
MIN_SCORE = 0.8  # normalised correlation a region's match needs to be trusted
MIN_TEXTURE = 6.0  # grey-level std below which a patch (flat background) cannot be located


def _large_moves(a: np.ndarray, b: np.ndarray, flow: np.ndarray) -> None:
    """Overwrite `flow` (a→b, small-image pixels) inside each changed region of `a` that is found
    again, confidently, elsewhere in `b`."""
    h, w = a.shape[:2]
    changed = (np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 24).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    regions = sorted(range(1, count), key=lambda i: -stats[i, cv2.CC_STAT_AREA])[:MAX_REGIONS]
    for i in regions:
        x, y, rw, rh, area = stats[i]
        if area < 12 or area > 0.25 * h * w:
            continue  # specks, or a change everywhere (a camera move): dense flow handles those
        pad = max(2, min(rw, rh) // 4)  # include the region's edges: they are what locates it
        x0, y0 = max(0, x - pad), max(0, y - pad)
        patch = a[y0:min(h, y + rh + pad), x0:min(w, x + rw + pad)]
        if cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).std() < MIN_TEXTURE:
            continue
        scores = cv2.matchTemplate(b, patch, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best >= MIN_SCORE and (bx, by) != (x0, y0):
            flow[labels == i] = (bx - x0, by - y0)


class _Splat:
    """Forward-splats one image along a flow scaled by t (nearest pixel; larger motion on top)."""

    def __init__(self, image: np.ndarray, flow: np.ndarray) -> None:
        h, w = image.shape[:2]
        order = np.argsort(np.hypot(flow[..., 0], flow[..., 1]).ravel(), kind="stable")
        ys, xs = np.divmod(order, w)
        self.h, self.w = h, w
        self.xs, self.ys = xs.astype(np.float32), ys.astype(np.float32)
        self.fx, self.fy = flow[..., 0].ravel()[order], flow[..., 1].ravel()[order]
        self.pixels = image.reshape(-1, 3)[order]

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        n = self.h * self.w
        tx = (self.xs + t * self.fx + 0.5).astype(np.int32)  # positive coordinates: truncation = floor
        ty = (self.ys + t * self.fy + 0.5).astype(np.int32)
        target = ty * self.w + tx
        target[(tx < 0) | (tx >= self.w) | (ty < 0) | (ty >= self.h)] = n  # off-frame: a spare slot
        out = np.zeros((n + 1, 3), np.uint8)
        hit = np.zeros(n + 1, bool)
        out[target] = self.pixels  # later writes (larger motion) win
        hit[target] = True
        return out[:n].reshape(self.h, self.w, 3), hit[:n].reshape(self.h, self.w)

def morph(first: np.ndarray, last: np.ndarray, size: tuple[int, int], frames: int) -> Iterator[np.ndarray]:
    """`frames` frames of `size` going from `first` to `last` (both RGB), eased. Frame 0 is the
    first image, the last frame is the last image."""
    a, b = cover(first, size), cover(last, size)
    forward, backward = _Splat(a, dense_flow(a, b)), _Splat(b, dense_flow(b, a))
    for n in range(frames):
        t = ease(n / max(1, frames - 1))
        if t <= 0.0:
            yield a
            continue
        if t >= 1.0:
            yield b
            continue
        yield _blend(forward.at(t), backward.at(1 - t), a, b, t)


def _blend(fa: tuple[np.ndarray, np.ndarray], fb: tuple[np.ndarray, np.ndarray], a: np.ndarray,
           b: np.ndarray, t: float) -> np.ndarray:
    (wa, ha), (wb, hb) = fa, fb
    both = (ha & hb)[..., None]
    mix = cv2.addWeighted(wa, 1 - t, wb, t, 0)
    fade = cv2.addWeighted(a, 1 - t, b, t, 0)
    out = np.where(both, mix, np.where(ha[..., None], wa, np.where(hb[..., None], wb, fade)))
    return out.astype(np.uint8)
