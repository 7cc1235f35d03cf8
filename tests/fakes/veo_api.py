"""A fake of Veo's REST surface on 127.0.0.1, strict like the real one: the Gemini Developer API
(`:predictLongRunning`, the operation GET, the file download answered by a redirect to storage)
and Vertex AI (`:predictLongRunning` + `:fetchPredictOperation` with inline bytes). It checks
the key / bearer token, rejects unknown fields, and logs every request."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.loopback import Served

KEY = "veo-test-key"
TOKEN = "vertex-test-token"
INSTANCE_FIELDS = {"prompt", "image", "lastFrame", "referenceImages", "video"}
PARAM_FIELDS = {"aspectRatio", "resolution", "durationSeconds", "negativePrompt", "personGeneration",
                "sampleCount", "enhancePrompt", "seed", "generateAudio"}
DEVELOPER_REFUSES = {"seed", "generateAudio"}


def make_clip(path: Path, seconds: float = 8.0, size: str = "320x180") -> bytes:
    """A small real MP4 with an audio track (what Veo returns, in miniature)."""
    from reelforge.ffmpeg.binary import ffmpeg_path

    subprocess.run([ffmpeg_path(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=24:duration={seconds}", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True)
    return path.read_bytes()


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeVeo(Served):
    """`generation_s`: how long an operation takes; `script`: replies for the next submissions
    ("429", "500", "rai", "fail") before the default ("ok")."""

    def __init__(self, video: bytes, *, generation_s: float = 0.2, vertex: bool = False) -> None:
        self.video, self.generation_s, self.vertex = video, generation_s, vertex
        self.script: list[str] = []
        self.calls: list[Call] = []
        self.operations: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._listen(self._handler())




    def submissions(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(":predictLongRunning")]

    def polls(self) -> list[Call]:
        return [c for c in self.calls if "/operations/" in c.path or c.path.endswith(":fetchPredictOperation")]

    # --- routes ------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.calls.append(call)
        url = urlparse(call.path)
        if url.path.startswith("/storage/"):
            if "x-goog-api-key" in call.headers or "authorization" in call.headers:
                return _json(400, {"error": {"message": "credentials sent to storage"}})
            return 200, {"Content-Type": "video/mp4"}, self.video
        if (denied := self._auth(call)) is not None:
            return denied
        if url.path.endswith(":predictLongRunning"):
            return self._submit(call, url.path)
        if url.path.endswith(":fetchPredictOperation"):
            return self._operation(str((call.body or {}).get("operationName", "")))
        if "/operations/" in url.path and call.method == "GET":
            return self._operation(url.path.split("/", 2)[2])
        if url.path.endswith(":download") and parse_qs(url.query).get("alt") == ["media"]:
            file_id = url.path.rsplit("/", 1)[1].split(":")[0]
            return 302, {"Location": f"{self.url}/storage/{file_id}"}, b""
        return _json(404, {"error": {"code": 404, "message": f"no route {url.path}", "status": "NOT_FOUND"}})

    def _auth(self, call: Call) -> tuple[int, dict[str, str], bytes] | None:
        if self.vertex:
            ok = call.headers.get("authorization") == f"Bearer {TOKEN}"
        else:
            ok = call.headers.get("x-goog-api-key") == KEY
        if ok:
            return None
        return _json(401 if self.vertex else 400, {"error": {"code": 400, "message": "API key not valid",
                                                             "status": "INVALID_ARGUMENT",
                                                             "details": [{"reason": "API_KEY_INVALID"}]}})

    def _submit(self, call: Call, path: str) -> tuple[int, dict[str, str], bytes]:
        body = call.body or {}
        problem = _check_body(body, vertex=self.vertex)
        if problem:
            return _json(400, {"error": {"code": 400, "message": problem, "status": "INVALID_ARGUMENT"}})
        reply = self.script.pop(0) if self.script else "ok"
        if reply == "429":
            return _json(429, {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED",
                                         "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                      "retryDelay": "0.2s"}]}})
        if reply == "500":
            return _json(500, {"error": {"code": 500, "message": "internal", "status": "INTERNAL"}})
        model = path.split("/models/")[1].split(":")[0]
        n = len(self.operations)
        if self.vertex:
            prefix = path.rsplit("/models/", 1)[0].split("/", 2)[2]  # drop /{version}/
            name = f"{prefix}/models/{model}/operations/op{n}"
        else:
            name = f"models/{model}/operations/op{n}"
        with self._lock:
            self.operations[name] = {"started": time.monotonic(), "reply": reply,
                                     "count": int(body.get("parameters", {}).get("sampleCount", 1))}
        return _json(200, {"name": name})

    def _operation(self, name: str) -> tuple[int, dict[str, str], bytes]:
        op = self.operations.get(name)
        if op is None:
            return _json(404, {"error": {"code": 404, "message": "operation not found", "status": "NOT_FOUND"}})
        if time.monotonic() - op["started"] < self.generation_s:
            return _json(200, {"name": name, "metadata": {}})
        if op["reply"] == "fail":
            return _json(200, {"name": name, "done": True, "error": {"code": 13, "message": "internal error"}})
        if op["reply"] == "rai":
            result = {"raiMediaFilteredCount": 1,
                      "raiMediaFilteredReasons": ["The prompt could not be submitted: it may violate our policies."]}
        elif self.vertex:
            result = {"raiMediaFilteredCount": 0, "videos": [
                {"bytesBase64Encoded": base64.b64encode(self.video).decode(), "mimeType": "video/mp4"}
                for _ in range(op["count"])]}
        else:
            file_id = name.rsplit("/", 1)[1]
            result = {"generatedSamples": [{"video": {"uri": f"{self.url}/v1beta/files/{file_id}x{i}:download?alt=media"}}
                                           for i in range(op["count"])]}
        response = result if self.vertex else {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
            "generateVideoResponse": result}
        return _json(200, {"name": name, "done": True, "response": response})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, payload = fake.handle(Call(self.command, self.path, headers, body))
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

        return Handler


def _json(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _check_body(body: Any, *, vertex: bool) -> str | None:
    if set(body) - {"instances", "parameters"}:
        return f"Invalid JSON payload: unknown name {sorted(set(body) - {'instances', 'parameters'})}"
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1:
        return "instances must hold one instance"
    inst, params = instances[0], body.get("parameters", {})
    if unknown := set(inst) - INSTANCE_FIELDS:
        return f"Invalid JSON payload: unknown instance field {sorted(unknown)}"
    if unknown := set(params) - PARAM_FIELDS:
        return f"Invalid JSON payload: unknown parameter {sorted(unknown)}"
    if not vertex and (refused := set(params) & DEVELOPER_REFUSES):
        return f"{sorted(refused)} is not supported in the Gemini API"
    if "lastFrame" in inst and "image" not in inst:
        return "lastFrame requires image"
    for key in ("image", "lastFrame"):
        if key in inst and set(inst[key]) != {"bytesBase64Encoded", "mimeType"}:
            return f"{key} must be {{bytesBase64Encoded, mimeType}}"
    return None
