"""Fakes of the cloud cut-out APIs (remove.bg, Photoroom, Clipdrop) on 127.0.0.1, port 0.

Each fake speaks its API's documented wire format: it parses the real multipart request, checks
the path, the auth header and every field name/value against the documented lists, and answers
with a real RGBA PNG (alpha 0 on the near-white pixels of the uploaded image) or with the API's
documented JSON error body. Every call is recorded. A script decides the answers, one step per
call, the last step repeating:

    "ok"       200, the cut-out (with the API's credit headers)
    "half"     200, the cut-out at half size (as an API that scales would answer)
    "400" "402" "403" "500"   that status with the documented error body
    "429"      429 with `Retry-After: <retry_after>`
    "garbage"  200 with a body that is not an image
    "slow"     "ok", but only after `slow_s` seconds (longer than the client's timeout)
    "hang"     no answer for `slow_s` seconds, watching the connection: when the client closes
               it, `Call.closed_at` records when (then the fake gives up without answering)
"""

from __future__ import annotations

import io
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np
from PIL import Image

from tests.fakes.loopback import LoopbackServer

TEST_KEY = "test-key"
_BOOL = frozenset({"true", "false"})



@dataclass(frozen=True)
class ApiSpec:
    """What the documentation says a request looks like and how errors are shaped."""

    name: str
    path: str
    key_header: str
    fields: Mapping[str, frozenset[str] | None]  # documented text fields -> allowed values (None: any)
    error_body: Callable[[int, str, str], dict[str, Any]]  # (status, message, code) -> JSON body
    messages: Mapping[int, tuple[str, str]]  # status -> (message, code) the service answers with
    success_headers: Callable[[Image.Image], dict[str, str]]


REMOVEBG = ApiSpec(
    name="removebg",
    path="/v1.0/removebg",
    key_header="X-Api-Key",
    fields={
        "image_url": None, "image_file_b64": None, "size": frozenset(
            {"preview", "full", "auto", "50MP", "medium", "hd", "4k", "small", "regular"}),
        "type": frozenset({"auto", "person", "product", "car", "animal", "graphic", "transportation"}),
        "type_level": frozenset({"none", "1", "2", "latest"}),
        "format": frozenset({"auto", "png", "jpg", "zip", "webp"}), "roi": None, "crop": _BOOL,
        "crop_margin": None, "scale": None, "position": None, "channels": frozenset({"rgba", "alpha"}),
        "add_shadow": _BOOL, "semitransparency": _BOOL, "bg_color": None, "bg_image_url": None,
        "shadow_method": frozenset({"legacy", "latest"}),
    },
    error_body=lambda status, message, code: {"errors": [{"title": message, "code": code}]},
    messages={400: ("Invalid file type", "invalid_file_type"), 402: ("Insufficient credits", ""),
              403: ("Invalid API key", ""), 429: ("Rate limit exceeded", ""),
              500: ("Internal server error", "")},
    success_headers=lambda image: {"X-Credits-Charged": "1", "X-Type": "product",
                                   "X-Width": str(image.width), "X-Height": str(image.height)},
)

PHOTOROOM = ApiSpec(
    name="photoroom",
    path="/v1/segment",
    key_header="x-api-key",
    fields={"format": frozenset({"png", "jpg", "webp"}), "channels": frozenset({"rgba", "alpha"}),
            "bg_color": None, "size": frozenset({"preview", "medium", "hd", "full"}), "crop": _BOOL,
            "despill": _BOOL},
    error_body=lambda status, message, code: {"detail": message, "status_code": status, "type": code},
    messages={400: ("Please provide an image.", "missing_image"),
              402: ("No credits left on this account.", "payment_required"),
              403: ("Invalid API key.", "forbidden"), 429: ("Too many requests.", "rate_limited"),
              500: ("Internal server error.", "internal_error")},
    success_headers=lambda image: {"x-uncertainty-score": "0.07"},
)

CLIPDROP = ApiSpec(
    name="clipdrop",
    path="/remove-background/v1",
    key_header="x-api-key",
    fields={"transparency_handling": frozenset({"return_input_if_non_opaque", "discard_alpha_layer"})},
    error_body=lambda status, message, code: {"error": message},
    messages={400: ("Request is malformed or incomplete", ""),
              401: ("No api key provided", ""),
              402: ("Your account has no remaining credits", ""),
              403: ("Invalid or revoked api key", ""), 429: ("Too many requests", ""),
              500: ("Internal server error", "")},
    success_headers=lambda image: {"x-remaining-credits": "99", "x-credits-consumed": "1"},
)

APIS = {api.name: api for api in (REMOVEBG, PHOTOROOM, CLIPDROP)}


