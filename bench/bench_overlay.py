"""Overlay benchmark: reelforge's overlay pipeline against the equivalent hand-written ffmpeg
command, and a batch of short videos with 1 and 2 workers. Same-run, side-by-side ratios.

Part 1, single: one PNG (a sale-badge rendered by `reelforge text`, 0.3 of the width) burned
bottom-right with a 5% margin onto a 60 s 1920x1080 30 fps H.264 video with AAC audio.
  reelforge     `reelforge overlay in.mp4 --image badge.png --scale 0.3 --position bottom-right
                --margin 5% -o out.mp4` as a subprocess (probe, PNG scaling, graph, encode)
  ffmpeg-hand   `ffmpeg -i in.mp4 -i badge-576.png -filter_complex [0:v][1:v]overlay=x=…:y=…[v]
                -map [v] -map 0:a -c:a copy` + the same x264 options reelforge picks (preset medium, the input's
                bitrate as capped VBR, yuv420p, +faststart), the PNG pre-scaled to 576 px
Methods alternate within each rep (A B, A B, ...); every output is checked for its frame count.

Part 2, batch: 20 clips of 4 s at 1280x720 30 fps, `reelforge overlay DIR -o OUT -j N` for
N = 1 and 2. CPU time is the user+system time of the command and every process it waited for
(wait4 rusage: the Python CLI plus its ffmpeg children); CPU ÷ wall ≈ cores kept busy.

usage: python bench/bench_overlay.py [--reps 3] [--seconds 60] [--clips 20] [--only single,batch]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import imageio_ffmpeg

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "overlay"
VENV_BIN = Path(sys.executable).parent
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class Run:
    method: str
    rep: int
    wall_s: float
    cpu_s: float  # user + system of the process and its waited-for descendants

    @property
    def cores(self) -> float:
        return self.cpu_s / self.wall_s


def timed(argv: list[str]) -> Run:
    """Run to completion; wall time and the whole tree's CPU time from wait4."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{stderr[-2000:]}")
    return Run("", 0, wall, usage.ru_utime + usage.ru_stime)


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-v", "error", "-y", *args], check=True)


def frames(path: Path) -> int:
    err = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path), "-map", "0:v", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    return int(re.findall(r"frame=\s*(\d+)", err)[-1])


def make_video(path: Path, seconds: float, size: str, seed: int = 0) -> Path:
    """A moving test pattern with a tone (x264 veryfast, crf 23): stands in for a phone clip."""
    if not path.is_file():
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={size}:r=30:d={seconds}", "-f", "lavfi",
               "-i", f"sine=f={220 + 20 * seed}:d={seconds}:r=48000", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", str(path))
    return path


def make_badge(path: Path) -> Path:
    if not path.is_file():
        subprocess.run([str(VENV_BIN / "reelforge"), "text", "SALE 50% OFF", "--style", "sale-badge",
                        "-o", str(path)], check=True)
    return path


def hand_written(video: Path, badge: Path, out: Path) -> list[str]:
    """What a person would type, with the encoder options reelforge matches to this input."""
    from PIL import Image

    from reelforge.ffmpeg.probe import probe
    from reelforge.render.match import match_encoding

    info = probe(video)
    assert info.video is not None and info.video.width and info.video.height
    width = round(0.3 * info.video.width)
    scaled = badge.with_name(f"badge-{width}.png")
    with Image.open(badge) as img:
        img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS).save(scaled)
    margin = round(0.05 * min(info.video.width, info.video.height))
    encoding = match_encoding(info.video)
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", "-i", str(video), "-i", str(scaled), "-filter_complex",
            f"[0:v][1:v]overlay=x=W-w-{margin}:y=H-h-{margin}[v]", "-map", "[v]", "-map", "0:a",
            *encoding.options, "-c:a", "copy", "-movflags", "+faststart", str(out)]


