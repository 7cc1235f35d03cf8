"""A synthetic product video with known truth, for tests and bench/bench_product_shots.py: RGBA
products with exact alpha moving over textured backdrops (the camera holds still), a
motion-blurred stretch in every shot, and a hard scene cut between shots."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from reelforge.ffmpeg.binary import ffmpeg_path

THUMB = 160


@dataclass
class Product:
    name: str
    rgba: np.ndarray  # float 0..1, exact alpha
    colour: tuple[int, int, int]


@dataclass
class Truth:
    size: tuple[int, int]
    fps: float
    frames: int
    products: list[Product]
    shot_of: list[int] = field(default_factory=list)  # frame → shot (= product index)
    origin: list[tuple[int, int]] = field(default_factory=list)  # frame → product top-left (x, y)
    blurred: list[bool] = field(default_factory=list)
    thumbs: list[np.ndarray] = field(default_factory=list)  # 160 px wide, to tell which frame a sample is

    def match(self, rgb: np.ndarray) -> int:
        """The source frame an RGB sample (any size) was taken from."""
        small = cv2.resize(rgb, (THUMB, round(THUMB * self.size[1] / self.size[0])),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        return int(np.argmin([np.abs(t - small).mean() for t in self.thumbs]))

    def alpha_in_frame(self, frame: int) -> np.ndarray:
        """The product's exact alpha placed in the full frame."""
        w, h = self.size
        out = np.zeros((h, w), np.float32)
        p = self.products[self.shot_of[frame]].rgba[..., 3]
        x, y = self.origin[frame]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + p.shape[1], w), min(y + p.shape[0], h)
        out[y0:y1, x0:x1] = p[y0 - y:y1 - y, x0 - x:x1 - x]
        return out

    def time_of(self, frame: int) -> float:
        return frame / self.fps

    def frame_at(self, t: float) -> int:
        return min(self.frames - 1, round(t * self.fps))

    def fully_visible(self, frame: int) -> bool:
        """The product's visible pixels (alpha > 0) all lie inside the frame."""
        w, h = self.size
        alpha = self.products[self.shot_of[frame]].rgba[..., 3]
        ys, xs = np.nonzero(alpha > 0)
        x, y = self.origin[frame]
        return x + xs.min() >= 0 and y + ys.min() >= 0 and x + xs.max() < w and y + ys.max() < h

    def good_frames(self, product: int) -> list[int]:
        """Frames where the product is fully visible and not blurred (the oracle's best set)."""
        return [i for i in range(self.frames)
                if self.shot_of[i] == product and self.fully_visible(i) and not self.blurred[i]]


def _supersampled(draw, size: tuple[int, int], k: int = 4) -> np.ndarray:  # type: ignore[no-untyped-def]
    big = np.zeros((size[1] * k, size[0] * k), np.uint8)
    draw(big, k)
    return cv2.resize(big.astype(np.float32) / 255, size, interpolation=cv2.INTER_AREA)


def bottle(h: int, colour: tuple[int, int, int]) -> Product:
    w = int(h * 0.45)

    def draw(img: np.ndarray, k: int) -> None:
        cv2.rectangle(img, (int(w * 0.1 * k), int(h * 0.3 * k)), (int(w * 0.9 * k), int(h * 0.98 * k)), 255, -1)
        cv2.rectangle(img, (int(w * 0.35 * k), int(h * 0.05 * k)), (int(w * 0.65 * k), int(h * 0.35 * k)), 255, -1)

    alpha = _supersampled(draw, (w, h))
    return Product("bottle", _paint(alpha, colour), colour)


def mug(h: int, colour: tuple[int, int, int]) -> Product:
    w = int(h * 1.1)

    def draw(img: np.ndarray, k: int) -> None:
        cv2.rectangle(img, (int(w * 0.05 * k), int(h * 0.05 * k)), (int(w * 0.75 * k), int(h * 0.95 * k)), 255, -1)
        cv2.ellipse(img, (int(w * 0.78 * k), int(h * 0.5 * k)), (int(w * 0.18 * k), int(h * 0.25 * k)), 0, 0, 360,
                    255, int(h * 0.08 * k))

    alpha = _supersampled(draw, (w, h))
    return Product("mug", _paint(alpha, colour), colour)