@dataclass
class Upload:
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request as the fake saw it, and the status it answered."""

    at: float  # time.monotonic() on arrival
    step: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    status: int | None = None
    closed_at: float | None = None  # "hang": when the client closed the connection


class FakeCutoutServer:
    """One API's fake; use as a context manager or call `start()` / `stop()`."""

    def __init__(self, api: ApiSpec, script: tuple[str, ...] = ("ok",), *, key: str = TEST_KEY,
                 retry_after: str = "1", slow_s: float = 1.0) -> None:
        self.api, self.script, self.key = api, list(script), key
        self.retry_after, self.slow_s = retry_after, slow_s
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._httpd = LoopbackServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeCutoutServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeCutoutServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def statuses(self) -> list[int | None]:
        return [call.status for call in self.calls]

    # -- request handling -------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes] | None:
        call = self._record(request)
        if call.step == "hang" and request.path == self.api.path:
            self._hang(request, call)
            return None
        status, headers, body = self._answer(request, call)
        call.status = status
        return status, headers, body

    def _hang(self, request: BaseHTTPRequestHandler, call: Call) -> None:
        """Answer nothing; note when the client closes the connection (EOF on the socket)."""
        sock: socket.socket = request.connection
        deadline = time.monotonic() + self.slow_s
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.01)
            if readable:
                try:
                    eof = sock.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    eof = True
                if eof:
                    call.closed_at = time.monotonic()
                    return

    def _record(self, request: BaseHTTPRequestHandler) -> Call:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self._lock:
            step = self.script[min(len(self.calls), len(self.script) - 1)]
            call = Call(at=time.monotonic(), step=step, path=request.path, headers=dict(request.headers))
            self.calls.append(call)
        try:
            call.fields, call.files = parse_multipart(request.headers.get("Content-Type", ""), body)
        except ValueError as exc:
            call.fields = {"__error__": str(exc)}
        return call

    def _answer(self, request: BaseHTTPRequestHandler, call: Call) -> tuple[int, dict[str, str], bytes]:
        if request.path != self.api.path:
            return 404, {"Content-Type": "application/json"}, b'{"error": "not found"}'
        sent_key = request.headers.get(self.api.key_header)
        if sent_key != self.key:
            return self._error(401 if sent_key is None and 401 in self.api.messages else 403)
        problem = self._problem(call)
        if problem:
            return self._error(400, problem)
        return self._scripted(call)

    def _problem(self, call: Call) -> str | None:
        """What is wrong with the request by the documentation, or None."""
        if "__error__" in call.fields:
            return call.fields["__error__"]
        if set(call.files) != {"image_file"}:
            return f"expected one file field image_file, got {sorted(call.files)}"
        for name, value in call.fields.items():
            allowed = self.api.fields.get(name, frozenset())
            if allowed is not None and value not in allowed:
                return f"invalid value {value!r} for parameter {name!r}"
        try:
            Image.open(io.BytesIO(call.files["image_file"].data)).verify()
        except Exception as exc:  # noqa: BLE001 - any decode failure is the client's bad upload
            return f"image_file is not an image: {exc}"
        return None

    def _scripted(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        step = call.step
        if step in ("ok", "half", "slow"):
            if step == "slow":
                time.sleep(self.slow_s)
            return self._cutout(call.files["image_file"].data, half=step == "half")
        if step == "garbage":
            return 200, {"Content-Type": "text/html"}, b"<html><body>Service temporarily moved</body></html>"
        if step == "429":
            status, headers, body = self._error(429)
            return status, {**headers, "Retry-After": self.retry_after}, body
        return self._error(int(step))

    def _cutout(self, upload: bytes, *, half: bool) -> tuple[int, dict[str, str], bytes]:
        image = cut_near_white(upload)
        if half:
            image = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return 200, {"Content-Type": "image/png", **self.api.success_headers(image)}, buffer.getvalue()

    def _error(self, status: int, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        default, code = self.api.messages.get(status, ("error", ""))
        body = self.api.error_body(status, message or default, code)
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        fake: FakeCutoutServer = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(self)
        if answer is None:  # "hang": the client went away, or the fake gave up
            self.close_connection = True
            return
        status, headers, body = answer
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
        pass


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Text fields and files of a multipart/form-data body (raises ValueError when it is not one)."""
    header = HeaderParser().parsestr(f"Content-Type: {content_type}\r\n\r\n")
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ValueError(f"expected multipart/form-data, got {content_type!r}")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for raw in body.split(b"--" + boundary.encode())[1:-1]:
        head, _, content = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        part = HeaderParser().parsestr(head.decode("utf-8") + "\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        data = content.removesuffix(b"\r\n")
        if not isinstance(name, str):
            raise ValueError("a multipart part has no name")
        if isinstance(filename, str):
            files[name] = Upload(filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def cut_near_white(upload: bytes, threshold: int = 235) -> Image.Image:
    """The uploaded image as RGBA with alpha 0 where every channel is above `threshold`."""
    with Image.open(io.BytesIO(upload)) as image:
        rgb = np.asarray(image.convert("RGB"))
    alpha = np.where((rgb > threshold).all(axis=2), 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
