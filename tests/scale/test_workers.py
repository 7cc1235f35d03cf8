"""End to end with workers: `reelforge serve` and two `reelforge worker` processes on the real
Redis (broker and shared limits), PostgreSQL (jobs, records, step leases) and an S3 server
(artifacts), against the fake image provider, which answers 429 above 4 requests in flight.

- 20 jobs: all succeed, no 429, every prompt requested once — also with one worker SIGKILLed
  mid-run (its jobs go to the other worker, say they were retried, and only the calls that were
  in flight at the fake when it died are made again).
- two jobs with identical scenes submitted at the same moment: one provider call per scene.
- a cancellation reaches the worker running the job; readyz checks the broker; workers answer a ping."""

from __future__ import annotations

import collections
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.fakes.image_apis import FakeImageAPI
from tests.scale.deployment import Deployment
from tests.scale.services import make_bucket, unavailable

LIMITS = {"gemini": {"max_concurrency": 4, "rpm": 0, "max_attempts": 1}}  # a 429 would fail the job


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeImageAPI]:
    with FakeImageAPI("gemini", delay=0.5, max_concurrent=4) as api:
        yield api


def _deployment(tmp_path: Path, fake: FakeImageAPI, redis_prefix: str, postgres_url: str,
                s3_endpoint: str) -> Deployment:
    return Deployment(tmp_path, redis_prefix=redis_prefix, database=postgres_url, s3_endpoint=s3_endpoint,
                      bucket=make_bucket(s3_endpoint), provider_env=fake.env(), limits=LIMITS)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, fake: FakeImageAPI, module_redis_prefix: str,
               module_postgres_url: str, s3_endpoint: str) -> Iterator[Deployment]:
    """One deployment for the module; the test that kills a worker runs last."""
    try:
        import celery  # noqa: F401
    except ImportError:
        unavailable("Celery is missing: pip install 'reelforge[scale]'")
    d = _deployment(tmp_path_factory.mktemp("deployment"), fake, module_redis_prefix, module_postgres_url,
                    s3_endpoint)
    try:
        workers = [d.start_worker(3, "--log-format", "json"), d.start_worker(3)]
        d.start_server()
        for worker in workers:
            d.wait_ready(worker)
        yield d
    finally:
        d.stop()


def _unstored_at(fake: FakeImageAPI, moment: float, margin_s: float = 1.0) -> set[str]:
    """Prompts whose call was in flight at `moment`, or answered less than `margin_s` before it:
    a worker killed then had paid for them but may not have stored the result yet."""
    return {c.prompt for c in list(fake.calls)
            if c.started <= moment and (c.ended == 0 or c.ended >= moment - margin_s)}


def test_identical_scenes_at_once_cost_one_call_each_and_cancel_reaches_the_worker(
        deployment: Deployment, fake: FakeImageAPI) -> None:
    scenes = [f"a lighthouse at dusk, shot {i}" for i in range(4)]
    spec = {"prompt": scenes[0], "more_prompts": scenes[1:], "provider": "gemini"}
    twins = [deployment.submit("image", spec), deployment.submit("image", spec)]
    done = deployment.wait_all(twins, timeout=60)
    assert [j["status"] for j in done.values()] == ["succeeded", "succeeded"]
    # the service has its own data folder: the outputs come from the S3 store (a redirect)
    first = done[twins[0]]["artifacts"][0]
    got = httpx.get(f"{deployment.url}{first['url']}", follow_redirects=True, timeout=30)
    assert got.status_code == 200 and got.content.startswith(b"\x89PNG") and len(got.content) == first["size"]
    assert Image.open(io.BytesIO(got.content)).size == (64, 36)  # the fake's image
    assert collections.Counter(p for p in fake.prompts() if p in scenes) == {s: 1 for s in scenes}
    # a long job, cancelled once its worker has started calling the provider
    many = [f"a slow harbour, frame {i}" for i in range(30)]
    job_id = deployment.submit("image", {"prompt": many[0], "more_prompts": many[1:], "provider": "gemini"})
    deadline = time.monotonic() + 30
    while not set(fake.prompts(status=200)) & set(many):
        assert time.monotonic() < deadline, deployment.logs()
        time.sleep(0.05)
    assert httpx.post(f"{deployment.url}/v1/jobs/{job_id}/cancel", timeout=10).status_code == 200
    cancelled = deployment.wait_all([job_id], timeout=30)[job_id]
    asked = len(set(fake.prompts()) & set(many))
    time.sleep(1.0)
    assert cancelled["status"] == "cancelled" and asked < len(many)
    assert len(set(fake.prompts()) & set(many)) <= asked + 4  # only what was in flight
    ready = httpx.get(f"{deployment.url}/readyz", timeout=10).json()
    assert ready["broker"] == "ok" and ready["artifacts"] == "ok" and ready["database"] == "ok"
    ping = subprocess.run([sys.executable, "-m", "reelforge", "worker", "--ping"], env=deployment.env,
                          capture_output=True, text=True, timeout=60)
    assert ping.returncode == 0 and ping.stdout.count(": pong") == 2, ping.stdout + ping.stderr
    lines = [json.loads(line) for line in deployment.workers[0].text().splitlines() if line.strip()]
    assert any(" ready." in entry["event"] for entry in lines)  # --log-format json: every line is JSON


