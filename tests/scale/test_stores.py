"""The shared parts a deployment with many workers runs on, each against the real server on
127.0.0.1: the S3 artifact store (moto's S3 server), provider limits and the circuit breaker in
Redis (gates of separate 'workers' share only Redis), and the step lease in PostgreSQL (two
runners on one step key pay once; a lease a dead holder on another machine left expires)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from reelforge.errors import ProviderError
from reelforge.providers.limits import Limits
from reelforge.runtime import (
    ActionResult,
    Artifact,
    Runner,
    RunStore,
    Step,
    StepContext,
    StepOutput,
    StepResult,
)
from reelforge.runtime.breaker import CircuitOpen
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.limits import ProviderGate
from reelforge.runtime.pricing import Price, PricingTable
from reelforge.runtime.redis_gates import RedisGates
from reelforge.runtime.s3store import S3ArtifactStore
from reelforge.settings import Settings
from tests.scale.services import REDIS, S3_ENV, make_bucket


def s3_store(endpoint: str, tmp_path: Path, prefix: str = "team/a") -> S3ArtifactStore:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", s3_endpoint_url=endpoint,
                        artifacts_url=f"s3://{make_bucket(endpoint)}/{prefix}",
                        **{k.removeprefix("REELFORGE_").lower(): v for k, v in S3_ENV.items()})
    return S3ArtifactStore.from_settings(settings)


# --- S3 artifact store --------------------------------------------------------------------------

def test_s3_store_keeps_objects_by_digest_and_results_by_key(s3_endpoint: str, tmp_path: Path) -> None:
    store = s3_store(s3_endpoint, tmp_path)
    png = bytes(range(256)) * 300
    a = store.put_bytes(png, "image/png", {"prompt": "fox"})
    assert store.put_bytes(png, "image/png").digest == a.digest  # stored once
    keys = [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert keys == [f"team/a/objects/{a.digest[:2]}/{a.digest}"]
    big = tmp_path / "clip.bin"
    big.write_bytes(b"x" * (17 * 1024 * 1024))  # multipart: visible only once complete
    b = store.put_file(big, "video/mp4")
    assert store.has(a) and store.has(b) and store.read_bytes(a) == png
    assert store.export(b, tmp_path / "out" / "clip.mp4").stat().st_size == big.stat().st_size
    assert httpx.get(store.presigned_url(a)).content == png
    assert store.get_result("k" * 64) is None
    store.put_result(StepResult("k" * 64, "image.generate", (a, b), 0.04, {"seed": 1}))
    got = store.get_result("k" * 64)
    assert got is not None and got.artifacts == (a, b) and got.cost_usd == 0.04
    # a result naming an object the bucket lost is no result: the step runs again
    store.put_result(StepResult("m" * 64, "image.generate", (Artifact("0" * 64, "image/png", 3),)))
    assert store.get_result("m" * 64) is None


class Counted:
    """A paid action that takes 0.3 s and counts its calls by step key (across threads)."""

    kind, version, capability = "test.paid", 1, "test"

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    async def run(self, ctx: StepContext) -> ActionResult:
        with self.lock:
            self.calls[ctx.step.params["scene"]] = self.calls.get(ctx.step.params["scene"], 0) + 1
        await asyncio.sleep(0.3)
        return ActionResult([StepOutput(f"frame of {ctx.step.params['scene']}".encode(), "text/plain")])


def _run_in_thread(ctx: RuntimeContext, action: Counted, steps: list[Step], out: list[str]) -> threading.Thread:
    def work() -> None:
        report = asyncio.run(Runner(actions={"test.paid": action}, context=ctx).run(steps))
        out.append(report.state)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_two_workers_with_the_same_scenes_at_once_pay_once_per_scene(
        s3_endpoint: str, postgres_url: str, tmp_path: Path) -> None:
    """Two runners — each with its own database connection, as on two machines — share only
    PostgreSQL (the step leases) and S3 (the results)."""
    store = s3_store(s3_endpoint, tmp_path)
    pricing = PricingTable("x", (Price("fake", "*", "image", 0.04),))
    action, states = Counted(), []
    steps = [Step(f"scene{i}", "test.paid", {"scene": f"s{i}"}, provider="fake", model="m", billing=("image", 1))
             for i in range(6)]
    contexts = [RuntimeContext(settings=Settings(data_dir=tmp_path / f"w{n}"), store=store, pricing=pricing,
                               records=RunStore(postgres_url)) for n in range(2)]
    threads = [_run_in_thread(ctx, action, steps, states) for ctx in contexts]
    for thread in threads:
        thread.join(60)
    assert states == ["succeeded", "succeeded"]
    assert action.calls == {f"s{i}": 1 for i in range(6)}
    for ctx in contexts:
        ctx.close_sync()


def test_a_lease_left_by_a_dead_holder_on_another_machine_expires(postgres_url: str) -> None:
    records = RunStore(postgres_url)
    assert records.acquire_step_lease("k" * 64, "worker-7:4242:abc", 1.0)  # another host: no pid to check
    assert not records.acquire_step_lease("k" * 64, "here:1:def", 30)
    time.sleep(1.2)
    assert records.acquire_step_lease("k" * 64, "here:1:def", 30)
    records.engine.dispose()


# --- limits and breaker in Redis ---------------------------------------------------------------

def _gate(prefix: str, limits: Limits, used_today: int = 0, slot_ttl_s: float = 30.0) -> ProviderGate:
    return ProviderGate("fake", limits, used_today, RedisGates(REDIS, prefix=prefix, slot_ttl_s=slot_ttl_s))


def test_three_workers_share_one_concurrency_limit_and_one_pace(redis_prefix: str) -> None:
    """Three 'workers' (threads with their own event loop and Redis connection) make 36 calls
    to a provider limited to 4 in flight and 600/min: never more than 4 at once, starts at
    least 0.1 s apart across all three."""
    limits = Limits(max_concurrency=4, rpm=600)
    lock, in_flight, peak, starts = threading.Lock(), [0], [0], []

    async def worker() -> None:
        gate = _gate(redis_prefix, limits)

        async def call() -> None:
            async with gate.slot():
                with lock:
                    in_flight[0] += 1
                    peak[0] = max(peak[0], in_flight[0])
                    starts.append(time.monotonic())
                await asyncio.sleep(0.6)
                with lock:
                    in_flight[0] -= 1
            gate.record(None)

        await asyncio.gather(*(call() for _ in range(12)))

    threads = [threading.Thread(target=asyncio.run, args=(worker(),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    starts.sort()
    assert len(starts) == 36 and peak[0] == 4
    # no burst: the i-th start comes no sooner than i grid steps (0.1 s) after the first; a late
    # wake-up on a busy machine may bunch two starts, never get ahead of the grid
    assert all(t - starts[0] >= 0.1 * i - 0.03 for i, t in enumerate(starts)), starts


def test_a_slot_held_by_a_killed_worker_lapses(redis_prefix: str, tmp_path: Path) -> None:
    holder = (f"import asyncio, sys\nfrom reelforge.runtime.redis_gates import RedisGates\n"
              f"from reelforge.providers.limits import Limits\n"
              f"c = RedisGates({REDIS!r}, prefix={redis_prefix!r}, slot_ttl_s=1.5).concurrency('fake', Limits(max_concurrency=1))\n"
              "async def main():\n    async with c.slot():\n        print('held', flush=True)\n        await asyncio.sleep(600)\n"
              "asyncio.run(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        time.sleep(2.0)  # renewed while alive: still held after its TTL
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        gate = _gate(redis_prefix, Limits(max_concurrency=1), slot_ttl_s=1.5)
        assert gate.concurrency.in_flight == 1  # type: ignore[attr-defined]

        async def take() -> float:
            began = time.monotonic()
            async with gate.slot():
                return time.monotonic() - began

        waited = asyncio.run(take())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert 0.3 < waited < 3.0


def test_the_breaker_opens_for_every_worker_and_one_probe_tests_it(redis_prefix: str) -> None:
    limits = Limits(breaker_threshold=3, breaker_cooldown_s=1.0)
    a, b = _gate(redis_prefix, limits), _gate(redis_prefix, limits)
    for _ in range(3):
        a.breaker.before_call()
        a.record(ProviderError("fake", "503 Service Unavailable", reason="server"))
    with pytest.raises(CircuitOpen, match="3 calls failed in a row .*503"):
        b.breaker.before_call()
    time.sleep(1.1)
    b.breaker.before_call()  # the one probe, for the whole deployment
    with pytest.raises(CircuitOpen):
        a.breaker.before_call()
    b.record(None)
    assert a.breaker.state == "closed"
    a.breaker.before_call()


def test_daily_quota_and_back_off_are_shared(redis_prefix: str) -> None:
    limits = Limits(rpd=5, max_concurrency=8)
    a, b = _gate(redis_prefix, limits, used_today=2), _gate(redis_prefix, limits, used_today=2)
    a.quota.take()
    b.quota.take()
    a.quota.take()
    with pytest.raises(ProviderError, match="daily limit of 5 .*every worker"):
        b.quota.take()
    a.record(ProviderError("fake", "429", reason="rate_limited", retry_after=0.6))
    assert b.concurrency.limit == 4  # halved for everyone

    async def paused() -> float:
        began = time.monotonic()
        await b.concurrency.wait_if_paused()
        return time.monotonic() - began

    assert 0.3 < asyncio.run(paused()) < 1.0


def test_context_from_settings_uses_s3_and_redis_when_named(s3_endpoint: str, redis_prefix: str,
                                                            tmp_path: Path) -> None:
    bucket = make_bucket(s3_endpoint)
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache", artifacts_url=f"s3://{bucket}/p",
                        s3_endpoint_url=s3_endpoint, redis_url=REDIS, redis_prefix=redis_prefix,
                        **{k.removeprefix("REELFORGE_").lower(): v for k, v in S3_ENV.items()})
    ctx = RuntimeContext.from_settings(settings, records=False)
    assert isinstance(ctx.store, S3ArtifactStore) and ctx.store.bucket == bucket
    assert isinstance(ctx.gates.factory, RedisGates)
    ctx.close_sync()


def test_a_job_is_claimed_by_one_worker_and_taken_over_when_its_lease_lapses(postgres_url: str) -> None:
    from reelforge.service.store import JobStore

    jobs = JobStore(postgres_url)
    job = jobs.create("image", {"prompt": "x"}, {})
    assert jobs.claim(job.id, "worker-a", 1.0)[0]
    taken, before = jobs.claim(job.id, "worker-b", 30)
    assert not taken and before is not None and before.worker == "worker-a"  # a live lease: put back
    assert jobs.renew_lease(job.id, "worker-a", 1.0) and not jobs.renew_lease(job.id, "worker-b", 1.0)
    time.sleep(1.2)  # worker-a died: its lease lapses
    taken, before = jobs.claim(job.id, "worker-b", 30)
    assert taken and before is not None and before.status == "running" and before.worker == "worker-a"
    row = jobs.get(job.id)
    assert row is not None and row.worker == "worker-b" and row.attempts == 2
    assert not jobs.renew_lease(job.id, "worker-a", 30)  # the old holder learns it lost the job
    assert not jobs.cancel_queued(job.id)  # running: cancelled through the worker, not here
    jobs.engine.dispose()
