"""Generation runtime benchmark: 100 prompts against a local fake image API that answers after
2.1 s and returns 429 to any request beyond 10 in flight (like a real per-key quota).

Four methods, one fresh fake server each, all in the same run:

  reelforge-c10    reelforge's runtime (ImageJob → Runner) with the gemini adapter (google-genai's
                   async client) and max_concurrency=10, no RPM limit. Target: ≤ 1.1 × 21 s and no 429.
  reelforge-60rpm  the same with rpm=60 (and max_concurrency=10). The limit implies 100 s for 100
                   calls; target: within 2 %.
  reelforge-c20    max_concurrency=20, twice what the service allows: the first burst draws 429s,
                   the runtime halves its concurrency and waits out the RetryInfo; target: every
                   image, each prompt paid once, the breaker never opens.
  serial           a plain loop over google-genai's blocking client (client.models.generate_content).
  gather-blocking  the pattern in our research notes: `async def` wrapping the blocking call,
                   run with asyncio.gather — it looks parallel but runs one call at a time.

Each method's figures: wall seconds, images written/returned, requests the server saw, 429s it
sent, and the most requests it had in flight at once.

usage: python bench/bench_runtime.py [--prompts 100] [--only reelforge-c10,serial] [--delay 2.1]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # tests/fakes.py: the fake API the contract tests use

from tests.fakes.image_apis import FakeImageAPI  # noqa: E402

MAX_CONCURRENT = 10
METHODS = ("reelforge-c10", "reelforge-60rpm", "reelforge-c20", "serial", "gather-blocking")


def prompts(n: int) -> list[str]:
    return [f"scene {i:03d}: a lighthouse at dusk, cinematic, 16:9" for i in range(n)]


def run_reelforge(api: FakeImageAPI, items: list[str], limits: dict[str, Any]) -> int:
    from reelforge.pipelines.images import ImageItem, ImageJob
    from reelforge.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["REELFORGE_DATA_DIR"] = str(Path(tmp) / "data")  # fresh cache: every call is real
        job = ImageJob([ImageItem(p, aspect="16:9") for p in items], Path(tmp) / "out", "gemini", Settings(),
                       limits={"timeout_s": 30, **limits})
        result = job.run()
        failed = [o.error for o in result.report.failed] if result.report else []
        if failed:  # say why, so a short count is never a mystery
            print(json.dumps({"failed_steps": len(failed), "first_error": failed[0]}), flush=True)
        return sum(len(paths) for paths in result.files.values())


def sync_client(api: FakeImageAPI) -> Any:
    from google import genai
    from google.genai import types

    return genai.Client(api_key=api.key, http_options=types.HttpOptions(base_url=api.url))


def image_config() -> Any:
    from google.genai import types

    return types.GenerateContentConfig(response_modalities=["IMAGE"],
                                       image_config=types.ImageConfig(aspect_ratio="16:9"))


def run_serial(api: FakeImageAPI, items: list[str]) -> int:
    client, config = sync_client(api), image_config()
    return sum(1 for p in items if client.models.generate_content(model="gemini-2.5-flash-image", contents=p,
                                                                   config=config).candidates)


def run_gather_blocking(api: FakeImageAPI, items: list[str]) -> int:
    client, config = sync_client(api), image_config()

    async def generate(prompt: str) -> bool:  # "async", but the call inside blocks the event loop
        response = client.models.generate_content(model="gemini-2.5-flash-image", contents=prompt, config=config)
        return bool(response.candidates)

    async def main() -> list[bool]:
        return await asyncio.gather(*(generate(p) for p in items))

    return sum(asyncio.run(main()))


def import_seconds() -> float:
    """What a cold process pays once before any method can start — imports, and google-genai
    building its request models — excluded from the timings (a long-lived worker or service has
    paid it already)."""
    started = time.perf_counter()
    import google.genai  # noqa: F401

    import reelforge.pipelines.images  # noqa: F401
    import reelforge.providers.images.google  # noqa: F401

    image_config()  # google-genai builds its pydantic request models on first use
    return round(time.perf_counter() - started, 2)


def measure(name: str, n: int, delay: float) -> dict[str, Any]:
    runners: dict[str, Callable[[FakeImageAPI, list[str]], int]] = {
        "reelforge-c10": lambda api, items: run_reelforge(api, items, {"max_concurrency": 10, "rpm": 0}),
        "reelforge-60rpm": lambda api, items: run_reelforge(api, items, {"max_concurrency": 10, "rpm": 60}),
        # set above the service's quota: back-pressure (AIMD on 429) must finish every image
        "reelforge-c20": lambda api, items: run_reelforge(api, items, {"max_concurrency": 20, "rpm": 0}),
        "serial": run_serial,
        "gather-blocking": run_gather_blocking,
    }
    with FakeImageAPI("gemini", delay=delay, max_concurrent=MAX_CONCURRENT) as api:
        os.environ.update(api.env())
        started = time.perf_counter()
        images = runners[name](api, prompts(n))
        wall = time.perf_counter() - started
        return {"method": name, "wall_s": round(wall, 2), "images": images, "requests": len(api.calls),
                "429s": api.rejected, "max_in_flight": api.max_in_flight}


def markdown(rows: list[dict[str, Any]], n: int, delay: float) -> str:
    floor = n * delay / MAX_CONCURRENT
    lines = ["| method | wall s | images | requests | 429s | max in flight | wall ÷ ideal |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ideal = {"reelforge-60rpm": n * 60 / 60}.get(r["method"], floor)
        lines.append(f"| {r['method']} | {r['wall_s']:.2f} | {r['images']} | {r['requests']} | {r['429s']} | "
                     f"{r['max_in_flight']} | {r['wall_s'] / ideal:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--delay", type=float, default=2.1)
    parser.add_argument("--only", default=",".join(METHODS))
    args = parser.parse_args()
    imports = import_seconds()
    print(f"cold imports (excluded from timings): {imports} s", flush=True)
    rows = []
    for name in args.only.split(","):
        row = measure(name, args.prompts, args.delay)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(markdown(rows, args.prompts, args.delay))
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "runtime.json").write_text(json.dumps({
        "date": dt.date.today().isoformat(), "prompts": args.prompts, "delay_s": args.delay,
        "max_concurrent": MAX_CONCURRENT, "python": platform.python_version(), "cpus": os.cpu_count(),
        "cold_imports_s": imports,
        "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
