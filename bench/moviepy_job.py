"""The MoviePy 1.0.3 way to render the benchmark job (run by bench_render.py in its own process).

usage: python bench/moviepy_job.py OUT.mp4 DURATION FADE FPS IMAGE...
"""

from __future__ import annotations

import sys

from moviepy.editor import CompositeVideoClip, ImageClip


def render(out: str, duration: float, fade: float, fps: int, images: list[str]) -> None:
    clips = []
    for i, path in enumerate(images):
        clip = ImageClip(path).set_duration(duration)
        if i:
            clip = clip.crossfadein(fade).set_start(i * (duration - fade))
        clips.append(clip)
    video = CompositeVideoClip(clips)
    video.write_videofile(out, fps=fps, codec="libx264", preset="medium",
                          ffmpeg_params=["-crf", "20", "-pix_fmt", "yuv420p"], audio=False, logger=None)


if __name__ == "__main__":
    out, duration, fade, fps, *images = sys.argv[1:]
    render(out, float(duration), float(fade), int(fps), images)
