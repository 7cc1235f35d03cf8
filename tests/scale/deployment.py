"""A whole deployment on 127.0.0.1 for the scale-out tests and the benchmark: `reelforge serve`
and N `reelforge worker` processes on the real Redis (broker, limits), PostgreSQL (jobs, run
records) and an S3 server (artifacts), with the fake image provider."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.scale.services import REDIS, S3_ENV, free_port


class Process:
    """A child process with its output in a log file; always stopped by `stop()` (bounded)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
        if self.popen.returncode is None:
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


class Deployment:
    def __init__(self, root: Path, *, redis_prefix: str, database: str, s3_endpoint: str, bucket: str,
                 provider_env: dict[str, str], limits: dict[str, Any], visibility_s: float = 6,
                 job_lease_s: float = 3) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **S3_ENV, **provider_env,
                    "REELFORGE_DATA_DIR": str(root / "data"), "REELFORGE_CACHE_DIR": str(root / "cache"),
                    "REELFORGE_BROKER_URL": REDIS, "REELFORGE_REDIS_PREFIX": redis_prefix,
                    "REELFORGE_DATABASE_URL": database, "REELFORGE_ARTIFACTS_URL": f"s3://{bucket}/artifacts",
                    "REELFORGE_S3_ENDPOINT_URL": s3_endpoint, "REELFORGE_LIMITS": json.dumps(limits),
                    "REELFORGE_TASK_VISIBILITY_S": str(visibility_s), "REELFORGE_JOB_LEASE_S": str(job_lease_s),
                    "REELFORGE_LOG_LEVEL": "info"}
        self.port = free_port()
        self.server: Process | None = None
        self.workers: list[Process] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_server(self, timeout: float = 60) -> None:
        # a data folder of its own, as on another machine: outputs come from the S3 store
        env = {**self.env, "REELFORGE_DATA_DIR": str(self.root / "serve-data")}
        self.server = Process([sys.executable, "-m", "reelforge", "serve", "--port", str(self.port)], env,
                              self.root / "serve.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.server.alive(), self.server.text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.server.text()}")

    def start_worker(self, concurrency: int, *extra: str) -> Process:
        n = len(self.workers)
        worker = Process([sys.executable, "-m", "reelforge", "worker", "--concurrency", str(concurrency), *extra],
                         self.env, self.root / f"worker-{n}.log")
        self.workers.append(worker)
        return worker

    def wait_ready(self, worker: Process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in worker.text():
            assert worker.alive() and time.monotonic() < deadline, worker.text()
            time.sleep(0.1)

    def submit(self, kind: str, spec: dict[str, Any]) -> str:
        answer = httpx.post(f"{self.url}/v1/jobs", json={"kind": kind, "spec": spec}, timeout=30)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/v1/jobs/{job_id}", timeout=30).json())

    def wait_all(self, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        done: dict[str, dict[str, Any]] = {}
        while len(done) < len(ids):
            assert time.monotonic() < deadline, f"unfinished: {set(ids) - set(done)}\n{self.logs()}"
            for job_id in set(ids) - set(done):
                job = self.job(job_id)
                if job["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
                    done[job_id] = job
            time.sleep(0.2)
        return done

    def events(self, job_id: str) -> list[str]:
        body = httpx.get(f"{self.url}/v1/jobs/{job_id}/events", timeout=60).text
        return [line[6:].strip() for line in body.splitlines() if line.startswith("event:")]

    def logs(self) -> str:
        parts = [self.server.text()[-3000:]] if self.server else []
        return "\n".join(parts + [w.text()[-3000:] for w in self.workers])

    def stop(self) -> None:
        processes = [*self.workers, *([self.server] if self.server else [])]
        for process in processes:  # all at once: each finishes its shutdown in parallel
            if process.alive():
                process.popen.terminate()
        for process in processes:
            process.stop()
