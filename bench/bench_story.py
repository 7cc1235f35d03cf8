"""Story benchmark: a 4-segment offline story (local draft writer, draft-card keyframes, local
optical-flow morph, 4 s segments at 720p), then the same command again (every step cached,
the merge included), then one segment's length edited (one clip and the merge redone).
Prints the three wall times side by side and their ratios to the first run.

    .venv/bin/python bench/bench_story.py [--segments 4] [--duration 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def character(path: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(img).ellipse((60, 40, 196, 220), fill=(240, 120, 40))
    img.save(path)
    return path


def main() -> None:
    from reelforge.pipelines.story import StoryJob, load_script
    from reelforge.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--duration", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-story-") as tmp:
        root = Path(tmp)
        settings = Settings(_env_file=None, data_dir=root / "data")  # type: ignore[call-arg]
        image = character(root / "floof.png")
        make = lambda **kw: StoryJob(root / "out", settings, character=str(image), **kw)  # noqa: E731
        times = {}
        t = time.perf_counter()
        first = make(idea="a mysterious box", segments=args.segments, duration=args.duration).run()
        times["first run"] = time.perf_counter() - t
        t = time.perf_counter()
        again = make(idea="a mysterious box", segments=args.segments, duration=args.duration).run()
        times["rerun (all cached)"] = time.perf_counter() - t
        script = load_script(root / "out" / "script.yaml")
        script.segments[1].duration += 2
        t = time.perf_counter()
        edited = make(script=script).run()
        times["one segment edited"] = time.perf_counter() - t
        base = times["first run"]
        print(json.dumps({"segments": args.segments, "duration_s": args.duration,
                          "video_s": [first.report["duration_s"], again.report["duration_s"],
                                      edited.report["duration_s"]],
                          "steps_run": [r.report["run"]["succeeded"] for r in (first, again, edited)],
                          "wall_s": {k: round(v, 2) for k, v in times.items()},
                          "ratio_to_first": {k: round(v / base, 3) for k, v in times.items()}}, indent=2))


if __name__ == "__main__":
    main()