def bench_single(reps: int, seconds: float) -> dict[str, object]:
    video = make_video(RESULTS / f"input-{seconds:g}s-1080p.mp4", seconds, "1920x1080")
    badge = make_badge(RESULTS / "badge.png")
    expected = frames(video)
    methods = {
        "reelforge": lambda out: [str(VENV_BIN / "reelforge"), "overlay", str(video), "--image", str(badge),
                                  "--scale", "0.3", "--position", "bottom-right", "--margin", "5%", "-o", str(out)],
        "ffmpeg-hand": lambda out: hand_written(video, badge, out),
    }
    runs: list[Run] = []
    for rep in range(1, reps + 1):
        for name, argv in methods.items():
            out = RESULTS / f"single-{name}.mp4"
            run = timed(argv(out))
            run.method, run.rep = name, rep
            got = frames(out)
            if got != expected:
                raise SystemExit(f"{name}: {got} frames, expected {expected}")
            print(f"single rep {rep} {name:12} {run.wall_s:7.2f} s wall  {run.cpu_s:7.2f} s cpu", flush=True)
            runs.append(run)
    return summarize(runs, "ffmpeg-hand")


def bench_batch(reps: int, clips: int) -> dict[str, object]:
    folder = RESULTS / f"batch-{clips}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        make_video(folder / f"clip-{i:02d}.mp4", 4, "1280x720", seed=i)
    badge = make_badge(RESULTS / "badge.png")
    runs: list[Run] = []
    for rep in range(1, reps + 1):
        for jobs in (1, 2):
            out = RESULTS / f"batch-out-j{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            run = timed([str(VENV_BIN / "reelforge"), "overlay", str(folder), "--image", str(badge),
                         "--position", "top-right", "-o", str(out), "-j", str(jobs)])
            run.method, run.rep = f"batch -j {jobs}", rep
            if len(list(out.glob("*.mp4"))) != clips:
                raise SystemExit(f"batch -j {jobs}: not every clip was written")
            print(f"batch rep {rep} -j {jobs}  {run.wall_s:7.2f} s wall  {run.cpu_s:7.2f} s cpu  "
                  f"{run.cores:.2f} cores", flush=True)
            runs.append(run)
    return summarize(runs, "batch -j 1")


def summarize(runs: list[Run], baseline: str) -> dict[str, object]:
    names = list(dict.fromkeys(r.method for r in runs))
    base = statistics.median(r.wall_s for r in runs if r.method == baseline)
    base_cpu = statistics.median(r.cpu_s for r in runs if r.method == baseline)
    rows = []
    for name in names:
        mine = [r for r in runs if r.method == name]
        wall = statistics.median(r.wall_s for r in mine)
        cpu = statistics.median(r.cpu_s for r in mine)
        rows.append({"method": name, "median_wall_s": round(wall, 2), "min_wall_s": round(min(r.wall_s for r in mine), 2),
                     "median_cpu_s": round(cpu, 2), "cpu_per_wall": round(cpu / wall, 2),
                     "wall_vs_baseline": round(wall / base, 3), "cpu_vs_baseline": round(cpu / base_cpu, 3)})
    return {"baseline": baseline, "rows": rows, "runs": [asdict(r) for r in runs]}


def table(result: dict[str, object]) -> str:
    lines = [f"| method | median wall s | min wall s | median CPU s | CPU ÷ wall | wall ÷ {result['baseline']} "
             f"| CPU ÷ {result['baseline']} |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:  # type: ignore[attr-defined]
        lines.append(f"| {row['method']} | {row['median_wall_s']:.2f} | {row['min_wall_s']:.2f} | "
                     f"{row['median_cpu_s']:.2f} | {row['cpu_per_wall']:.2f} | {row['wall_vs_baseline']:.2f}× | "
                     f"{row['cpu_vs_baseline']:.2f}× |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--only", default="single,batch")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"date": dt.date.today().isoformat(), "cores": os.cpu_count(),
                                 "cpu": platform.processor() or platform.machine(), "ffmpeg": FFMPEG,
                                 "loadavg_before": os.getloadavg()}
    if "single" in args.only:
        report["single"] = bench_single(args.reps, args.seconds)
        print(f"\n### One PNG over a {args.seconds:g} s 1080p video, {args.reps} reps\n")
        print(table(report["single"]))  # type: ignore[arg-type]
    if "batch" in args.only:
        report["batch"] = bench_batch(args.reps, args.clips)
        print(f"\n### {args.clips} clips of 4 s 720p, {args.reps} reps\n")
        print(table(report["batch"]))  # type: ignore[arg-type]
    report["loadavg_after"] = os.getloadavg()  # other work on a shared machine shows up here
    print(f"\nload average before {report['loadavg_before']}, after {report['loadavg_after']}")
    (RESULTS / "overlay.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
