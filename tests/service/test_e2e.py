"""End to end against a real `reelforge serve` process on 127.0.0.1: a render followed over SSE
and downloaded; the `reelforge jobs` CLI; a server killed with SIGKILL mid-job, restarted, and
the job resumed without one finished image requested from the provider again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reelforge.ffmpeg.probe import probe
from tests.fakes.image_apis import FakeImageAPI
from tests.service.conftest import read_sse, tiny_timeline
from tests.service.server import Server


def test_render_over_sse_and_download(tmp_path: Path) -> None:
    with Server(tmp_path / "data") as server, httpx.Client(base_url=server.url, timeout=60) as client:
        job = client.post("/v1/jobs", json={"kind": "render", "spec": tiny_timeline(2.0)}).json()
        with client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
            events = read_sse(stream.iter_lines())
        assert events[-1]["event"] == "job.finished" and events[-1]["data"]["status"] == "succeeded"
        progress = [e["data"]["job"]["progress"] for e in events if e["event"] == "step.progress"]
        assert progress and progress == sorted(progress)
        done = client.get(f"/v1/jobs/{job['id']}").json()
        out = tmp_path / "video.mp4"
        out.write_bytes(client.get(done["artifacts"][0]["url"]).content)
        assert abs(probe(out).duration - 2.0) < 0.15


def jobs_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REELFORGE_SERVER_URL": server.url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "reelforge", "jobs", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_jobs_cli_submits_waits_lists_and_downloads(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_timeline(1.0)), encoding="utf-8")
    with Server(tmp_path / "data") as server:
        submitted = jobs_cli(server, "submit", "render", str(spec), "--wait")
        assert submitted.returncode == 0, submitted.stderr
        job_id = submitted.stdout.splitlines()[0]
        assert "succeeded" in submitted.stdout and "video.mp4" in submitted.stdout
        assert job_id in jobs_cli(server, "list").stdout
        assert json.loads(jobs_cli(server, "show", job_id).stdout)["status"] == "succeeded"
        got = jobs_cli(server, "download", job_id, "-o", str(tmp_path / "dl"))
        assert got.returncode == 0 and abs(probe(tmp_path / "dl" / "video.mp4").duration - 1.0) < 0.15
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"prompt": "x", "count": 0}), encoding="utf-8")
        refused = jobs_cli(server, "submit", "image", str(bad))
        assert refused.returncode == 2 and "spec.count" in refused.stderr
        assert jobs_cli(server, "cancel", job_id).returncode == 2  # finished jobs can't be cancelled


def test_killed_server_job_is_interrupted_and_resumes_without_paying_twice(tmp_path: Path) -> None:
    prompts = [f"scene {i}: a lighthouse at dusk" for i in range(12)]
    with FakeImageAPI("gemini", delay=0.4) as api:
        env = {**api.env(), "REELFORGE_LIMITS": json.dumps({"gemini": {"rpm": 0, "max_concurrency": 2}})}
        server = Server(tmp_path / "data", env=env).start()
        try:
            spec = {"prompt": prompts[0], "more_prompts": prompts[1:], "provider": "gemini"}
            job = httpx.post(f"{server.url}/v1/jobs", json={"kind": "image", "spec": spec}).json()
            deadline = time.monotonic() + 60
            while len(api.prompts(status=200)) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # let the exporter write what finished
            server.kill()
            out = tmp_path / "data" / "jobs" / job["id"] / "out"
            finished = {int(p.name.split("-")[0]) for p in out.glob("*.png")}
            first_run = len(api.calls)
            assert 2 <= len(finished) < len(prompts)
            server = Server(tmp_path / "data", env=env, port=server.port).start()
            shown = httpx.get(f"{server.url}/v1/jobs/{job['id']}").json()
            assert shown["status"] == "interrupted" and "resume" in shown["error"]["hint"]
            resumed = httpx.post(f"{server.url}/v1/jobs/{job['id']}/resume")
            assert resumed.status_code == 202
            with httpx.stream("GET", f"{server.url}/v1/jobs/{job['id']}/events", timeout=120) as stream:
                events = read_sse(stream.iter_lines())
            assert events[-1]["data"]["status"] == "succeeded", events[-1]
            done = httpx.get(f"{server.url}/v1/jobs/{job['id']}").json()
            assert done["status"] == "succeeded" and done["attempts"] == 2 and len(done["artifacts"]) == 12
            again = set(api.prompts(since=first_run))
        finally:
            server.stop()
    finished_prompts = {prompts[i - 1] for i in finished}
    assert not again & finished_prompts  # nothing finished was requested (or paid for) again
    assert again <= set(prompts) - finished_prompts
    assert any(e["event"] == "step.cached" for e in events)
