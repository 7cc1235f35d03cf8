"""Time every background type at 1080p and 4K on one core (median of a few runs), and a
subject composite with its contact shadow.

    .venv/bin/python bench/bench_backgrounds.py [--runs 5] [--save DIR]

The process is pinned to one CPU and OpenCV to one thread, so the numbers are per core.
`--save DIR` also writes each 1080p background and the composite as PNG, to look at.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from reelforge.imaging.backgrounds import render_background
from reelforge.imaging.composite import composite_subject
from reelforge.spec.backgrounds import ContactShadow

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}


def specs(photo: Path) -> dict[str, object]:
    return {
        "color": "#223344",
        "gradient": {"type": "gradient", "stops": ["#0f2027", "#2c5364", "#e0c3fc"], "angle": 135},
        "image (cover)": {"type": "image", "path": str(photo)},
        "image (contain-blur, blur 8)": {"type": "image", "path": str(photo), "fit": "contain-blur", "blur": 8},
        **{f"texture {name}": name for name in ("wood", "marble", "concrete", "paper", "studio")},
    }


def median_seconds(run: Callable[[], object], runs: int) -> float:
    run()  # warm-up: imports, allocator
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_photo(directory: Path) -> Path:
    """A 3000x2000 JPEG (a larger-than-frame photo, as users give)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    path = directory / "bench_photo.jpg"
    Image.fromarray(small).resize((3000, 2000), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def bench_subject() -> Image.Image:
    """A 1200x1600 RGBA bottle-like shape with an anti-aliased edge."""
    big = Image.new("L", (4800, 6400), 0)
    ImageDraw.Draw(big).rounded_rectangle((1200, 400, 3600, 6000), radius=900, fill=255)
    alpha = big.resize((1200, 1600), Image.Resampling.LANCZOS)
    subject = Image.new("RGBA", alpha.size, (40, 110, 200, 0))
    subject.putalpha(alpha)
    return subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    workdir = args.save or Path("/tmp")
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'background':32s} {'1080p':>9s} {'4K':>9s}")
    for label, spec in specs(bench_photo(workdir)).items():
        cells = [median_seconds(lambda s=size, sp=spec: render_background(sp, s), args.runs) for size in SIZES.values()]  # type: ignore[misc]
        print(f"{label:32s} {cells[0]:8.3f}s {cells[1]:8.3f}s")
        if args.save:
            render_background(spec, SIZES["1080p"]).save(args.save / f"{label.split()[-1]}.png")  # type: ignore[arg-type]
    subject, shadow = bench_subject(), ContactShadow(drop_opacity=0.2)
    for name, size in SIZES.items():
        bg = render_background("studio", size)
        seconds = median_seconds(lambda b=bg: composite_subject(subject, b, anchor="bottom", shadow=shadow), args.runs)
        print(f"{'composite 1200x1600 subject':32s} {name:>5s} {seconds:8.3f}s")
    if args.save:
        composite_subject(subject, render_background("wood", SIZES["1080p"]), anchor="bottom",
                          shadow=shadow).save(args.save / "composite.png")


if __name__ == "__main__":
    main()
