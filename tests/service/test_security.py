"""Every item of the service's security list, tried: SSRF (loopback, metadata, IPv6 loopback,
redirects into them, mixed DNS answers, schemes, sizes), server paths in specs, artifact-name
traversal, API keys, CORS, upload and request sizes, a decompression bomb."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from reelforge.service.fetch import FetchRefused, GuardedDownloader, is_public
from tests.service.conftest import make_settings, png_bytes, tiny_timeline, wait_for


class Origin:
    """A local HTTP server: /big (2 MB), /img (a PNG), /to?url=… (302 to url)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/to?url="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/to?url="))
                    self.end_headers()
                    return
                body = b"x" * 2_000_000 if self.path == "/big" else png_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def origin() -> Iterator[Origin]:
    o = Origin()
    yield o
    o.close()


def fetch(url: str, tmp: Path, **kwargs: object) -> Path:
    downloader = GuardedDownloader(max_bytes=kwargs.pop("max_bytes", 1_000_000), timeout_s=5, **kwargs)  # type: ignore[arg-type]
    return asyncio.run(downloader.download(url, tmp / "got"))[0]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254",
                                     "100.100.100.200", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
                                     "224.0.0.1"])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public(address)


def test_public_addresses_pass() -> None:
    assert is_public("93.184.216.34") and is_public("2606:4700::1111")


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/img", "http://localhost:{port}/img", "http://[::1]:{port}/img",
                                 "http://169.254.169.254/latest/meta-data/", "http://2130706433:{port}/img",
                                 "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/",
                                 "http://user:pw@127.0.0.1:{port}/img"])
def test_ssrf_targets_are_refused(url: str, origin: Origin, tmp_path: Path) -> None:
    with pytest.raises(FetchRefused):
        fetch(url.format(port=origin.port), tmp_path)
    assert not (tmp_path / "got").exists()


@pytest.mark.parametrize("target", ["http://127.0.0.1:{other}/img", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]:{other}/img"])
def test_a_redirect_into_a_private_address_is_refused(target: str, origin: Origin, tmp_path: Path) -> None:
    other = Origin()
    try:
        allowed = frozenset({f"127.0.0.1:{origin.port}"})  # the redirector stands in for a public host
        assert fetch(f"http://127.0.0.1:{origin.port}/img", tmp_path, allow=allowed).read_bytes()[:4] == b"\x89PNG"
        with pytest.raises(FetchRefused, match="non-public"):
            fetch(f"http://127.0.0.1:{origin.port}/to?url={target.format(other=other.port)}", tmp_path, allow=allowed)
    finally:
        other.close()


def test_a_host_with_any_private_answer_is_refused(tmp_path: Path) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]  # a rebinding answer

    with pytest.raises(FetchRefused, match="non-public"):
        fetch("http://example.test/x.png", tmp_path, resolver=resolver)


def test_downloads_have_a_size_limit(origin: Origin, tmp_path: Path) -> None:
    allowed = frozenset({f"127.0.0.1:{origin.port}"})
    with pytest.raises(FetchRefused, match="limit"):
        fetch(f"http://127.0.0.1:{origin.port}/big", tmp_path, allow=allowed, max_bytes=1_000_000)
    assert not (tmp_path / "got").exists()


def test_a_job_naming_a_loopback_url_fails_without_fetching(client: TestClient, origin: Origin) -> None:
    job = client.post("/v1/jobs", json={"kind": "cutout", "spec": {
        "inputs": [f"http://127.0.0.1:{origin.port}/img"]}}).json()
    done = wait_for(client, job["id"])
    assert done["status"] == "failed" and "non-public" in done["error"]["message"]


@pytest.mark.parametrize("path", ["/etc/passwd", "../../runs.sqlite", "~/.ssh/id_rsa", "file:///etc/passwd",
                                  "upload:0000000000000000", "job:0000000000000000/video.mp4"])
