"""Side-by-side render benchmark: the same slideshow rendered four ways, medians and ratios.

The job: N scene images (default 10) at 1920x1080, 3 s each, a 0.5 s fade between consecutive
scenes, 24 fps, H.264 (x264 preset medium, crf 20, yuv420p), no audio. N=10 gives
10*3 - 9*0.5 = 25.5 s = 612 frames; N=100 gives 250.5 s = 6012 frames.

The four methods, interleaved within each rep (rep 1: A B C D, rep 2: A B C D, ...):

  reelforge     `reelforge render spec.yaml -o out.mp4` as a subprocess, with a fresh
                REELFORGE_CACHE_DIR per rep so no prepared still carries over. The time includes
                reelforge's own Python work (spec load, image checks, graph building).
  moviepy       MoviePy 1.0.3: ImageClip + crossfadein inside CompositeVideoClip, then
                write_videofile (bench/moviepy_job.py, in its own process).
  ffmpeg-best   the best single hand-written ffmpeg command: each PNG is an input decoded once,
                converted to yuv420p once, looped to 72 frames by the `loop` filter and chained
                with xfade.
  encode-floor  the same frames as raw yuv420p (pre-decoded to a file, outside the timing) through
                x264 with no filters: what the encode alone costs.

Per run: wall time and peak RSS of the whole process tree (psutil, the summed RSS of the process
and all its descendants polled every 50 ms; also the largest single process, from wait4). Every
output is checked for frame count, duration and size. Prints a markdown table and writes
bench/results/render-N.json.

With --motion zoom-in (every clip zooms 1.0 → 1.2) or --motion pans (pan-right/left/down/up in
turn) the methods are: reelforge-still (the same spec without motion: the reference), reelforge
(with motion), ffmpeg-zoompan (the usual `scale=8000:-2,zoompan=…` per still, xfade chain),
moviepy (the usual resize-per-frame Ken Burns, bench/moviepy_job.py --motion) and encode-floor
(reelforge's moving frames, pre-decoded, through x264 alone). CPU is user + sys of the whole
process tree.

usage: python bench/bench_render.py [--scenes 10] [--reps 5] [--motion none|zoom-in|pans] [--only a,b]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

try:
    import psutil
except ImportError:  # fall back to the largest single process (wait4)
    psutil = None

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
METHODS = ("reelforge", "moviepy", "ffmpeg-best", "encode-floor")
MOTION_METHODS = ("reelforge-still", "reelforge", "ffmpeg-zoompan", "moviepy", "encode-floor")
# --motion pans: the clips cycle through these presets (zoom 1.15, focus 0.4 → 0.6 of the image).
PANS = ("pan-right", "pan-left", "pan-down", "pan-up")
X264 = ["-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p"]
SAMPLES = ("coffee.png", "astronaut.png", "rocket.jpg", "chelsea.png", "motorcycle_left.png",
           "hubble_deep_field.jpg", "retina.jpg", "ihc.png")


@dataclass(frozen=True)
class Job:
    scenes: int
    width: int = 1920
    height: int = 1080
    fps: int = 24
    duration: float = 3.0
    fade: float = 0.5
    motion: str = "none"  # none | zoom-in | pans

    def motion_of(self, index: int) -> str | None:
        if self.motion == "none":
            return None
        return "zoom-in" if self.motion == "zoom-in" else PANS[index % len(PANS)]

    @property
    def seconds(self) -> float:
        return self.scenes * self.duration - (self.scenes - 1) * self.fade

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)

    @property
    def scene_frames(self) -> int:
        return round(self.duration * self.fps)


@dataclass
class Run:
    method: str
    rep: int
    wall_s: float
    cpu_s: float  # user + sys of the whole process tree (wait4: the process and its reaped children)
    peak_rss_mb: float  # summed over the process tree
    max_process_rss_mb: float  # the largest single process
    frames: int
    duration_s: float


@dataclass
class Method:
    """How to run one method: `argv(out, rep_dir)` gives the timed command, `env` its environment."""

    name: str
    argv: Callable[[Path, Path], list[str]]
    env: Callable[[Path], dict[str, str]] = field(default=lambda rep_dir: dict(os.environ))


# ---- test images -------------------------------------------------------------------------------
def sample_photo(name: str) -> Image.Image:
    import skimage

    return Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB")


def scene_image(index: int, job: Job) -> Image.Image:
    """A sample photo covering the frame, with a per-scene tint, mirror and a little grain."""
    src = sample_photo(SAMPLES[index % len(SAMPLES)])
    cycle = index // len(SAMPLES)
    scale = max(job.width / src.width, job.height / src.height) * (1 + 0.05 * (cycle % 4))
    big = src.resize((round(src.width * scale), round(src.height * scale)), Image.Resampling.LANCZOS)
    left, top = (big.width - job.width) // 2, (big.height - job.height) // 2
    img = big.crop((left, top, left + job.width, top + job.height))
    if cycle % 2:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    rng = np.random.default_rng(index)
    hue = np.array([np.cos(index * 2.4), np.cos(index * 2.4 + 2.1), np.cos(index * 2.4 + 4.2)])
    pixels = np.asarray(img, dtype=np.float32) * (1 + 0.12 * hue) + rng.normal(0, 2.0, (job.height, job.width, 1))
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")


def make_images(job: Job) -> list[Path]:
    """Scene PNGs, generated once into bench/results/images/ and reused by later runs."""
    folder = RESULTS / "images" / f"{job.width}x{job.height}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(job.scenes):
        path = folder / f"scene-{i:03d}.png"
        if not path.is_file():
            scene_image(i, job).save(path)
        paths.append(path)
    return paths


# ---- the four methods --------------------------------------------------------------------------
def write_spec(job: Job, images: list[Path], path: Path, motion: bool = True) -> None:
    def layer(i: int, p: Path) -> str:
        move = job.motion_of(i) if motion else None
        return f"{{type: image, path: {json.dumps(str(p))}" + (f", motion: {move}}}" if move else "}")

    lines = [
        f"canvas: {{width: {job.width}, height: {job.height}, fps: {job.fps}}}",
        f"defaults: {{duration: {job.duration}, transition: {{name: fade, duration: {job.fade}}}}}",
        "output: {format: mp4, quality: standard}",
        "clips:",
        *(f"  - layers: [{layer(i, p)}]" for i, p in enumerate(images)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def reelforge_method(spec: Path, name: str = "reelforge") -> Method:
    def env(rep_dir: Path) -> dict[str, str]:
        cache = rep_dir / "reelforge-cache"
        cache.mkdir()
        return {**os.environ, "REELFORGE_CACHE_DIR": str(cache), "REELFORGE_FFMPEG": FFMPEG}

    return Method(name, lambda out, _: [str(VENV_BIN / "reelforge"), "render", str(spec), "-o", str(out)], env)


def moviepy_method(job: Job, images: list[Path]) -> Method:
    def argv(out: Path, _: Path) -> list[str]:
        motion = [f"--motion={job.motion}"] if job.motion != "none" else []
        return [sys.executable, str(BENCH / "moviepy_job.py"), *motion, str(out), str(job.duration), str(job.fade),
                str(job.fps), *map(str, images)]

    return Method("moviepy", argv)


def ffmpeg_best_argv(job: Job, images: list[Path], out: Path) -> list[str]:
    """Each still decoded once, converted once, looped; xfade chain; one encode."""
    inputs: list[str] = []
    chains: list[str] = []
    for i, path in enumerate(images):
        inputs += ["-framerate", str(job.fps), "-i", str(path)]
        chains.append(f"[{i}:v]format=yuv420p,loop=loop={job.scene_frames - 1}:size=1:start=0,"
                      f"settb=expr=1/{job.fps},setpts=N[v{i}]")
    last = "v0"
    for i in range(1, len(images)):
        offset = i * (job.duration - job.fade)
        chains.append(f"[{last}][v{i}]xfade=transition=fade:duration={job.fade}:offset={offset:g}[x{i}]")
        last = f"x{i}"
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", *inputs, "-filter_complex", ";".join(chains),
            "-map", f"[{last}]", *X264, str(out)]


def zoompan_filter(job: Job, index: int) -> str:
    """The zoompan recipe people paste: upscale the still (8000 px wide, to hide zoompan's
    integer crop offsets), then zoompan with a per-frame zoom increment, out at 1920x1080."""
    n = job.scene_frames
    size = f"s={job.width}x{job.height}:fps={job.fps}:d={n}"
    move = job.motion_of(index)
    if move == "zoom-in":
        zoom = f"z='min(zoom+{0.2 / (n - 1):.6f},1.2)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
    else:  # a pan at zoom 1.15 across the reachable range, linear in the output frame number
        forward = move in ("pan-right", "pan-down")
        t = f"(on/{n - 1})" if forward else f"(1-on/{n - 1})"
        x = f"(iw-iw/zoom)*{t}" if move in ("pan-right", "pan-left") else "(iw-iw/zoom)/2"
        y = f"(ih-ih/zoom)*{t}" if move in ("pan-down", "pan-up") else "(ih-ih/zoom)/2"
        zoom = f"z=1.15:x='{x}':y='{y}'"
    return f"scale=8000:-2,zoompan={zoom}:{size},format=yuv420p"


def ffmpeg_zoompan_argv(job: Job, images: list[Path], out: Path) -> list[str]:
    inputs: list[str] = []
    chains: list[str] = []
    for i, path in enumerate(images):
        inputs += ["-i", str(path)]
        chains.append(f"[{i}:v]{zoompan_filter(job, i)},settb=expr=1/{job.fps},setpts=N[v{i}]")
    last = "v0"
    for i in range(1, len(images)):
        offset = i * (job.duration - job.fade)
        chains.append(f"[{last}][v{i}]xfade=transition=fade:duration={job.fade}:offset={offset:g}[x{i}]")
        last = f"x{i}"
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", *inputs, "-filter_complex", ";".join(chains),
            "-map", f"[{last}]", *X264, str(out)]


def ffmpeg_best_method(job: Job, images: list[Path]) -> Method:
    return Method("ffmpeg-best", lambda out, _: ffmpeg_best_argv(job, images, out))


def encode_floor_argv(job: Job, raw: Path, out: Path) -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "-s", f"{job.width}x{job.height}", "-r", str(job.fps), "-i", str(raw), *X264, str(out)]


def encode_floor_method(job: Job, raw: Path) -> Method:
    return Method("encode-floor", lambda out, _: encode_floor_argv(job, raw, out))


def make_raw_frames(job: Job, images: list[Path], work: Path) -> Path:
    """The job's frames as raw yuv420p (untimed): render with ffmpeg-best (with motion: with
    reelforge), decode to rawvideo. With motion this is what encoding the moving frames costs."""
    video, raw = work / "reference.mp4", work / "frames.yuv"
    if job.motion == "none":
        subprocess.run(ffmpeg_best_argv(job, images, video), check=True, capture_output=True)
    else:
        spec = work / "reference.yaml"
        write_spec(job, images, spec)
        subprocess.run([str(VENV_BIN / "reelforge"), "render", str(spec), "-o", str(video)], check=True,
                       capture_output=True, env={**os.environ, "REELFORGE_FFMPEG": FFMPEG})
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", "-i", str(video), "-f", "rawvideo",
                    "-pix_fmt", "yuv420p", str(raw)], check=True, capture_output=True)
    expected = job.frames * job.width * job.height * 3 // 2
    if raw.stat().st_size != expected:
        raise SystemExit(f"raw frames: {raw.stat().st_size} bytes, expected {expected}")
    return raw


# ---- measuring ---------------------------------------------------------------------------------
def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def run_measured(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, float, int, int]:
    """Run to completion; return (wall s, CPU s, peak summed tree RSS bytes, largest process RSS bytes)."""
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
        peak = 0
        watched = psutil.Process(proc.pid) if psutil else None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if watched is not None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    peak = max(peak, tree_rss(watched))
            time.sleep(0.05)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{argv[0]} failed (exit {proc.returncode}); log {log}:\n{tail}")
    largest = usage.ru_maxrss * 1024  # kB on Linux
    return wall, usage.ru_utime + usage.ru_stime, max(peak, largest), largest


def inspect_video(path: Path) -> tuple[int, float, str]:
    """Decode the whole file: (frames, container duration s, 'WxH pix_fmt')."""
    result = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v", "-f", "null", "-"],
                            capture_output=True, text=True, check=True)
    frames = re.findall(r"frame=\s*(\d+)", result.stderr)
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", result.stderr)
    stream = re.search(r"Video: .*?, (yuv\w+)[(,].*?, (\d+x\d+)", result.stderr)
    if not (frames and duration and stream):
        raise SystemExit(f"cannot read {path}:\n{result.stderr[-2000:]}")
    h, m, s = duration.groups()
    return int(frames[-1]), int(h) * 3600 + int(m) * 60 + float(s), f"{stream.group(2)} {stream.group(1)}"


def verify(method: str, path: Path, job: Job) -> tuple[int, float]:
    frames, seconds, shape = inspect_video(path)
    problems = []
    if frames != job.frames:
        problems.append(f"{frames} frames, expected {job.frames}")
    if abs(seconds - job.seconds) > 1.5 / job.fps:
        problems.append(f"duration {seconds:.3f} s, expected {job.seconds:.3f} s")
    if shape != f"{job.width}x{job.height} yuv420p":
        problems.append(f"stream {shape}")
    if problems:
        print(f"  WARNING {method}: " + "; ".join(problems), flush=True)
    return frames, seconds


def run_once(method: Method, rep: int, job: Job, work: Path) -> Run:
    rep_dir = work / f"{method.name}-{rep}"
    rep_dir.mkdir()
    out = rep_dir / "out.mp4"
    env = method.env(rep_dir)
    wall, cpu, peak, largest = run_measured(method.argv(out, rep_dir), env, rep_dir, rep_dir / "log.txt")
    frames, seconds = verify(method.name, out, job)
    shutil.rmtree(rep_dir)  # outputs and caches are not kept between reps
    mb = 1024 * 1024
    return Run(method.name, rep, wall, cpu, peak / mb, largest / mb, frames, seconds)


# ---- reporting ---------------------------------------------------------------------------------
def summarize(runs: list[Run], names: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        mine = [r for r in runs if r.method == name]
        out[name] = {
            "median_wall_s": statistics.median(r.wall_s for r in mine),
            "min_wall_s": min(r.wall_s for r in mine),
            "median_cpu_s": statistics.median(r.cpu_s for r in mine),
            "median_peak_rss_mb": statistics.median(r.peak_rss_mb for r in mine),
            "median_max_process_rss_mb": statistics.median(r.max_process_rss_mb for r in mine),
            "runs": len(mine),
        }
    return out


def ratio(summary: dict[str, dict[str, float]], name: str, ref: str, key: str) -> str:
    if ref not in summary:
        return "–"
    return f"{summary[name][key] / summary[ref][key]:.2f}×"


def table(summary: dict[str, dict[str, float]], motion: bool = False) -> str:
    ref = "reelforge-still" if motion else "ffmpeg-best"
    rows = ["| method | median wall s | min wall s | median CPU s | median peak RSS MB (tree) | largest process MB "
            f"| wall ÷ {ref} | CPU ÷ {ref} | wall ÷ encode-floor | CPU ÷ encode-floor | RSS ÷ encode-floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary.items():
        rows.append(f"| {name} | {s['median_wall_s']:.2f} | {s['min_wall_s']:.2f} | {s['median_cpu_s']:.2f} "
                    f"| {s['median_peak_rss_mb']:.0f} | {s['median_max_process_rss_mb']:.0f} "
                    f"| {ratio(summary, name, ref, 'median_wall_s')} "
                    f"| {ratio(summary, name, ref, 'median_cpu_s')} "
                    f"| {ratio(summary, name, 'encode-floor', 'median_wall_s')} "
                    f"| {ratio(summary, name, 'encode-floor', 'median_cpu_s')} "
                    f"| {ratio(summary, name, 'encode-floor', 'median_peak_rss_mb')} |")
    return "\n".join(rows)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def source_state() -> str:
    """The src/ tree benchmarked: its git tree id, plus a hash of any uncommitted changes."""
    tree = git("rev-parse", "--short", "HEAD:src") or "unknown"
    diff = git("diff", "HEAD", "--", "src")
    return f"{tree} + uncommitted changes {hashlib.sha1(diff.encode()).hexdigest()[:8]}" if diff else tree


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    version = subprocess.run([FFMPEG, "-hide_banner", "-version"], capture_output=True, text=True).stdout
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "ffmpeg": version.splitlines()[0],
            "python": platform.python_version(), "platform": platform.platform(),
            "rss_method": "psutil tree sum, 50 ms polls" if psutil else "wait4 ru_maxrss (largest process)"}


# ---- main --------------------------------------------------------------------------------------
def build_methods(names: list[str], job: Job, images: list[Path], work: Path) -> list[Method]:
    methods = []
    for name in names:
        if name == "reelforge":
            spec = work / "spec.yaml"
            write_spec(job, images, spec)
            methods.append(reelforge_method(spec))
        elif name == "reelforge-still":
            spec = work / "still.yaml"
            write_spec(job, images, spec, motion=False)
            methods.append(reelforge_method(spec, "reelforge-still"))
        elif name == "ffmpeg-zoompan":
            methods.append(Method(name, lambda out, _: ffmpeg_zoompan_argv(job, images, out)))
        elif name == "moviepy":
            methods.append(moviepy_method(job, images))
        elif name == "ffmpeg-best":
            methods.append(ffmpeg_best_method(job, images))
        else:
            methods.append(encode_floor_method(job, make_raw_frames(job, images, work)))
    return methods


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=10, help="number of scene images (default 10)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each method (default 5)")
    parser.add_argument("--motion", choices=("none", "zoom-in", "pans"), default="none",
                        help="move every still (zoom-in, or pans cycling right/left/down/up); compares "
                             f"{', '.join(MOTION_METHODS)}")
    parser.add_argument("--only", default=None, help="comma-separated subset of the methods")
    args = parser.parse_args()
    known = MOTION_METHODS if args.motion != "none" else METHODS
    args.only = [name.strip() for name in (args.only or ",".join(known)).split(",") if name.strip()]
    unknown = set(args.only) - set(known)
    if unknown:
        parser.error(f"unknown method(s): {', '.join(sorted(unknown))}")
    args.only = [name for name in known if name in args.only]
    return args


def main() -> None:
    args = parse_args()
    job = Job(args.scenes, motion=args.motion)
    if psutil is None:
        print("psutil not installed: peak RSS is the largest single process, not the tree sum", flush=True)
    print(f"job: {job.scenes} scenes, {job.width}x{job.height}, {job.fps} fps, {job.seconds:g} s = "
          f"{job.frames} frames; methods: {', '.join(args.only)}; reps: {args.reps}", flush=True)
    images = make_images(job)
    commit, source = git("rev-parse", "--short", "HEAD"), source_state()
    print(f"reelforge at commit {commit}, src/ tree {source}", flush=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-") as tmp:
        work = Path(tmp)
        methods = build_methods(args.only, job, images, work)
        for rep in range(1, args.reps + 1):
            for method in methods:
                run = run_once(method, rep, job, work)
                runs.append(run)
                print(f"  rep {rep} {run.method:<13} {run.wall_s:7.2f} s  CPU {run.cpu_s:7.2f} s  {run.peak_rss_mb:7.0f} MB "
                      f"(largest process {run.max_process_rss_mb:.0f} MB)  {run.frames} frames", flush=True)
    if source_state() != source:
        print(f"WARNING: reelforge changed during the run ({source} → {source_state()})", flush=True)
    summary = summarize(runs, args.only)
    print()
    print(table(summary, motion=job.motion != "none"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "job": {**asdict(job),
              "seconds": job.seconds, "frames": job.frames}, "reps": args.reps,
              "reelforge": {"commit": commit, "src_tree": source}, "machine": machine(),
              "summary": summary, "runs": [asdict(r) for r in runs]}
    path = RESULTS / (f"render-{job.scenes}.json" if job.motion == "none" else f"render-{job.scenes}-{job.motion}.json")
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
