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

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

from reelforge.imaging.motion.kenburns import cover, ease

FLOW_WIDTH = 480  # flow is computed at this width and scaled up (speed; large moves need a small image)


def dense_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flow a→b (h, w, 2) in pixels of the full-size frames."""
    h, w = a.shape[:2]
    small, scale = flow_small(a, b)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)) / scale


def flow_small(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Flow a→b at the flow width, in its own (small) pixels, and the scale small/full."""
    h, w = a.shape[:2]
    scale = min(1.0, FLOW_WIDTH / w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    ga = cv2.cvtColor(cv2.resize(a, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(cv2.resize(b, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    flow = dis.calc(ga, gb, None)
    _large_moves(cv2.resize(a, size, interpolation=cv2.INTER_AREA),
                 cv2.resize(b, size, interpolation=cv2.INTER_AREA), flow)
    return flow, scale


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


class _Reverse:
    """Forward-splats the *flow* (not the pixels) at the flow's small size — larger motion on
    top — which gives, for every output pixel, where to sample the source; the full-size frame
    is then one `cv2.remap`. Same result as splatting pixels, a fraction of the work."""

    def __init__(self, image: np.ndarray, flow: np.ndarray, scale: float) -> None:
        self.image = image
        self.full_h, self.full_w = image.shape[:2]
        self.h, self.w = flow.shape[:2]
        self.scale = scale
        order = np.argsort(np.hypot(flow[..., 0], flow[..., 1]).ravel(), kind="stable")
        ys, xs = np.divmod(order, self.w)
        self.xs, self.ys = xs.astype(np.float32), ys.astype(np.float32)
        self.fx, self.fy = flow[..., 0].ravel()[order], flow[..., 1].ravel()[order]
        gy, gx = np.mgrid[0:self.full_h, 0:self.full_w].astype(np.float32)
        self.gx, self.gy = gx, gy

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        n = self.h * self.w
        tx = (self.xs + t * self.fx + 0.5).astype(np.int32)
        ty = (self.ys + t * self.fy + 0.5).astype(np.int32)
        target = ty * self.w + tx
        target[(tx < 0) | (tx >= self.w) | (ty < 0) | (ty >= self.h)] = n
        back = np.zeros((n + 1, 2), np.float32)
        hit = np.zeros(n + 1, np.uint8)
        back[target, 0] = -t * self.fx / self.scale  # later writes (larger motion) win
        back[target, 1] = -t * self.fy / self.scale
        hit[target] = 1
        size = (self.full_w, self.full_h)
        full = cv2.resize(back[:n].reshape(self.h, self.w, 2), size, interpolation=cv2.INTER_NEAREST)
        mask = cv2.resize(hit[:n].reshape(self.h, self.w), size, interpolation=cv2.INTER_NEAREST)
        dx, dy = cv2.split(full)
        warped = cv2.remap(self.image, cv2.add(self.gx, dx), cv2.add(self.gy, dy), cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(warped), mask


def morph(first: np.ndarray, last: np.ndarray, size: tuple[int, int], frames: int,
          ahead: int = 2) -> Iterator[np.ndarray]:
    """`frames` frames of `size` going from `first` to `last` (both RGB), eased. Frame 0 is the
    first image, the last frame is the last image. `ahead`: frames whose two warps are already
    running while the current one is blended and handed on (0 = one frame at a time; the
    frames are the same either way)."""
    a, b = cover(first, size), cover(last, size)
    forward, backward = _Reverse(a, *flow_small(a, b)), _Reverse(b, *flow_small(b, a))
    times = [ease(n / max(1, frames - 1)) for n in range(frames)]
    # the two sides of a frame on two threads (OpenCV and NumPy release the GIL); the warps of
    # the next frames run while this one is blended and encoded, so no core waits for the other
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="reelforge-morph") as pool:
        running: deque[tuple[float, Future[Any], Future[Any]] | float] = deque()

        def start(t: float) -> None:
            inner = 0.0 < t < 1.0
            running.append((t, pool.submit(forward.at, t), pool.submit(backward.at, 1 - t)) if inner else t)

        started = 0
        for n in range(frames):
            while started <= min(n + ahead, frames - 1):
                start(times[started])
                started += 1
            item = running.popleft()
            if isinstance(item, float):
                yield a if item <= 0.0 else b
                continue
            t, fa, fb = item
            yield _blend(fa.result(), fb.result(), a, b, t)


def _blend(fa: tuple[np.ndarray, np.ndarray], fb: tuple[np.ndarray, np.ndarray], a: np.ndarray,
           b: np.ndarray, t: float) -> np.ndarray:
    """Both sides reached a pixel: mix them; one side: take it; neither: cross-fade the ends."""
    (wa, ha), (wb, hb) = fa, fb
    ha8, hb8 = ha.astype(np.uint8), hb.astype(np.uint8)
    out = cv2.addWeighted(wa, 1 - t, wb, t, 0)
    cv2.copyTo(wa, cv2.subtract(ha8, hb8), out)  # a only
    cv2.copyTo(wb, cv2.subtract(hb8, ha8), out)  # b only
    neither = (ha8 | hb8) ^ 1
    if neither.any():
        cv2.copyTo(cv2.addWeighted(a, 1 - t, b, t, 0), neither, out)
    return np.asarray(out)
