"""Clip benchmark.

1. N clips (default 20) through ClipJob against the fake Veo API on 127.0.0.1, each operation
   taking G seconds (default 60) to render, with REELFORGE_VEO_MAX_OPERATIONS=2 in flight.
   The floor is ceil(N/2)·G (600 s for the defaults); the target is wall ≤ 1.05 × floor. Also
   reports the polling requests per clip (the default poll backoff: 10 s ×1.5 up to 30 s).
   `--scale 0.1` divides G and the poll intervals by 10 (same shape, 60 s floor).
2. The local morph's speed: frames/s at 1280x720 (target: > 24, real time at 24 fps).

    .venv/bin/python bench/bench_clip.py                 # the full 600 s run
    .venv/bin/python bench/bench_clip.py --scale 0.1     # a 60 s rehearsal
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.veo_api import KEY, FakeVeo, make_clip  # noqa: E402


async def _clips(n: int, tmp: Path, url: str, scale: float) -> float:
    from reelforge.pipelines.clip import ClipJob
    from reelforge.runtime.context import RuntimeContext
    from reelforge.settings import Settings

    s = Settings(data_dir=tmp / "data", gemini_api_key=KEY, veo_base_url=url, veo_max_operations=2,
                 veo_poll_interval_s=10 * scale, veo_poll_max_interval_s=30 * scale, veo_max_wait_s=3600)
    ctx = RuntimeContext.from_settings(s)
    try:
        jobs = [ClipJob(f"clip number {i}: a fox runs through snow", tmp / f"c{i}.mp4", s, provider="veo")
                for i in range(n)]
        started = time.perf_counter()
        results = await asyncio.gather(*(job.arun(ctx) for job in jobs))
        wall = time.perf_counter() - started
    finally:
        await ctx.aclose()
    bad = [r for r in results if r.report is None or r.report.state != "succeeded"]
    assert not bad, [r.report.outcomes for r in bad]
    return wall


def bench_veo(n: int, generation_s: float, scale: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        video = make_clip(Path(tmp) / "v.mp4", 8)
        with FakeVeo(video, generation_s=generation_s * scale) as fake:
            wall = asyncio.run(_clips(n, Path(tmp), fake.url, scale))
            submissions, polls = len(fake.submissions()), len(fake.polls())
    floor = math.ceil(n / 2) * generation_s * scale
    return {"clips": n, "generation_s": generation_s * scale, "wall_s": round(wall, 2), "floor_s": floor,
            "ratio": round(wall / floor, 3), "submissions": submissions, "polls_per_clip": round(polls / n, 2)}


def bench_morph(frames: int = 96, reps: int = 3) -> dict[str, object]:
    """Frames/s (wall) and CPU ms per frame at 1280x720, one frame at a time (`ahead=0`, the
    previous design) against the pipelined default (`ahead=2`), interleaved in one run; the two
    must give the very same frames."""
    import numpy as np

    from reelforge.imaging.motion.morph import morph

    rng = np.random.default_rng(0)
    a = (rng.random((90, 160, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    b = np.roll(a, 120, axis=1)
    same = all(np.array_equal(x, y) for x, y in zip(morph(a, b, (1280, 720), 24, ahead=0),
                                                   morph(a, b, (1280, 720), 24, ahead=2), strict=True))
    runs: dict[int, list[tuple[float, float]]] = {0: [], 2: []}
    for _ in range(reps):
        for ahead in runs:
            started, cpu = time.perf_counter(), time.process_time()
            count = sum(1 for _ in morph(a, b, (1280, 720), frames, ahead=ahead))
            wall = time.perf_counter() - started
            runs[ahead].append((count / wall, (time.process_time() - cpu) / count * 1000))
    best = {ahead: max(r[0] for r in rs) for ahead, rs in runs.items()}
    cpu_ms = {ahead: min(r[1] for r in rs) for ahead, rs in runs.items()}
    return {"frames": frames, "identical_frames": same, "fps_720p_sequential": round(best[0], 1),
            "fps_720p_pipelined": round(best[2], 1), "ratio": round(best[2] / best[0], 2),
            "cpu_ms_per_frame_sequential": round(cpu_ms[0], 1), "cpu_ms_per_frame_pipelined": round(cpu_ms[2], 1),
            "cpus": os.cpu_count() or 0, "load_1min": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--generation-s", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every time (0.1: a 60 s rehearsal)")
    parser.add_argument("--only", choices=("veo", "morph"), default=None)
    args = parser.parse_args()
    out: dict[str, object] = {}
    if args.only in (None, "morph"):
        out["morph"] = bench_morph()
        print("morph", out["morph"], flush=True)
    if args.only in (None, "veo"):
        out["veo"] = bench_veo(args.clips, args.generation_s, args.scale)
        print("veo", out["veo"], flush=True)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"clip-{args.clips}-x{args.scale:g}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
