"""Cut-out quality and speed against exact ground truth, side by side in one run.

Methods: reelforge auto / key / ml / refine, rembg with u2netp as-is (`rembg.remove`), and the
HSV threshold from our research notes (`cv2.inRange(hsv, [0,0,200], [180,30,255])`, inverted).
Splits (bench/cutout_data.py): a white, b off-white + noise + soft shadow, c grey gradient JPEG
q85, d natural photos. Metrics per split (means over the subjects): alpha MAE (0-255), IoU at
0.5, edge-band alpha error (0-255, band = ground-truth partial alpha dilated 3 px), halo (edge
band of the cut-out over black vs the truth over black, 0-255), seconds per image.

    .venv/bin/python bench/bench_cutout.py [--size 1024] [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.cutout_data import SPLITS, SUBJECTS, Sample, sample  # noqa: E402

RESULTS = Path(__file__).parent / "results"
METHODS = ("auto", "key", "ml", "refine", "rembg-u2netp", "hsv-notes")


def rembg_remove(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image
    from rembg import new_session, remove

    from reelforge.imaging.cutout import models

    models.point_rembg_here()
    global _REMBG
    if "_REMBG" not in globals():
        _REMBG = new_session("u2netp")
    out = np.asarray(remove(Image.fromarray(image), session=_REMBG), np.float32) / 255
    return out[..., 3], out[..., :3]


def hsv_notes(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    white = cv2.inRange(hsv, np.array([0, 0, 200]), np.array([180, 30, 255]))
    return (255 - white).astype(np.float32) / 255, image.astype(np.float32) / 255


def reelforge(method: str, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from reelforge.imaging.cutout.engine import cut_local

    rgba = np.asarray(cut_local(image, method).image, np.float32) / 255
    return rgba[..., 3], rgba[..., :3]


def run(method: str, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if method == "rembg-u2netp":
        return rembg_remove(image)
    if method == "hsv-notes":
        return hsv_notes(image)
    return reelforge(method, image)


def metrics(s: Sample, alpha: np.ndarray, fg: np.ndarray) -> dict[str, float]:
    partial = ((s.alpha > 0.01) & (s.alpha < 0.99)).astype(np.uint8)
    band = cv2.dilate(partial, np.ones((7, 7), np.uint8)).astype(bool)
    err = np.abs(alpha - s.alpha)
    over_black = np.abs(alpha[..., None] * fg - s.alpha[..., None] * s.foreground).mean(axis=2)
    union = ((alpha > 0.5) | (s.alpha > 0.5)).sum()
    return {"mae": float(err.mean() * 255), "iou": float(((alpha > 0.5) & (s.alpha > 0.5)).sum() / max(union, 1)),
            "edge": float(err[band].mean() * 255), "halo": float(over_black[band].mean() * 255)}


def quality(size: int) -> dict[str, dict[str, dict[str, float]]]:
    table: dict[str, dict[str, dict[str, float]]] = {}
    for split in SPLITS:
        samples = [sample(split, name, size) for name in SUBJECTS]
        for method in METHODS:
            run(method, samples[0].image)  # warm-up: sessions, numba kernels
            rows = []
            for s in samples:
                t = time.perf_counter()
                alpha, fg = run(method, s.image)
                rows.append({**metrics(s, alpha, fg), "seconds": time.perf_counter() - t})
            table.setdefault(split, {})[method] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            # per subject too: one inherently ambiguous subject (a clear glass bottle) can dominate a mean
            table[split][method]["subjects"] = {name: {"mae": round(r["mae"], 3), "halo": round(r["halo"], 3)}
                                                for name, r in zip(SUBJECTS, rows, strict=True)}
            print(f"{split} {method:13} " + " ".join(f"{k} {v:7.3f}" for k, v in table[split][method].items()
                                                     if k != "subjects"), flush=True)
    return table


def batch(count: int, size: int) -> dict[str, float]:
    """A batch of `count` images through `reelforge cutout -j N` style workers: wall time and CPU use."""
    import tempfile

    from PIL import Image

    from reelforge.pipelines.cutout import CutoutOptions, cutout_files

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(count):
            s = sample(SPLITS[i % 3], SUBJECTS[i % len(SUBJECTS)], size, seed=i)
            Image.fromarray(s.image).save(src / f"img-{i:03d}.png")
        out: dict[str, float] = {}
        for workers in (1, os.cpu_count() or 1):
            before = os.times()
            t = time.perf_counter()
            reports = cutout_files([src], Path(tmp) / f"out{workers}", CutoutOptions(method="auto"), workers=workers)
            wall = time.perf_counter() - t
            after = os.times()
            cpu = (after.children_user + after.children_system + after.user + after.system
                   - before.children_user - before.children_system - before.user - before.system)
            assert all(r.ok for r in reports)
            out[f"wall_s_j{workers}"] = wall
            out[f"cores_busy_j{workers}"] = cpu / wall
            print(f"batch of {count} at {size}px, -j {workers}: {wall:.1f} s, {cpu / wall:.2f} cores busy", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()
    result = {"size": args.size, "quality": quality(args.size)}
    if args.batch:
        result["batch"] = batch(args.batch, args.batch_size)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cutout.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
