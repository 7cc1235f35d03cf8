"""Every way of moving a still that issue #15 asked to measure, side by side on one clip.

One 3 s clip at 1920x1080, 30 fps (90 frames), x264 medium crf 20, from the prepared still
reelforge renders a `zoom-in` from (the sample photo fitted to 2304x1296, 1.2x the box). Each
option is timed as a whole process tree (CPU = user + sys of every child), interleaved per rep,
and its geometry is checked on a noise texture panned by the `pan-right` preset: per-frame
displacement by phase correlation against the eased path (max error in px, lossless gray out).

usage: python bench/bench_motion_options.py [--reps 3] [--only still,perspective-cubic,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))

from reelforge.imaging.motion.warp import Move  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
BOX, SOURCE, FPS, FRAMES = (1920, 1080), (2304, 1296), 30, 90
X264 = ["-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p"]
ZOOM = Move(1.0, 1.2, (0.5, 0.5), (0.5, 0.5), "ease-in-out", FRAMES)
PAN = Move(1.15, 1.15, (0.435, 0.5), (0.565, 0.5), "ease-in-out", FRAMES)


def _persp(move: Move, interpolation: str, fmt: str) -> str:
    """The renderer's old graph: perspective (eval=frame) at the still's size, then area down."""
    last = FRAMES - 1
    e = f"((1-cos(PI*min((in-1)/{last},1)))/2)"  # perspective counts frames from 1
    z = f"({move.zoom_from}+{move.zoom_to - move.zoom_from}*{e})"
    fx = f"({move.focus_from[0]}+{move.focus_to[0] - move.focus_from[0]}*{e})"
    fy = f"({move.focus_from[1]}+{move.focus_to[1] - move.focus_from[1]}*{e})"
    hw, hh = f"(W/(2*{z}))", f"(H/(2*{z}))"
    cx, cy = f"clip({fx}*W\\,{hw}\\,W-{hw})", f"clip({fy}*H\\,{hh}\\,H-{hh})"
    lt, r, t, b = f"({cx}-{hw})", f"({cx}+{hw})", f"({cy}-{hh})", f"({cy}+{hh})"
    return (f"format={fmt},loop=loop={FRAMES - 1}:size=1:start=0,setpts=N/{FPS}/TB,"
            f"perspective=x0='{lt}':y0='{t}':x1='{r}':y1='{t}':x2='{lt}':y2='{b}':x3='{r}':y3='{b}'"
            f":interpolation={interpolation}:sense=source:eval=frame,scale={BOX[0]}:{BOX[1]}:flags=area,format=yuv420p")


def _zoompan(move: Move, upscale: int) -> str:
    """The command people paste: zoompan (integer crop offsets) over an upscaled still."""
    # zoompan's window is iw/zoom of its input, so any upscale keeps the same geometry.
    w, h = (BOX[0] * upscale, BOX[1] * upscale) if upscale > 1 else SOURCE
    e = f"((1-cos(PI*min(on/{FRAMES - 1},1)))/2)"
    z = f"({move.zoom_from}+{move.zoom_to - move.zoom_from}*{e})"
    fx = f"({move.focus_from[0]}+{move.focus_to[0] - move.focus_from[0]}*{e})"
    fy = f"({move.focus_from[1]}+{move.focus_to[1] - move.focus_from[1]}*{e})"
    return (f"format=yuv420p,scale={w}:{h}:flags=lanczos,"
            f"zoompan=z='{z}':x='clip({fx}*iw-iw/zoom/2\\,0\\,iw-iw/zoom)':"
            f"y='clip({fy}*ih-ih/zoom/2\\,0\\,ih-ih/zoom)':d={FRAMES}:s={BOX[0]}x{BOX[1]}:fps={FPS},format=yuv420p")


def _scale_crop(move: Move) -> str:
    """Oversample once, then per frame: scale (eval=frame) to the zoomed size, integer crop."""
    e = f"((1-cos(PI*min(n/{FRAMES - 1},1)))/2)"
    z = f"({move.zoom_from}+{move.zoom_to - move.zoom_from}*{e})"
    k = f"({z}*{BOX[0]}/{SOURCE[0]})"
    fx = f"({move.focus_from[0]}+{move.focus_to[0] - move.focus_from[0]}*{e})"
    return (f"format=yuv420p,loop=loop={FRAMES - 1}:size=1:start=0,setpts=N/{FPS}/TB,"
            f"scale=w='2*trunc({SOURCE[0]}*{k}/2)':h='2*trunc({SOURCE[1]}*{k}/2)':eval=frame:flags=bilinear,"
            f"crop={BOX[0]}:{BOX[1]}:x='clip({fx}*iw-{BOX[0] / 2}\\,0\\,iw-{BOX[0]})':y='(ih-{BOX[1]})/2',format=yuv420p")


def filter_argv(still: Path, chain: str, out: list[str]) -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-framerate", str(FPS),
            "-i", str(still), "-filter_complex", f"[0:v]{chain}[v]", "-map", "[v]", "-frames:v", str(FRAMES), *out]


def pipe_argv(still: Path, move: str, mode: str, out: list[str]) -> list[str]:
    """OpenCV producer (another process) | ffmpeg reading raw frames."""
    pix = "rgb24" if mode == "rgb" else "yuv420p"
    producer = [sys.executable, str(Path(__file__)), "--produce", str(still), move, mode]
    consumer = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo",
                "-pix_fmt", pix, "-s", f"{BOX[0]}x{BOX[1]}", "-framerate", str(FPS), "-i", "-",
                "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p" if mode == "rgb" else "null", *out]
    return ["bash", "-c", " ".join(map(_q, producer)) + " | " + " ".join(map(_q, consumer))]


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def produce(still: str, move_name: str, mode: str) -> None:
    from reelforge.imaging.motion.warp import affine, source_planes, yuv_frames

    move = ZOOM if move_name == "zoom" else PAN
    rgb = np.asarray(Image.open(still).convert("RGB"))
    out = sys.stdout.buffer
    if mode == "rgb":
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        for n in range(FRAMES):
            m = affine(move.window(n, SOURCE), BOX)
            out.write(cv2.warpAffine(rgb, m, BOX, flags=flags, borderMode=cv2.BORDER_REPLICATE).data)
        return
    for frame in yuv_frames(source_planes(rgb), move, BOX, interpolation=mode):
        out.write(frame)


OPTIONS = {
    "still": lambda s, mv, out: filter_argv(s, f"format=yuv420p,loop=loop={FRAMES - 1}:size=1:start=0,scale={BOX[0]}:{BOX[1]}:flags=area", out),
    "perspective-cubic-yuv": lambda s, mv, out: filter_argv(s, _persp(mv, "cubic", "yuv420p"), out),
    "perspective-linear-yuv": lambda s, mv, out: filter_argv(s, _persp(mv, "linear", "yuv420p"), out),
    "perspective-cubic-rgba": lambda s, mv, out: filter_argv(s, _persp(mv, "cubic", "rgba"), out),
    "zoompan-1.2x": lambda s, mv, out: filter_argv(s, _zoompan(mv, 1), out),
    "zoompan-4x": lambda s, mv, out: filter_argv(s, _zoompan(mv, 4), out),
    "scale-eval-frame+crop": lambda s, mv, out: filter_argv(s, _scale_crop(mv), out),
    "opencv-rgb-linear": lambda s, mv, out: pipe_argv(s, "zoom" if mv is ZOOM else "pan", "rgb", out),
    "opencv-yuv-linear": lambda s, mv, out: pipe_argv(s, "zoom" if mv is ZOOM else "pan", "linear", out),
    "opencv-yuv-cubic": lambda s, mv, out: pipe_argv(s, "zoom" if mv is ZOOM else "pan", "cubic", out),
}


def timed(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def pan_error(name: str, texture: Path, work: Path) -> float | None:
    """Max |measured − expected| per-frame horizontal displacement (px) of the pan."""
    if name in ("still", "encode-floor-motion"):
        return None
    raw = work / f"{name}.gray"
    argv = OPTIONS[name](texture, PAN, ["-f", "rawvideo", "-pix_fmt", "gray", str(raw)])
    subprocess.run(argv, check=True)
    frames = np.fromfile(raw, np.uint8).reshape(-1, BOX[1], BOX[0]).astype(np.float64)
    from skimage.registration import phase_cross_correlation

    errors = []
    for n in range(1, len(frames)):
        a, b = frames[n - 1][284:796, 704:1216], frames[n][284:796, 704:1216]
        shift, _, _ = phase_cross_correlation(b, a, upsample_factor=200, normalization=None)
        dx = shift[1]
        prev, cur = PAN.window(n - 1, SOURCE), PAN.window(n, SOURCE)
        expected = -(cur[0] - prev[0]) * BOX[0] / cur[2]
        errors.append(abs(dx - expected))
    return max(errors)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--produce":
        produce(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default=",".join([*OPTIONS, "encode-floor-motion"]))
    args = parser.parse_args()
    names = args.only.split(",")
    import skimage

    photo = Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        still = work / "still.png"
        photo.resize(SOURCE, Image.Resampling.LANCZOS).save(still)
        rng = np.random.default_rng(7)
        noise = cv2.GaussianBlur(rng.uniform(0, 255, (SOURCE[1], SOURCE[0])).astype(np.float32), (0, 0), 2.0)
        texture = work / "texture.png"
        Image.fromarray(np.clip((noise - noise.mean()) * 4 + 128, 0, 255).astype(np.uint8)).convert("RGB").save(texture)
        results: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
        raw = work / "motion.yuv"  # the encode floor of moving content: frames made outside the timing
        subprocess.run(pipe_argv(still, "zoom", "linear", ["-f", "rawvideo", str(raw)]), check=True)
        OPTIONS["encode-floor-motion"] = lambda s, mv, out: [
            FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "-s", f"{BOX[0]}x{BOX[1]}", "-framerate", str(FPS), "-i", str(raw), *out]
        for _ in range(args.reps):
            for name in names:
                wall, cpu = timed(OPTIONS[name](still, ZOOM, [*X264, str(work / f"{name}.mp4")]))
                results[name]["wall"].append(wall)
                results[name]["cpu"].append(cpu)
        still_cpu = statistics.median(results["still"]["cpu"]) if "still" in results else None
        print("| option | median wall s | median CPU s | CPU ÷ still | pan: max per-frame error px |")
        print("|---|---|---|---|---|")
        table = {}
        for name in names:
            wall, cpu = statistics.median(results[name]["wall"]), statistics.median(results[name]["cpu"])
            err = pan_error(name, texture, work)
            ratio = f"{cpu / still_cpu:.2f}×" if still_cpu else "–"
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {ratio} | {'–' if err is None else f'{err:.3f}'} |")
            table[name] = {"wall_s": wall, "cpu_s": cpu, "pan_error_px": err, **results[name]}
        (BENCH / "results").mkdir(exist_ok=True)
        (BENCH / "results" / "motion-options.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
