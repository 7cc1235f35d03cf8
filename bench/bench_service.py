"""Service under load: a 1080p render job runs in a real `reelforge serve` process while 100
clients poll `GET /v1/jobs/{id}` and 20 clients follow its SSE stream, all on 127.0.0.1.

Two renders of the same timeline in one run, each as a fresh job on a fresh server:

  quiet      the render job alone (the floor)
  loaded     the same job with the load running until it finishes (at most --load-s seconds)

Reported: request latency p50/p95/p99/max and errors of the pollers, SSE events received, and
the render's wall time loaded ÷ quiet. Targets (issue 16): p99 < 100 ms, no errors, render ≤ 1.1×.

usage: python bench/bench_service.py [--seconds 20] [--pollers 100] [--sse 20] [--load-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from tests.service.server import Server  # noqa: E402  (the e2e tests' real-server helper)


def timeline(seconds: float) -> dict[str, Any]:
    """A 1080p30 timeline of the bundled sample photos with Ken Burns and fades."""
    photos = ["sample:coffee.png", "sample:rocket.jpg", "sample:astronaut.png", "sample:chelsea.png"]
    clip_s = 4.0
    clips = [{"duration": clip_s, "transition": {"name": "fade", "duration": 0.5},
              "layers": [{"type": "image", "path": photos[i % len(photos)], "fit": "cover", "motion": "zoom-in"},
                         {"type": "text", "text": f"scene {i + 1}", "size": 0.08, "position": "bottom"}]}
             for i in range(max(1, round(seconds / clip_s)))]
    return {"canvas": {"aspect": "16:9", "resolution": "1080p", "fps": 30}, "clips": clips}


async def submit(client: httpx.AsyncClient, spec: dict[str, Any]) -> str:
    answer = await client.post("/v1/jobs", json={"kind": "render", "spec": spec})
    answer.raise_for_status()
    return str(answer.json()["id"])


async def wait_done(client: httpx.AsyncClient, job_id: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    while True:
        job = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return time.monotonic() - started, job
        await asyncio.sleep(0.2)


async def poller(client: httpx.AsyncClient, job_id: str, stop: asyncio.Event, latencies: list[float],
                 errors: list[str]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            answer = await client.get(f"/v1/jobs/{job_id}")
            if answer.status_code != 200:
                errors.append(f"HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.25)  # each client asks four times a second


async def follower(client: httpx.AsyncClient, job_id: str, stop: asyncio.Event, counts: list[int],
                   errors: list[str]) -> None:
    received = 0
    try:
        async with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            async for line in stream.aiter_lines():
                received += line.startswith("data:")
                if stop.is_set():
                    break
    except httpx.HTTPError as exc:
        errors.append(f"sse {type(exc).__name__}")
    counts.append(received)


async def run_job(server: Server, spec: dict[str, Any], pollers: int, sse: int, load_s: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=pollers + sse + 10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
        job_id = await submit(client, spec)
        stop, latencies, errors, counts = asyncio.Event(), [], [], []  # type: ignore[var-annotated]
        load = [asyncio.create_task(poller(client, job_id, stop, latencies, errors)) for _ in range(pollers)]
        load += [asyncio.create_task(follower(client, job_id, stop, counts, errors)) for _ in range(sse)]
        try:
            wall, job = await asyncio.wait_for(wait_done(client, job_id), timeout=load_s + 600)
        finally:
            stop.set()
            await asyncio.gather(*load, return_exceptions=True)
    row: dict[str, Any] = {"render_s": round(wall, 2), "status": job["status"], "requests": len(latencies),
                           "errors": len(errors), "first_errors": errors[:3]}
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        row.update({"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
                    "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1)})
    if counts:
        row["sse_events_min"] = min(counts)
    return row


def measure(name: str, spec: dict[str, Any], pollers: int, sse: int, load_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data", workers=1) as server:
        row = asyncio.run(run_job(server, spec, pollers, sse, load_s))
    return {"method": name, **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="video length (default 20 s of 1080p30)")
    parser.add_argument("--pollers", type=int, default=100)
    parser.add_argument("--sse", type=int, default=20)
    parser.add_argument("--load-s", type=float, default=60.0)
    args = parser.parse_args()
    spec = timeline(args.seconds)
    quiet = measure("quiet", spec, 0, 0, args.load_s)
    print(json.dumps(quiet), flush=True)
    loaded = measure("loaded", spec, args.pollers, args.sse, args.load_s)
    print(json.dumps(loaded), flush=True)
    ratio = loaded["render_s"] / quiet["render_s"]
    print(f"| render quiet s | render loaded s | ratio | requests | errors | p50 ms | p95 ms | p99 ms | max ms |\n"
          f"|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
          f"| {quiet['render_s']} | {loaded['render_s']} | {ratio:.3f} | {loaded['requests']} | {loaded['errors']} | "
          f"{loaded.get('p50_ms')} | {loaded.get('p95_ms')} | {loaded.get('p99_ms')} | {loaded.get('max_ms')} |")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "service.json").write_text(json.dumps({
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "seconds": args.seconds, "pollers": args.pollers, "sse": args.sse, "rows": [quiet, loaded],
        "ratio": round(ratio, 3)}, indent=2))


if __name__ == "__main__":
    main()
