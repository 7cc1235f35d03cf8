"""The MoviePy 1.0.3 way to render the benchmark job (run by bench_render.py in its own process).

With --motion, each still gets the Ken Burns move the way MoviePy users write it: `resize`
with a function of t (the image is resized on every frame) centred in a canvas-sized
CompositeVideoClip (zoom-in), or resized once to 1.15x and moved with a `set_position`
function (pans).

usage: python bench/moviepy_job.py [--motion=zoom-in|pans] OUT.mp4 DURATION FADE FPS IMAGE...
"""

from __future__ import annotations

import sys

from moviepy.editor import CompositeVideoClip, ImageClip

PANS = ("pan-right", "pan-left", "pan-down", "pan-up")


def moving(path: str, index: int, motion: str, duration: float) -> CompositeVideoClip:
    still = ImageClip(path)
    w, h = still.size
    if motion == "zoom-in":
        clip = still.resize(lambda t: 1 + 0.2 * t / duration).set_position("center")
    else:
        big = still.resize(1.15)
        dx, dy = big.w - w, big.h - h
        move = PANS[index % len(PANS)]

        def position(t: float, move: str = move) -> tuple[float, float]:
            p = t / duration
            x = -dx * (p if move == "pan-right" else 1 - p) if move in ("pan-right", "pan-left") else -dx / 2
            y = -dy * (p if move == "pan-down" else 1 - p) if move in ("pan-down", "pan-up") else -dy / 2
            return x, y

        clip = big.set_position(position)
    return CompositeVideoClip([clip.set_duration(duration)], size=(w, h)).set_duration(duration)


def render(out: str, duration: float, fade: float, fps: int, images: list[str], motion: str | None = None) -> None:
    clips = []
    for i, path in enumerate(images):
        clip = moving(path, i, motion, duration) if motion else ImageClip(path).set_duration(duration)
        if i:
            clip = clip.crossfadein(fade).set_start(i * (duration - fade))
        clips.append(clip)
    video = CompositeVideoClip(clips)
    video.write_videofile(out, fps=fps, codec="libx264", preset="medium",
                          ffmpeg_params=["-crf", "20", "-pix_fmt", "yuv420p"], audio=False, logger=None)


if __name__ == "__main__":
    args = sys.argv[1:]
    motion = args.pop(0).split("=", 1)[1] if args and args[0].startswith("--motion=") else None
    out, duration, fade, fps, *images = args
    render(out, float(duration), float(fade), int(fps), images, motion)