def test_jobs_submit_direct_enqueues_without_the_server(deployment: Deployment, fake: FakeImageAPI,
                                                        tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"prompt": "a blue tram in fog", "provider": "gemini"}), encoding="utf-8")
    cli = [sys.executable, "-m", "reelforge", "jobs", "submit", "image", str(spec), "--direct"]
    done = subprocess.run([*cli, "--wait"], env=deployment.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "succeeded" in done.stdout, done.stdout + done.stderr
    job = deployment.job(done.stdout.split()[0])
    assert job["status"] == "succeeded" and len(job["artifacts"]) == 1
    assert fake.prompts().count("a blue tram in fog") == 1
    spec.write_text(json.dumps({"prompt": "x", "count": 0}), encoding="utf-8")
    refused = subprocess.run(cli, env=deployment.env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "spec.count" in refused.stderr


def test_twenty_jobs_on_two_workers_one_killed_mid_run(deployment: Deployment, fake: FakeImageAPI) -> None:
    prompts = [[f"job {j} scene {s}: a red kite over dunes" for s in range(2)] for j in range(20)]
    ids = [deployment.submit("image", {"prompt": p[0], "more_prompts": p[1:], "provider": "gemini"})
           for p in prompts]
    deadline = time.monotonic() + 60
    while len(fake.prompts(status=200)) < 10:
        assert time.monotonic() < deadline, deployment.logs()
        time.sleep(0.05)
    killed_at = time.time()
    deployment.workers[0].kill()
    jobs = deployment.wait_all(ids, timeout=120)
    assert set(fake.prompts()) >= {p for job in prompts for p in job}
    assert {j["status"] for j in jobs.values()} == {"succeeded"}, [j["error"] for j in jobs.values()]
    assert all(len(j["artifacts"]) == 2 for j in jobs.values())
    assert fake.rejected == 0 and not fake.prompts(status=429)  # the shared limit held: zero 429s
    assert fake.max_in_flight <= 4
    mine = {p for job in prompts for p in job}
    requested = collections.Counter(p for p in fake.prompts() if p in mine)
    assert set(requested) == mine
    repeated = {p for p, n in requested.items() if n > 1}
    unstored = _unstored_at(fake, killed_at)
    timing = {c.prompt: (round(c.started - killed_at, 2), round(c.ended - killed_at, 2)) for c in fake.calls
              if c.prompt in repeated}
    assert repeated <= unstored and max(requested.values()) <= 2, timing
    retried = [j for j in jobs.values() if j["attempts"] > 1]
    assert retried, "the killed worker was running jobs: they must have been taken over"
    events = deployment.events(retried[0]["id"])
    assert "job.retried" in events and events[-1] == "job.finished"


def test_worker_refuses_to_start_without_a_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REELFORGE_BROKER_URL"}
    run = subprocess.run([sys.executable, "-m", "reelforge", "worker"], env={**env, "REELFORGE_DATA_DIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "REELFORGE_BROKER_URL" in run.stderr
