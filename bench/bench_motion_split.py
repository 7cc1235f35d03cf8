"""Where a moving render's CPU goes, against the encode floor of its exact frames, in one run.

The job of `bench_render.py --motion zoom-in|pans` (10 scenes, 1920x1080, 24 fps, 612 frames).
Per rep, alternating:

  floor      x264 (medium, crf 20) alone on the render's exact moving frames: the timeline is
             rendered once, untimed, to raw yuv420p (the renderer's own graph, lossless), and
             ffmpeg encodes that file with no filters.
  reelforge  `render()` in a child Python process, fresh stills cache, which reports its own CPU
             (`getrusage(RUSAGE_SELF)`: spec, prepare, the frame writers' warps, pipes) apart
             from its ffmpeg runs' (`RUSAGE_CHILDREN`: the five segments' decode-free graphs and
             x264, the join).

`bench_render.py` compares whole methods; this splits reelforge's share so the cost above the
encoder is visible without cross-run noise (the machine's speed drifts by minutes, so the floor
is measured between reelforge's reps, not in another run).

usage: python bench/bench_motion_split.py [--motion zoom-in|pans] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.bench_render import FFMPEG, X264, Job, make_images, write_spec  # noqa: E402

CHILD = """
import json, os, resource, sys, time
t0 = time.perf_counter()
from reelforge.render.api import render
imported = time.perf_counter() - t0
result = render(sys.argv[1], sys.argv[2])
self_, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": time.perf_counter() - t0, "import_s": imported, "frames": result.frames,
                  "python_cpu_s": self_.ru_utime + self_.ru_stime, "ffmpeg_cpu_s": kids.ru_utime + kids.ru_stime}))
"""

DUMP = """
import sys
from dataclasses import replace
from reelforge.ffmpeg.binary import ffmpeg_path
from reelforge.ffmpeg.command import OutputFile, compile_argv, feeds_of
from reelforge.ffmpeg.run import run_ffmpeg
from reelforge.render.api import prepare_render
work = prepare_render(sys.argv[1], sys.argv[2] + ".unused.mp4", segment_clips=0)
out = work.command.outputs[0]
cmd = replace(work.command, outputs=(OutputFile(sys.argv[2], out.maps[:1], ("-f", "rawvideo", "-pix_fmt", "yuv420p")),))
run_ffmpeg(compile_argv(cmd, ffmpeg=ffmpeg_path()), feeds=feeds_of(cmd))
"""


def env(cache: Path) -> dict[str, str]:
    return {**os.environ, "REELFORGE_CACHE_DIR": str(cache), "REELFORGE_FFMPEG": FFMPEG,
            "PYTHONPATH": str(ROOT / "src")}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor(job: Job, raw: Path, out: Path) -> dict[str, float]:
    argv = [FFMPEG, "-hide_banner", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "-s", f"{job.width}x{job.height}", "-r", str(job.fps), "-i", str(raw), *X264, str(out)]
    before, start = children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return {"wall_s": time.perf_counter() - start, "cpu_s": children_cpu() - before}


def reelforge(spec: Path, out: Path, cache: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, str(spec), str(out)], check=True, capture_output=True,
                            text=True, env=env(cache))
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["cpu_s"] = measured["python_cpu_s"] + measured["ffmpeg_cpu_s"]
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--motion", default="zoom-in", choices=["zoom-in", "pans"])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    job = Job(scenes=10, motion=args.motion)
    images = make_images(job)
    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        work = Path(tmp)
        spec = work / "spec.yaml"
        write_spec(job, images, spec)
        raw = work / "frames.yuv"
        subprocess.run([sys.executable, "-c", DUMP, str(spec), str(raw)], check=True, capture_output=True,
                       env=env(work / "cache-dump"))
        if raw.stat().st_size != job.frames * job.width * job.height * 3 // 2:
            raise SystemExit(f"raw dump: {raw.stat().st_size} bytes for {job.frames} frames")
        floors, renders = [], []
        for rep in range(args.reps):
            floors.append(floor(job, raw, work / "floor.mp4"))
            renders.append(reelforge(spec, work / "out.mp4", work / f"cache-{rep}"))
            f, r = floors[-1], renders[-1]
            print(f"rep {rep + 1}: floor {f['cpu_s']:.1f} CPU-s {f['wall_s']:.1f} s | reelforge python "
                  f"{r['python_cpu_s']:.1f} + ffmpeg {r['ffmpeg_cpu_s']:.1f} = {r['cpu_s']:.1f} CPU-s "
                  f"{r['wall_s']:.1f} s ({r['cpu_s'] / f['cpu_s']:.2f}x the floor)", flush=True)
    med = {k: statistics.median(r[k] for r in renders) for k in ("python_cpu_s", "ffmpeg_cpu_s", "cpu_s", "wall_s",
                                                                   "import_s")}
    fmed = {k: statistics.median(f[k] for f in floors) for k in ("cpu_s", "wall_s")}
    ratios = [r["cpu_s"] / f["cpu_s"] for r, f in zip(renders, floors, strict=True)]
    print(f"\nmotion {args.motion}, medians of {args.reps}: floor {fmed['cpu_s']:.1f} CPU-s / {fmed['wall_s']:.1f} s; "
          f"reelforge {med['cpu_s']:.1f} CPU-s / {med['wall_s']:.1f} s = python {med['python_cpu_s']:.1f} "
          f"(imports {med['import_s']:.2f} s) + ffmpeg {med['ffmpeg_cpu_s']:.1f}; "
          f"CPU ÷ floor per rep: {', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f})")
    out = BENCH / "results" / f"motion-split-{args.motion}.json"
    out.write_text(json.dumps({"motion": args.motion, "floors": floors, "renders": renders,
                               "ratio_median": statistics.median(ratios)}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
