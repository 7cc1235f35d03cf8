"""A fake of the Google Cloud Storage JSON API on 127.0.0.1: the OAuth token endpoint (for a
service-account key), multipart and resumable uploads (`/upload/storage/v1/b/{bucket}/o`), and
GET on a V4 signed URL. It checks the bearer token and the signed URL's credential fields."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.fakes.loopback import Served

TOKEN = "gcs-test-token"
EMAIL = "clips@reelforge-test.iam.gserviceaccount.com"


def service_account_info(token_uri: str) -> dict[str, str]:
    """A throwaway service-account key (made here; never valid anywhere)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "reelforge-test", "private_key_id": "k1",
            "private_key": pem, "client_email": EMAIL, "client_id": "1", "token_uri": token_uri}


class FakeGCS(Served):
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self._sessions: dict[str, dict[str, Any]] = {}
        self._listen(self._handler())




    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.calls.append((method, path))
        url = urlparse(path)
        query = parse_qs(url.query)
        if url.path == "/token":
            return _json(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})
        if method == "GET" and "X-Goog-Signature" in query:
            credential = query.get("X-Goog-Credential", [""])[0]
            if not credential.startswith(EMAIL) or query.get("X-Goog-Algorithm") != ["GOOG4-RSA-SHA256"]:
                return _json(403, {"error": "bad signature fields"})
            bucket, _, key = url.path.lstrip("/").partition("/")
            obj = self.objects.get((bucket, unquote(key)))
            return (200, {"Content-Type": obj["contentType"]}, obj["data"]) if obj else _json(404, {})
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return _json(401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        if url.path.startswith("/upload/storage/v1/b/"):
            bucket = url.path.split("/")[5]
            kind = query.get("uploadType", [""])[0]
            if kind == "multipart":
                meta, data = _related(headers["content-type"], body)
                return self._store(bucket, meta, data)
            if kind == "resumable" and method == "POST":
                sid = str(len(self._sessions))
                meta = json.loads(body or b"{}")
                meta.setdefault("contentType", headers.get("x-upload-content-type", ""))
                self._sessions[sid] = {"bucket": bucket, "meta": meta, "data": bytearray()}
                return 200, {"Location": f"{self.url}/session/{sid}"}, b""
        if url.path.startswith("/session/") and method == "PUT":
            session = self._sessions[url.path.rsplit("/", 1)[1]]
            session["data"] += body
            total = headers.get("content-range", "").rsplit("/", 1)[1]
            if total == "*" or len(session["data"]) < int(total):
                return 308, {"Range": f"bytes=0-{len(session['data']) - 1}"}, b""
            return self._store(session["bucket"], session["meta"], bytes(session["data"]))
        return _json(404, {"error": {"code": 404, "message": f"no route {url.path}"}})

    def _store(self, bucket: str, meta: dict[str, Any], data: bytes) -> tuple[int, dict[str, str], bytes]:
        name = meta["name"]
        self.objects[(bucket, name)] = {"data": data, "contentType": meta.get("contentType", ""),
                                        "metadata": meta.get("metadata", {})}
        return _json(200, {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(len(data)),
                           "contentType": meta.get("contentType", ""), "metadata": meta.get("metadata", {}),
                           "generation": "1", "crc32c": _crc32c(data)})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, payload = fake.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

        return Handler


def _crc32c(data: bytes) -> str:
    """The object's CRC32C as the API reports it: base64 of the big-endian 32-bit value."""
    import base64

    import google_crc32c

    return base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode()


def _json(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _related(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    meta = json.loads(parts[0].get_payload(decode=True))
    meta.setdefault("contentType", parts[1].get_content_type())  # the media part's type is the object's
    return meta, parts[1].get_payload(decode=True) or b""
