"""A fake of Cloudinary's upload API on 127.0.0.1: checks the signature exactly as Cloudinary
documents it (sorted params minus file/cloud_name/resource_type/api_key, `&`-joined, secret
appended, SHA-1), reassembles chunked uploads by X-Unique-Upload-Id, and stores the bytes."""

from __future__ import annotations

import hashlib
import json
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import Served

API_KEY, API_SECRET, CLOUD = "123456", "s3cr3t", "demo"


def expected_signature(params: dict[str, str]) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items())
                    if k not in {"file", "cloud_name", "resource_type", "api_key", "signature"})
    return hashlib.sha1((text + API_SECRET).encode()).hexdigest()


class FakeCloudinary(Served):
    def __init__(self) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self._parts: dict[str, bytearray] = {}
        self._listen(self._handler())




    def handle(self, path: str, headers: dict[str, str], fields: dict[str, str], file: bytes) -> tuple[int, Any]:
        self.requests.append({"path": path, "fields": fields, "headers": headers})
        if path != f"/v1_1/{CLOUD}/video/upload":
            return 404, {"error": {"message": "not found"}}
        if fields.get("api_key") != API_KEY:
            return 401, {"error": {"message": "Invalid api_key"}}
        if fields.get("signature") != expected_signature(fields):
            return 401, {"error": {"message": "Invalid Signature"}}
        data = file
        if "content-range" in headers:
            upload_id = headers["x-unique-upload-id"]
            part = self._parts.setdefault(upload_id, bytearray())
            part += file
            total = int(headers["content-range"].rsplit("/", 1)[1])
            if len(part) < total:
                return 200, {"done": False}
            data = bytes(self._parts.pop(upload_id))
        public_id = "/".join(p for p in (fields.get("folder", ""), fields["public_id"]) if p)
        context = dict(item.split("=", 1) for item in fields.get("context", "").split("|") if item)
        self.assets[public_id] = {"bytes": data, "context": context}
        return 200, {"public_id": public_id, "bytes": len(data), "resource_type": "video",
                     "secure_url": f"https://res.cloudinary.com/{CLOUD}/video/upload/{public_id}.mp4"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode() + raw)
                fields, file = {}, b""
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    if name == "file":
                        file = payload
                    else:
                        fields[str(name)] = payload.decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body = fake.handle(self.path, headers, fields, file)
                out = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        return Handler