def _paint(alpha: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """A flat colour with a label stripe and shading, so sharpness is measurable on the product."""
    h, w = alpha.shape
    rgb = np.ones((h, w, 3), np.float32) * np.array(colour, np.float32) / 255
    rgb *= (0.75 + 0.25 * np.linspace(0, 1, w))[None, :, None]
    band = slice(int(h * 0.55), int(h * 0.7))
    rgb[band] = 0.95
    for x in range(int(w * 0.15), int(w * 0.85), max(3, w // 25)):  # fine print on the label
        rgb[int(h * 0.58):int(h * 0.67), x:x + 1] = 0.1
    return np.dstack([rgb, alpha])


def backdrop(size: tuple[int, int], seed: int, tint: tuple[int, int, int]) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 3)
    noise = (noise - noise.min()) / max(float(np.ptp(noise)), 1e-6)
    grain = rng.random((h, w)).astype(np.float32) * 0.15
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = 0.5 + 0.5 * np.sin((xx + yy) / max(w, h) * 40)
    base = 0.35 + 0.3 * noise + 0.15 * stripes + grain
    return np.clip(base[..., None] * np.array(tint, np.float32) / 255, 0, 1)


def make_video(path: Path, size: tuple[int, int] = (640, 360), fps: float = 10, seconds: float = 8,
               blur_spans: tuple[tuple[float, float], ...] = ((0.25, 0.45), (0.6, 0.75))) -> Truth:
    """Two shots (a red bottle, then a blue mug), each half the video. `blur_spans` are fractions
    of the video whose frames get a strong horizontal motion blur."""
    w, h = size
    products = [bottle(int(h * 0.5), (200, 40, 40)), mug(int(h * 0.35), (40, 70, 200))]
    plates = [backdrop(size, 1, (235, 225, 200)), backdrop(size, 2, (170, 210, 170))]
    total = round(fps * seconds)
    truth = Truth(size, fps, total, products)
    kernel = np.zeros((1, max(3, w // 25)), np.float32)
    kernel[:] = 1 / kernel.size
    argv = [ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "16", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(total):
        shot = 0 if i < total // 2 else 1
        local = (i - shot * (total // 2)) / max(1, total // 2 - 1)
        p = products[shot].rgba
        # enters from the left edge (cropped), crosses, stays inside for most of the shot
        x = round(-p.shape[1] * 0.5 + local * (w * 0.85 - p.shape[1] * 0.5))
        y = round(h * 0.55 - p.shape[0] / 2 + 10 * np.sin(local * 6))
        frame = _composite(plates[shot], p, x, y)
        blurred = any(a * total <= i < b * total for a, b in blur_spans)
        if blurred:
            frame = cv2.filter2D(frame, -1, kernel)
        truth.shot_of.append(shot)
        truth.origin.append((x, y))
        truth.blurred.append(blurred)
        rgb8 = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
        truth.thumbs.append(cv2.resize(rgb8, (THUMB, round(THUMB * h / w)), interpolation=cv2.INTER_AREA)
                            .astype(np.float32))
        proc.stdin.write(rgb8.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg could not encode the synthetic video")
    return truth


def _composite(plate: np.ndarray, rgba: np.ndarray, x: int, y: int) -> np.ndarray:
    frame = plate.copy()
    h, w = plate.shape[:2]
    ph, pw = rgba.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
    if x1 <= x0 or y1 <= y0:
        return frame
    part = rgba[y0 - y:y1 - y, x0 - x:x1 - x]
    a = part[..., 3:]
    frame[y0:y1, x0:x1] = part[..., :3] * a + frame[y0:y1, x0:x1] * (1 - a)
    return frame
