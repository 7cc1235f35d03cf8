"""product-shots against known truth, side by side with the method of our research notes.

A synthetic product video (tests/product_video.py: two RGBA products with exact alpha over
textured backdrops, a still camera, motion-blurred stretches, a cut; default 60 s at 640x360,
10 fps) is run through `ProductShotsJob` with the offline `local` vision. Measured:

- products found: precision / recall against the two true products (a found product is a hit
  when its best frame shows that product; a second product for the same truth is a false positive)
- best-frame sharpness ÷ the oracle's: Laplacian variance of the product region in the source
  frame chosen, over the best such value of any frame where the product is whole
- cut-out alpha MAE (0-255) against the exact alpha on the crop
- wall time per minute of video (whole job; and sampling + scoring alone on a 60 s 1080p lavfi
  `testsrc2` video)

The notes' method, emulated generously: frames at 1 fps (max 120), every 20th shown to a
model that we let pick the sharpest frame of each product perfectly among those it sees.

    .venv/bin/python bench/bench_product_shots.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.product_video import Truth, make_video  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def decode_all(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    import subprocess

    from reelforge.ffmpeg.binary import ffmpeg_path

    w, h = size
    raw = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3))


def product_sharpness(frame: np.ndarray, alpha: np.ndarray) -> float:
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    region = cv2.dilate((alpha > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return float(lap[region].var()) if region.any() else 0.0


def oracle(truth: Truth, decoded: list[np.ndarray]) -> dict[int, float]:
    best: dict[int, float] = {}
    for i in range(truth.frames):
        if truth.fully_visible(i):
            p = truth.shot_of[i]
            best[p] = max(best.get(p, 0.0), product_sharpness(decoded[i], truth.alpha_in_frame(i)))
    return best


def notes_method(truth: Truth, decoded: list[np.ndarray], best: dict[int, float]) -> dict[str, Any]:
    """1 fps (max 120), every 20th frame shown; a perfect model picks the sharpest it sees."""
    seconds = truth.frames / truth.fps
    shown = [truth.frame_at(t) for t in range(0, min(int(seconds), 120), 20)]
    ratios = {}
    for p in best:
        seen = [i for i in shown if truth.shot_of[i] == p and truth.alpha_in_frame(i).sum() > 0]
        ratios[p] = max((product_sharpness(decoded[i], truth.alpha_in_frame(i)) for i in seen), default=0.0) / best[p]
    return {"frames_shown": len(shown), "found": sum(1 for p in best if ratios[p] > 0),
            "sharpness_ratio": {str(k): round(v, 3) for k, v in ratios.items()}}


def ours(path: Path, truth: Truth, decoded: list[np.ndarray], best: dict[int, float], work: Path) -> dict[str, Any]:
    from reelforge.pipelines.product_shots import ProductShotsJob, ProductShotsOptions
    from reelforge.settings import Settings

    settings = Settings(data_dir=work / "data", _env_file=None)  # type: ignore[call-arg]
    t0 = time.perf_counter()
    result = ProductShotsJob(str(path), work / "out", ProductShotsOptions(sizes=("1:1",)), settings).run()
    wall = time.perf_counter() - t0
    hits: dict[int, int] = {}
    ratios, maes = {}, {}
    for p in result.products:
        frame = np.asarray(Image.open(work / "out" / "products" / p.slug / "best.jpg").convert("RGB"))
        source = truth.match(frame)
        product = truth.shot_of[source]
        hits[product] = hits.get(product, 0) + 1
        exact = truth.alpha_in_frame(source)
        ratios[product] = product_sharpness(decoded[source], exact) / best[product]
        if p.ok:
            x0, y0, x1, y1 = p.cutout["crop_box"]
            alpha = np.asarray(Image.open(work / "out" / "products" / p.slug / "cutout.png").getchannel("A"),
                               np.float32) / 255
            maes[product] = float(np.abs(alpha - exact[y0:y1, x0:x1]).mean() * 255)
    true_positive = len(hits)
    return {"found": len(result.products), "precision": round(true_positive / max(len(result.products), 1), 3),
            "recall": round(true_positive / len(best), 3),
            "sharpness_ratio": {str(k): round(v, 3) for k, v in ratios.items()},
            "alpha_mae_255": {str(k): round(v, 2) for k, v in maes.items()},
            "cutout_method": [p.cutout.get("method") for p in result.products],
            "wall_s": round(wall, 2), "timings": result.report["timings"]}


def sampling_1080p(work: Path) -> dict[str, Any]:
    import subprocess

    from reelforge.ffmpeg.binary import ffmpeg_path
    from reelforge.pipelines.product_shots.analysis import analyse
    from reelforge.pipelines.product_shots.source import check_video

    video = work / "testsrc2-1080p-60s.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=30:duration=60", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    t0 = time.perf_counter()
    a = analyse(check_video(video), work / "frames1080", fps=2, max_frames=240, per_shot=3, min_gap_s=1.0)
    return {"frames": len(a.sampled.frames), "seconds": round(time.perf_counter() - t0, 2), **a.timings}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ps-") as tmp:
        work = Path(tmp)
        video = work / "products.mp4"
        truth = make_video(video, seconds=args.seconds)
        decoded = decode_all(video, truth.size)
        best = oracle(truth, decoded)
        out = {"video": {"seconds": args.seconds, "size": list(truth.size), "fps": truth.fps, "products": len(best)},
               "reelforge": ours(video, truth, decoded, best, work), "notes": notes_method(truth, decoded, best),
               "sampling_1080p_60s": sampling_1080p(work)}
        out["reelforge"]["wall_s_per_minute"] = round(out["reelforge"]["wall_s"] * 60 / args.seconds, 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "product-shots.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
