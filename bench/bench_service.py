"""Service under load: a 1080p render job runs in a real `reelforge serve` process while 100
clients poll `GET /v1/jobs/{id}` and 20 clients follow its SSE stream, all on 127.0.0.1.

Two renders of the same timeline in one run, each as a fresh job on a fresh server:

  quiet      the render job alone (the floor)
  loaded     the same job with the load running until it finishes, once per --poll-s period

Reported: request latency p50/p95/p99/max and errors of the pollers, SSE events received, and
the render's wall time loaded ÷ quiet. Targets (issue 16): p99 < 100 ms, no errors, render ≤ 1.1×.

usage: python bench/bench_service.py [--seconds 20] [--pollers 100] [--sse 20] [--poll-s 1 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

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


class RawClient:
    """One keep-alive HTTP/1.1 connection written by hand. The pollers stand in for clients on
    other machines, so their own CPU cost must stay small: httpx spends about a millisecond of
    CPU per request, which for 100 clients on the server's two cores would be the load itself."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def poller(url: str, job_id: str, stop: asyncio.Event, period_s: float, latencies: list[float],
                 errors: list[str]) -> None:
    host, port = url.removeprefix("http://").split(":")
    client = RawClient(host, int(port))
    await asyncio.sleep(random.uniform(0, period_s))  # clients arrive spread out, not in lockstep
    try:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = await client.get(f"/v1/jobs/{job_id}")
                if status != 200:
                    errors.append(f"HTTP {status}")
            except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
                errors.append(type(exc).__name__)
                await client.close()
                client = RawClient(host, int(port))
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, period_s - (time.perf_counter() - started)))
    finally:
        await client.close()


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


async def run_job(server: Server, spec: dict[str, Any], pollers: int, sse: int, period_s: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=pollers + sse + 10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
        job_id = await submit(client, spec)
        stop, latencies, errors, counts = asyncio.Event(), [], [], []  # type: ignore[var-annotated]
        load = [asyncio.create_task(poller(server.url, job_id, stop, period_s, latencies, errors))
                for _ in range(pollers)]
        load += [asyncio.create_task(follower(client, job_id, stop, counts, errors)) for _ in range(sse)]
        try:
            wall, job = await asyncio.wait_for(wait_done(client, job_id), timeout=900)
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


def measure(name: str, spec: dict[str, Any], pollers: int, sse: int, period_s: float, client_nice: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data", workers=1) as server:
        assert server.process is not None
        served = psutil.Process(server.process.pid)
        before, own_before = served.cpu_times(), resource.getrusage(resource.RUSAGE_SELF)
        # The clients stand in for browsers and scripts on other machines, which have CPUs of
        # their own: --client-nice sets how this process competes for the server's two cores
        # (see main()). Changed after the server started, so the server keeps its own priority.
        os.setpriority(os.PRIO_PROCESS, 0, client_nice if pollers else 0)
        try:
            row = asyncio.run(run_job(server, spec, pollers, sse, period_s))
        finally:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
        after, own_after = served.cpu_times(), resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = (after.user + after.system) - (before.user + before.system)  # the server alone, not ffmpeg
    load_cpu = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    row.update({"server_cpu_s": round(server_cpu, 2), "load_cpu_s": round(load_cpu, 2)})
    return {"method": name, "poll_s": period_s if pollers else None, **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="video length (default 20 s of 1080p30)")
    parser.add_argument("--pollers", type=int, default=100)
    parser.add_argument("--sse", type=int, default=20)
    parser.add_argument("--poll-s", type=float, nargs="+", default=[1.0, 0.25],
                        help="seconds between one client's polls; one loaded run each (default 1 and 0.25)")
    parser.add_argument("--client-nice", type=int, default=19,
                        help="the load generator's nice: 19 takes only the CPU the server leaves, so its "
                             "own waits for a core inflate the latencies it reports; a negative value (root) "
                             "runs it ahead of the server, as clients on their own machines would be, while its "
                             "CPU still comes off the server's cores (default 19)")
    args = parser.parse_args()
    spec = timeline(args.seconds)
    rows = [measure("quiet", spec, 0, 0, 1.0, 0)]
    print(json.dumps(rows[0]), flush=True)
    for period in args.poll_s:
        rows.append(measure("loaded", spec, args.pollers, args.sse, period, args.client_nice))
        print(json.dumps(rows[-1]), flush=True)
    quiet = rows[0]
    print("| poll every s | requests/s | render s | ratio | requests | errors | p50 ms | p95 ms | p99 ms | max ms "
          "| server CPU s | load CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ratio = row["render_s"] / quiet["render_s"]
        rate = round(row["requests"] / row["render_s"]) if row["requests"] else 0
        print(f"| {row['poll_s'] or 'no load'} | {rate} | {row['render_s']} | {ratio:.3f} | {row['requests']} | "
              f"{row['errors']} | {row.get('p50_ms', '')} | {row.get('p95_ms', '')} | {row.get('p99_ms', '')} | "
              f"{row.get('max_ms', '')} | {row['server_cpu_s']} | {row['load_cpu_s']} |")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "service.json").write_text(json.dumps({
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "seconds": args.seconds, "pollers": args.pollers, "sse": args.sse, "client_nice": args.client_nice,
        "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
