"""Scenes pipeline benchmark: a balanced 1080p run end to end against a fake image provider, next
to rendering the same final timeline alone (the encode is the floor of this job).

The fake speaks the Gemini wire format on 127.0.0.1 (tests/fakes/products.py), answers each
request after 2.1 s with a drawn product on pure white (1344x768), and answers 429 beyond 10 in
flight. Per scene count, in one run:

  scenes       `reelforge scenes spec.yaml -o run.mp4` as a subprocess: fresh data dir (every call
               real), fresh stills cache — generation (10 at a time), QA, cut-outs (auto → key) and
               composites in the process pool, then the render.
  render-only  `reelforge render timeline.json -o alone.mp4` for the timeline the scenes run rendered
               (taken from its report; frames already exist), with a fresh stills cache.

Ratio scenes ÷ render-only is the target (≤ 1.3). Peak RSS is the whole process tree (psutil).
The per-stage breakdown comes from the run's report.

usage: python bench/bench_scenes.py [--scenes 10,100] [--delay 2.1] [--duration 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.bench_render import inspect_video, run_measured  # noqa: E402
from tests.fakes.products import ProductAPI  # noqa: E402

PROMPTS = ("a ceramic coffee mug", "a glass water bottle", "a leather wallet", "a pair of running shoes",
           "a wireless speaker", "a scented candle in a jar", "a steel wristwatch", "a bamboo toothbrush",
           "a tube of hand cream", "a pair of sunglasses")


def write_spec(path: Path, scenes: int, duration: float) -> None:
    spec = {"mode": "balanced", "provider": "gemini", "aspect": "16:9", "resolution": "1080p", "fps": 30,
            "duration": duration, "background": {"type": "texture", "name": "marble"}, "motion": "zoom-in",
            "scenes": [{"prompt": f"{PROMPTS[i % len(PROMPTS)]}, variant {i // len(PROMPTS) + 1}",
                        **({"caption": f"Scene {i + 1}"} if i % 2 == 0 else {})} for i in range(scenes)]}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def measure(scenes: int, delay: float, duration: float, work: Path) -> dict[str, Any]:
    reelforge = str(Path(sys.executable).with_name("reelforge"))
    spec = work / f"scenes-{scenes}.yaml"
    write_spec(spec, scenes, duration)
    with ProductAPI(delay=delay, max_concurrent=10) as api:
        env = {**os.environ, **api.env(), "REELFORGE_DATA_DIR": str(work / f"data-{scenes}"),
               "REELFORGE_CACHE_DIR": str(work / f"cache-run-{scenes}"),
               "REELFORGE_LIMITS": json.dumps({"gemini": {"max_concurrency": 10, "rpm": 0, "rpd": 0}})}
        out = work / f"run-{scenes}.mp4"
        wall, cpu, peak, largest = run_measured([reelforge, "scenes", str(spec), "-o", str(out)], env, work,
                                           work / f"run-{scenes}.log")
        rejected = api.rejected
    report = json.loads(out.with_name(out.stem + ".report.json").read_text())
    timeline = work / f"timeline-{scenes}.json"
    timeline.write_text(json.dumps(report["timeline"]))
    env_render = {**os.environ, "REELFORGE_CACHE_DIR": str(work / f"cache-render-{scenes}")}
    alone = work / f"alone-{scenes}.mp4"
    render_wall, render_cpu, render_peak, _ = run_measured([reelforge, "render", str(timeline), "-o", str(alone)], env_render,
                                               work, work / f"alone-{scenes}.log")
    frames = inspect_video(alone)[0]  # decoded after the timing
    return {"scenes": scenes, "run_s": round(wall, 2), "render_only_s": round(render_wall, 2),
            "run_cpu_s": round(cpu, 2), "render_only_cpu_s": round(render_cpu, 2),
            "render_fps": round(frames / render_wall, 1),
            "ratio": round(wall / render_wall, 3), "run_peak_rss_mb": round(peak / 2**20),
            "run_largest_process_mb": round(largest / 2**20), "render_peak_rss_mb": round(render_peak / 2**20),
            "429s": rejected, "states": sorted({s["state"] for s in report["scenes"]}),
            "stages": report["stages"], "totals": report["totals"]}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenes | scenes run s | render alone s | ratio | render alone CPU s | render fps "
             "| run peak RSS MB (tree) | largest process MB | 429s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['scenes']} | {r['run_s']:.2f} | {r['render_only_s']:.2f} | {r['ratio']:.2f} | "
                     f"{r['render_only_cpu_s']:.2f} | {r['render_fps']} | "
                     f"{r['run_peak_rss_mb']} | {r['run_largest_process_mb']} | {r['429s']} |")
    for r in rows:
        lines += ["", f"Stages of the {r['scenes']}-scene run (wall = first start → last end; busy = summed step time):", "",
                  "| stage | steps | wall s | busy s |", "|---|---:|---:|---:|"]
        for name, s in r["stages"].items():
            lines.append(f"| {name} | {s['steps']} | {s['wall_s']:.2f} | {s['busy_s']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", default="10,100")
    parser.add_argument("--delay", type=float, default=2.1)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scenes-") as tmp:
        for count in (int(n) for n in args.scenes.split(",")):
            row = measure(count, args.delay, args.duration, Path(tmp))
            print(json.dumps({k: v for k, v in row.items() if k != "stages"}), flush=True)
            rows.append(row)
    print(markdown(rows))
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "scenes.json").write_text(json.dumps({
        "date": dt.date.today().isoformat(), "delay_s": args.delay, "duration_s": args.duration,
        "python": platform.python_version(), "cpus": os.cpu_count(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
