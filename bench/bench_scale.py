"""Scale-out: 40 scenes jobs through `reelforge serve` and 1, 2, 3 `reelforge worker` processes
on the real Redis, PostgreSQL and an S3 server (moto) on 127.0.0.1. The image provider is the
Gemini fake: 2.1 s per image, and a 429 for any request beyond 10 in flight — the deployment's
limit for it is 10 in flight (shared by every worker through Redis).

Each job: 3 scenes (one generated image each), speed mode, 480p, 1 s per scene, rendered by
ffmpeg on the worker. Every configuration gets fresh prompts, so nothing comes from the cache.

`--kind image` runs the same 40 × 3 images as image jobs, without the render: the case where
the provider, not the CPU, is the bottleneck.

Reported per worker count: wall time, jobs/minute, provider utilisation (time-averaged calls in
flight at the fake ÷ 10), peak in flight, 429s, repeated calls (requests − distinct prompts),
and the CPU busy share of the machine during the run.

usage: python bench/bench_scale.py [--jobs 40] [--workers 1,2,3] [--concurrency 4] [--latency 2.1]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from tests.fakes.image_apis import FakeImageAPI  # noqa: E402
from tests.scale.deployment import Deployment  # noqa: E402
from tests.scale.services import make_bucket, moto_server, own_database, own_redis_prefix  # noqa: E402

IN_FLIGHT = 10
SCENES = 3


def image_spec(label: str, job: int) -> dict[str, Any]:
    prompts = [f"{label} job {job} scene {s}: a paper boat on a pond" for s in range(SCENES)]
    return {"provider": "gemini", "prompt": prompts[0], "more_prompts": prompts[1:]}


def scenes_spec(label: str, job: int) -> dict[str, Any]:
    return {"provider": "gemini", "mode": "speed", "resolution": "480p", "duration": 1.0,
            "scenes": [{"prompt": f"{label} job {job} scene {s}: a paper boat on a pond", "caption": f"scene {s + 1}"}
                       for s in range(SCENES)]}


def scene_png() -> bytes:
    """A 16:9 854×480 picture with detail, so every generated image passes the scenes QA at once
    (the fakes' default 64×36 swatch is too small: each scene would be drawn three times)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (854, 480), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    for i in range(0, 854, 40):
        draw.rectangle((i, 300, i + 20, 480), fill=(240, 200 - i // 8, 60))
    draw.ellipse((300, 80, 540, 280), fill=(250, 250, 240))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def utilisation(fake: FakeImageAPI, start: float, end: float) -> float:
    """Time-averaged calls in flight at the fake ÷ the limit."""
    busy = sum(max(0.0, min(c.ended or end, end) - max(c.started, start)) for c in fake.calls)
    return busy / ((end - start) * IN_FLIGHT)


def run(workers: int, args: argparse.Namespace, root: Path, s3: str) -> dict[str, Any]:
    label = f"w{workers}"
    with contextlib.ExitStack() as stack, FakeImageAPI("gemini", delay=args.latency,
                                                       max_concurrent=IN_FLIGHT) as fake:
        fake.answer_with(scene_png())
        prefix = stack.enter_context(contextlib.contextmanager(own_redis_prefix)())
        database = stack.enter_context(contextlib.contextmanager(own_database)())
        d = Deployment(root / label, redis_prefix=prefix, database=database, s3_endpoint=s3,
                       bucket=make_bucket(s3), provider_env=fake.env(),
                       limits={"gemini": {"max_concurrency": IN_FLIGHT, "rpm": 0}},
                       visibility_s=600, job_lease_s=30)
        stack.callback(d.stop)
        procs = [d.start_worker(args.concurrency) for _ in range(workers)]
        d.start_server()
        for p in procs:
            d.wait_ready(p)
        psutil.cpu_percent()
        start = time.time()
        spec = scenes_spec if args.kind == "scenes" else image_spec
        ids = [d.submit(args.kind, spec(label, j)) for j in range(args.jobs)]
        jobs = d.wait_all(ids, timeout=args.timeout)
        end = time.time()
        cpu = psutil.cpu_percent()
        statuses = sorted({j["status"] for j in jobs.values()})
        prompts = fake.prompts()
        return {"kind": args.kind, "workers": workers, "concurrency": args.concurrency, "jobs": args.jobs, "statuses": statuses,
                "wall_s": round(end - start, 1), "jobs_per_min": round(args.jobs / (end - start) * 60, 1),
                "utilisation": round(utilisation(fake, start, end), 3), "peak_in_flight": fake.max_in_flight,
                "http_429": fake.rejected, "calls": len(prompts), "repeated_calls": len(prompts) - len(set(prompts)),
                "cpu_busy_pct": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker")
    parser.add_argument("--latency", type=float, default=2.1)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--kind", choices=("scenes", "image"), default="scenes",
                        help="image: the same 3 images per job without the render (the provider-bound case)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, moto_server() as s3:
        for workers in [int(w) for w in args.workers.split(",")]:
            result = run(workers, args, Path(tmp), s3)
            results.append(result)
            print(json.dumps(result), flush=True)
    print(json.dumps({"machine": f"{platform.machine()} {os.cpu_count()} cores", "python": platform.python_version(),
                      "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
    print(f"\n{args.kind} jobs")
    print("| workers | wall s | jobs/min | provider utilisation | peak in flight | 429s | repeated calls | CPU busy |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} × {r['concurrency']} | {r['wall_s']} | {r['jobs_per_min']} | "
              f"{r['utilisation']:.0%} | {r['peak_in_flight']} | {r['http_429']} | {r['repeated_calls']} | "
              f"{r['cpu_busy_pct']:.0f}% |")


if __name__ == "__main__":
    main()