def test_specs_may_not_name_server_files(client: TestClient, path: str) -> None:
    answer = client.post("/v1/jobs", json={"kind": "cutout", "spec": {"inputs": [path]}})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "spec.inputs.0"
    spec = tiny_timeline()
    spec["clips"][0]["layers"].append({"type": "image", "path": path})
    assert client.post("/v1/jobs", json={"kind": "render", "spec": spec}).status_code == 422
    for field in ("image", "last_frame"):  # a generated clip's frames are files too
        spec = tiny_timeline()
        spec["clips"][0]["layers"].append({"type": "video", "generate": {"image": "sample:coffee", field: path}})
        answer = client.post("/v1/jobs", json={"kind": "render", "spec": spec})
        assert answer.status_code == 422
        assert answer.json()["problems"][0]["field"] == f"spec.clips.0.layers.1.generate.{field}"


def test_artifact_names_cannot_escape_their_job(client: TestClient, settings: object, tmp_path: Path) -> None:
    job = wait_for(client, client.post("/v1/jobs", json={"kind": "text", "spec": {"text": "hi"}}).json()["id"])
    data = settings.data_dir  # type: ignore[attr-defined]
    (data / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    out = data / "jobs" / job["id"] / "out"
    os.symlink(data / "secret.txt", out / "link.png")
    os.symlink(data, out / "dirlink")
    base = f"/v1/jobs/{job['id']}/artifacts/"
    for name in ["../../../secret.txt", "..%2F..%2F..%2Fsecret.txt", "%2e%2e/%2e%2e/%2e%2e/secret.txt",
                 "..%5C..%5C..%5Csecret.txt", "%2Fetc%2Fpasswd", "/etc/passwd", "link.png", "dirlink/secret.txt",
                 "text.png%00.txt", ""]:
        answer = client.get(base + name)
        assert answer.status_code in (404, 400, 405), (name, answer.status_code)
        assert b"TOP SECRET" not in answer.content and b"root:" not in answer.content
    assert client.get(base + "text.png").status_code == 200
    assert client.get(f"/v1/jobs/{'0' * 16}/artifacts/text.png").status_code == 404


def test_api_keys_guard_every_v1_route(tmp_path: Path) -> None:
    from reelforge.service.app import create_app

    with TestClient(create_app(make_settings(tmp_path, api_keys="k-one, k-two"), workers=1)) as c:
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200
        for method, url in [("GET", "/v1/jobs"), ("GET", "/v1/kinds"), ("POST", "/v1/jobs"),
                            ("GET", "/v1/jobs/x"), ("POST", "/v1/uploads"), ("GET", "/v1/jobs/x/events")]:
            assert c.request(method, url).status_code == 401, url
            assert c.request(method, url, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.request(method, url, headers={"X-API-Key": "k-on"}).status_code == 401
        assert c.get("/v1/jobs", headers={"Authorization": "Bearer k-two"}).status_code == 200
        assert c.get("/v1/jobs", headers={"X-API-Key": "k-one"}).status_code == 200
        key = {"X-API-Key": "k-one"}
        job = c.post("/v1/jobs", json={"kind": "text", "spec": {"text": "hi"}}, headers=key).json()
        done = wait_for(c, job["id"], headers=key)
        url = done["artifacts"][0]["url"]
        assert "?t=" in url and c.get(url).status_code == 200  # the link token opens this job's files only
        assert c.get(url.split("?")[0]).status_code == 401
        assert c.get(url.replace(job["id"], "0" * 16)).status_code in (401, 404)


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REELFORGE_API_KEYS"}
    done = subprocess.run([sys.executable, "-m", "reelforge", "serve", "--host", "0.0.0.0", "--port", "1"],
                          capture_output=True, text=True, env={**env, "REELFORGE_DATA_DIR": str(tmp_path)}, timeout=60)
    assert done.returncode == 2 and "REELFORGE_API_KEYS" in done.stderr and "--insecure" in done.stderr


def test_cors_is_closed_by_default_and_configurable(client: TestClient, tmp_path: Path) -> None:
    from reelforge.service.app import create_app

    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/v1/jobs", headers=preflight).headers
    assert "access-control-allow-origin" not in client.get("/v1/jobs", headers={"Origin": "https://evil.example"}).headers
    with TestClient(create_app(make_settings(tmp_path / "b", cors_origins="https://app.example"), workers=1)) as c:
        ok = c.options("/v1/jobs", headers={**preflight, "Origin": "https://app.example"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in c.options("/v1/jobs", headers=preflight).headers


def test_upload_and_request_size_limits(tmp_path: Path) -> None:
    from reelforge.service.app import create_app

    with TestClient(create_app(make_settings(tmp_path, max_upload_mb=0.05, max_request_mb=0.1), workers=1)) as c:
        big = png_bytes() + b"\0" * 100_000
        assert c.post("/v1/uploads", files={"file": ("a.png", big, "image/png")}).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams
            yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
            for _ in range(40):
                yield b"\0" * 10_000
            yield b"\r\n--b--\r\n"

        chunked = c.post("/v1/uploads", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert chunked.status_code == 413
        huge = {"kind": "text", "spec": {"text": "x" * 200_000}}
        assert c.post("/v1/jobs", json=huge).status_code == 413
        assert c.post("/v1/uploads", files={"file": ("a.png", png_bytes(), "image/png")}).status_code == 201
        assert not list((tmp_path / "data" / "tmp").glob("upload-*"))  # refused uploads leave nothing behind


def test_uploads_are_sniffed_and_bombs_refused(client: TestClient) -> None:
    text = client.post("/v1/uploads", files={"file": ("evil.png", b"#!/bin/sh\nrm -rf /\n", "image/png")})
    assert text.status_code == 415
    html = client.post("/v1/uploads", files={"file": ("x.mp4", b"<html><script>alert(1)</script>", "video/mp4")})
    assert html.status_code == 415
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, format="PNG", optimize=True)  # 144 MP in a few kB
    assert len(bomb.getvalue()) < 200_000
    refused = client.post("/v1/uploads", files={"file": ("bomb.png", bomb.getvalue(), "image/png")})
    assert refused.status_code == 422 and "too large" in refused.json()["detail"]
    truncated = client.post("/v1/uploads", files={"file": ("t.png", png_bytes()[:40], "image/png")})
    assert truncated.status_code == 422
    # "true" is a TrueType font's magic; four bytes of it are no font (schemathesis found this)
    fake_font = client.post("/v1/uploads", files={"file": ("f.ttf", b"true", "font/ttf")})
    assert fake_font.status_code == 422 and "not a readable font" in fake_font.json()["detail"]
    video = client.post("/v1/uploads", files={"file": ("../../x.mp4", b"\0\0\0\x18ftypisom" + b"\0" * 100, "text/plain")})
    assert video.status_code == 201 and video.json()["media_type"] == "video/mp4" and video.json()["filename"] == "x.mp4"


def test_a_sample_reference_is_a_bundled_photo_and_cannot_climb_out(client: TestClient) -> None:
    from tests.service.conftest import tiny_timeline, wait_for

    spec = tiny_timeline()
    spec["clips"][0]["layers"].insert(0, {"type": "image", "path": "sample:coffee.png"})
    job = client.post("/v1/jobs", json={"kind": "render", "spec": spec}).json()
    assert wait_for(client, job["id"])["status"] == "succeeded"
    for name in ("sample:../../../../etc/passwd", "sample:/etc/passwd", "sample:nope.png"):
        spec["clips"][0]["layers"][0]["path"] = name
        answer = client.post("/v1/jobs", json={"kind": "render", "spec": spec}).json()
        done = wait_for(client, answer["id"])
        assert done["status"] == "failed" and "no sample named" in json.dumps(done["error"]), done
        assert done["artifacts"] == []
