"""The job API through httpx against the app: submit, validate, list, follow, download, cancel,
resume, upload."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from reelforge.ffmpeg.probe import probe
from tests.service.conftest import png_bytes, read_sse, tiny_timeline, wait_for


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok" and ready.json()["artifacts"] == "ok"
    assert "/v1/jobs" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_render_job_runs_streams_and_downloads(client: TestClient, tmp_path: Path) -> None:
    created = client.post("/v1/jobs", json={"kind": "render", "spec": tiny_timeline(1.5)})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["status"] == "queued" and job["kind"] == "render" and job["links"]["events"].endswith("/events")
    with client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = read_sse(stream.iter_lines())
    types = [e["event"] for e in events]
    assert types[0] == "job.status" and types[-1] == "job.finished" and "step.progress" in types
    assert events[-1]["data"]["status"] == "succeeded"
    assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    (video,) = done["artifacts"]
    assert video["name"] == "video.mp4" and video["media_type"] == "video/mp4"
    body = client.get(video["url"])
    assert body.status_code == 200 and body.headers["content-type"] == "video/mp4"
    out = tmp_path / "got.mp4"
    out.write_bytes(body.content)
    assert abs(probe(out).duration - 1.5) < 0.15
    part = client.get(video["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"].startswith("bytes 0-99/")
    # resuming the stream from the middle gives only what came after
    middle = events[len(events) // 2]["id"]
    with client.stream("GET", f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": middle}) as stream:
        rest = read_sse(stream.iter_lines())
    assert [e["id"] for e in rest] == [e["id"] for e in events if int(e["id"]) > int(middle)]


def test_bad_spec_is_422_naming_the_field(client: TestClient) -> None:
    spec = tiny_timeline()
    spec["clips"][0]["transition"] = {"name": "wipe-sideways"}
    answer = client.post("/v1/jobs", json={"kind": "render", "spec": spec})
    assert answer.status_code == 422
    body = answer.json()
    assert "not a valid timeline" in body["detail"]
    fields = [p["field"] for p in body["problems"]]
    assert any(f.startswith("spec.clips[0].transition") or f.startswith("spec.clips.0.transition") for f in fields), fields
    assert client.post("/v1/jobs", json={"kind": "nope", "spec": {}}).status_code == 422
    bad = client.post("/v1/jobs", json={"kind": "image", "spec": {"prompt": "x", "count": 99}}).json()
    assert bad["problems"][0]["field"] == "spec.count"
    assert client.get("/v1/jobs").json()["total"] == 0  # nothing was accepted


def test_list_filters_and_paginates(client: TestClient) -> None:
    ids = [client.post("/v1/jobs", json={"kind": "text", "spec": {"text": f"T{i}"}}).json()["id"] for i in range(3)]
    for job_id in ids:
        assert wait_for(client, job_id)["status"] == "succeeded"
    page = client.get("/v1/jobs", params={"limit": 2}).json()
    assert page["total"] == 3 and [j["id"] for j in page["items"]] == ids[::-1][:2]
    assert client.get("/v1/jobs", params={"limit": 2, "offset": 2}).json()["items"][0]["id"] == ids[0]
    assert client.get("/v1/jobs", params={"kind": "render"}).json()["total"] == 0
    assert client.get("/v1/jobs", params={"status": "succeeded"}).json()["total"] == 3
    text = client.get(f"/v1/jobs/{ids[0]}").json()
    assert text["artifacts"][0]["name"] == "text.png" and text["artifacts"][0]["media_type"] == "image/png"


def test_image_job_with_the_local_provider_and_plan(client: TestClient) -> None:
    spec = {"prompt": "a red fox", "count": 2, "aspect": "16:9", "provider": "local"}
    plan = client.post("/v1/jobs/plan", json={"kind": "image", "spec": spec})
    assert plan.status_code == 200, plan.text
    assert plan.json()["calls"] == 2 and plan.json()["estimate_usd"] == 0
    job = wait_for(client, client.post("/v1/jobs", json={"kind": "image", "spec": spec}).json()["id"])
    assert job["status"] == "succeeded", job
    assert len(job["artifacts"]) == 2 and all(a["media_type"] == "image/png" for a in job["artifacts"])
    again = client.post("/v1/jobs/plan", json={"kind": "image", "spec": spec}).json()
    assert again["cached"] == 2 and again["calls"] == 0


def test_upload_then_cutout_then_chain_by_job_reference(client: TestClient) -> None:
    up = client.post("/v1/uploads", files={"file": ("box.png", png_bytes(), "text/plain")})
    assert up.status_code == 201, up.text
    assert up.json()["media_type"] == "image/png"  # sniffed, not the declared type
    job = wait_for(client, client.post("/v1/jobs", json={"kind": "cutout", "spec": {
        "inputs": [up.json()["ref"]], "method": "key"}}).json()["id"])
    assert job["status"] == "succeeded", job
    (cut,) = job["artifacts"]
    assert cut["media_type"] == "image/png"
    again = wait_for(client, client.post("/v1/jobs", json={"kind": "cutout", "spec": {
        "inputs": [f"job:{job['id']}/{cut['name']}"], "method": "key", "crop": True}}).json()["id"])
    assert again["status"] == "succeeded", again


def test_cancel_a_running_render_kills_ffmpeg(client: TestClient) -> None:
    spec = tiny_timeline(60)
    spec["canvas"] = {"width": 1280, "height": 720, "fps": 30}
    job = client.post("/v1/jobs", json={"kind": "render", "spec": spec}).json()
    deadline = time.monotonic() + 30
    while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    started = time.monotonic()
    answer = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert time.monotonic() - started < 3
    assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"  # no stale 'running' answer
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 409
    resumed = client.post(f"/v1/jobs/{job['id']}/resume")
    assert resumed.status_code == 202 and resumed.json()["status"] == "queued"
    client.post(f"/v1/jobs/{job['id']}/cancel")


def test_polling_a_running_job_reads_the_database_once_per_refresh(client: TestClient) -> None:
    spec = tiny_timeline(60)
    spec["canvas"] = {"width": 1280, "height": 720, "fps": 30}
    job = client.post("/v1/jobs", json={"kind": "render", "spec": spec}).json()
    deadline = time.monotonic() + 30
    while client.get(f"/v1/jobs/{job['id']}").json()["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # ffmpeg reports progress
    state = client.app.state  # type: ignore[attr-defined]
    reads, real_get = [], state.store.get
    state.store.get = lambda job_id: reads.append(job_id) or real_get(job_id)
    try:
        started, answers = time.monotonic(), [client.get(f"/v1/jobs/{job['id']}").json() for _ in range(60)]
        elapsed = time.monotonic() - started
    finally:
        state.store.get = real_get
        client.post(f"/v1/jobs/{job['id']}/cancel")
    assert all(a["status"] == "running" and a["id"] == job["id"] for a in answers)
    progress = [a["progress"] for a in answers]
    assert progress == sorted(progress) and progress[-1] > 0  # live progress, never going back
    refreshes = elapsed / state.live_views.max_age_s
    assert len(reads) <= refreshes + 2, (len(reads), elapsed)  # not one read per poll


def test_queue_is_bounded_and_in_order(tmp_path: Path) -> None:
    from reelforge.service.app import create_app
    from tests.service.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path), workers=1)) as c:
        ids = [c.post("/v1/jobs", json={"kind": "render", "spec": tiny_timeline(1, f"n{i}")}).json()["id"]
               for i in range(3)]
        seen_running = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = {j["id"]: j["status"] for j in c.get("/v1/jobs").json()["items"]}
            running = [i for i in ids if jobs[i] == "running"]
            assert len(running) <= 1
            seen_running.update(running)
            if all(jobs[i] == "succeeded" for i in ids):
                break
            time.sleep(0.02)
        finished = [c.get(f"/v1/jobs/{i}").json()["finished_at"] for i in ids]
        assert finished == sorted(finished)


def test_polls_that_find_a_view_expired_share_one_rebuild() -> None:
    """A hundred pollers arriving while a running job's view is rebuilt wait for that rebuild
    (one database read), instead of a hundred reads at the moment the answer expires; a failed
    rebuild (the job vanished: 404) reaches every waiter."""
    import asyncio

    from fastapi import HTTPException

    from reelforge.service.live_views import LiveViews

    views, builds = LiveViews(max_age_s=60), []

    async def build() -> bytes:
        builds.append(1)
        await asyncio.sleep(0.05)
        return b'{"status": "running"}'

    async def polls() -> list[bytes]:
        return await asyncio.gather(*(views.answer("j1", 7, build) for _ in range(100)))

    assert asyncio.run(polls()) == [b'{"status": "running"}'] * 100
    assert len(builds) == 1
    assert asyncio.run(polls()) == [b'{"status": "running"}'] * 100 and len(builds) == 1  # still fresh

    async def vanished() -> bytes:
        builds.append(1)
        await asyncio.sleep(0.05)
        raise HTTPException(404, "no job j2")

    async def failing_polls() -> list[object]:
        return await asyncio.gather(*(views.answer("j2", 1, vanished) for _ in range(20)), return_exceptions=True)

    answers = asyncio.run(failing_polls())
    assert len(builds) == 2 and all(isinstance(a, HTTPException) and a.status_code == 404 for a in answers)
