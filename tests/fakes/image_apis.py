"""Local fake image APIs on 127.0.0.1 that speak each provider's documented wire format —
successes and failure modes alike — and log every request they get.

Dialects: gemini (generateContent, inlineData parts, finishReason, promptFeedback), imagen
(:predict, predictions[].bytesBase64Encoded / raiFilteredReason), openai (/v1/images/generations
and /edits, data[].b64_json, error.code), flux (Hugging Face inference: JSON in, image bytes out),
sdwebui (AUTOMATIC1111 /sdapi/v1/txt2img|img2img, {"images": [base64]})."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

MODES = ("ok", "429", "500", "503", "hang", "malformed", "noimage", "safety", "badkey")
HANG_LIMIT_S = 10.0  # a hung request ends by itself after this, so no test can wait forever


def tiny_png(color: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (64, 36)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


PNG = tiny_png()
PNG_B64 = base64.b64encode(PNG).decode()


@dataclass
class Call:
    path: str
    prompt: str
    mode: str
    body: Any
    headers: dict[str, str]
    started: float
    ended: float = 0.0
    status: int = 0
    image: bytes = PNG  # what an "ok" answer carries (FakeImageAPI.answer_with sets it)
    image_type: str = "image/png"

    @property
    def image_b64(self) -> str:
        return base64.b64encode(self.image).decode()


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, data: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json", headers)


class FakeImageAPI:
    """`script` is consumed one mode per request (then `default`); `delay` holds every answer;
    `max_concurrent` answers 429 to requests beyond that many in flight (like a real quota)."""

    def __init__(self, dialect: str, *, delay: float = 0.0, max_concurrent: int | None = None,
                 retry_after: str = "1") -> None:
        self.dialect = dialect
        self.delay = delay
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.script: list[str] = []
        self.default = "ok"
        self.image, self.image_type = PNG, "image/png"
        self.calls: list[Call] = []
        self.in_flight = self.max_in_flight = self.rejected = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeImageAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        """Environment that points reelforge's adapter for this dialect at the fake."""
        base = {"gemini": self.url, "imagen": self.url, "openai": f"{self.url}/v1", "flux": self.url,
                "sdwebui": self.url}[self.dialect]
        keys = {"gemini": "GEMINI_API_KEY", "imagen": "GOOGLE_API_KEY", "openai": "OPENAI_API_KEY", "flux": "HF_TOKEN"}
        env = {f"REELFORGE_{self.dialect.upper()}_BASE_URL": base}
        if self.dialect in keys:
            env[keys[self.dialect]] = "test-key"
        return env

    def answer_with(self, image: bytes, media_type: str = "image/png") -> None:
        """Answer successful requests with this image (e.g. text drawn on white) from now on."""
        self.image, self.image_type = image, media_type

    def prompts(self, since: int = 0, status: int | None = None) -> list[str]:
        with self._lock:
            return [c.prompt for c in self.calls[since:] if status is None or c.status == status]

    # --- request handling --------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _next_mode(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        body, prompt = _parse(self.dialect, request.headers.get("Content-Type", ""), raw)
        call = Call(request.path, prompt, "", body, {k.lower(): v for k, v in request.headers.items()}, time.time(),
                    image=self.image, image_type=self.image_type)
        with self._lock:
            self.calls.append(call)
            self.in_flight += 1
            over = self.max_concurrent is not None and self.in_flight > self.max_concurrent
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.rejected += over
        try:
            call.mode = "429" if over else self._next_mode()
            if call.mode == "hang":
                self._stopping.wait(HANG_LIMIT_S)
                return
            if not over and self.delay:
                time.sleep(self.delay)
            reply = self._reply(call)
            call.status = reply.status
            _send(request, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout or kill)
        finally:
            call.ended = time.time()
            with self._lock:
                self.in_flight -= 1

    def _reply(self, call: Call) -> Reply:
        route = ROUTES[self.dialect]
        if not re.fullmatch(route.path, call.path.split("?")[0]):
            return _json(404, {"error": f"no route {call.path}"})
        if call.mode == "429":
            reply = route.error(429, "Resource has been exhausted (e.g. check quota).")
            reply.headers["Retry-After"] = self.retry_after
            return reply
        if call.mode in ("500", "503"):
            return route.error(int(call.mode), "The service is currently unavailable.")
        if call.mode == "malformed":
            if self.dialect == "flux":
                return Reply(200, b"\x89PNG\r\n\x1a\nthis is not a whole image", "image/png")
            return Reply(200, b'{"candidates": [{"content": {"parts": [', "application/json")
        handler: Callable[[Call], Reply] = getattr(route, call.mode)
        return handler(call)


def _send(request: BaseHTTPRequestHandler, reply: Reply) -> None:
    request.send_response(reply.status)
    request.send_header("Content-Type", reply.content_type)
    request.send_header("Content-Length", str(len(reply.body)))
    for name, value in reply.headers.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(reply.body)


def _parse(dialect: str, content_type: str, raw: bytes) -> tuple[Any, str]:
    """The request body and the prompt in it, per wire format."""
    if content_type.startswith("multipart/form-data"):
        match = re.search(rb'name="prompt"\r\n\r\n(.*?)\r\n--', raw, re.S)
        files = len(re.findall(rb'name="image(?:\[\])?"', raw))
        return {"multipart": True, "images": files}, match.group(1).decode() if match else ""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return raw, ""
    if dialect == "gemini":
        parts = body.get("contents", [{}])[-1].get("parts", [])
        return body, " ".join(p["text"] for p in parts if "text" in p)
    if dialect == "imagen":
        return body, body.get("instances", [{}])[0].get("prompt", "")
    if dialect == "flux":
        return body, body.get("inputs", "")
    return body, body.get("prompt", "")


# --- per-API answers ---------------------------------------------------------------------------


class GeminiRoute:
    path = r"/v1(beta)?/models/[^/:]+:generateContent"

    @staticmethod
    def error(code: int, message: str) -> Reply:
        status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(code, "UNKNOWN")
        return _json(code, {"error": {"code": code, "message": message, "status": status}})

    @staticmethod
    def ok(call: Call) -> Reply:
        return _json(200, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Here is your image."}, {"inlineData": {"mimeType": call.image_type, "data": call.image_b64}}]},
            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302},
            "modelVersion": "gemini-2.5-flash-image"})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "I can describe that scene in words instead."}]}, "finishReason": "STOP", "index": 0}]})

    @staticmethod
    def safety(call: Call) -> Reply:
        return _json(200, {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]})

    @staticmethod
    def badkey(call: Call) -> Reply:
        # What the Gemini API answers for a wrong key: 400 INVALID_ARGUMENT, reason API_KEY_INVALID
        return _json(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                     "status": "INVALID_ARGUMENT", "details": [
                                         {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                          "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}})


class ImagenRoute(GeminiRoute):
    # Vertex AI: /v1beta1/[projects/P/locations/L/]publishers/google/models/M:predict
    path = r"/v1(beta1?)?/(projects/[^/]+/locations/[^/]+/)?(publishers/google/)?models/[^/:]+:predict"

    @staticmethod
    def ok(call: Call) -> Reply:
        count = int(call.body.get("parameters", {}).get("sampleCount", 1))
        return _json(200, {"predictions": [{"bytesBase64Encoded": call.image_b64, "mimeType": call.image_type}] * count})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {})

    @staticmethod
    def safety(call: Call) -> Reply:
        return _json(200, {"predictions": [{"raiFilteredReason": "Your current safety filter threshold filtered out "
                                                                 "the generated image. Try rephrasing the prompt."}]})


class OpenAIRoute:
    path = r"/v1/images/(generations|edits)"

    @staticmethod
    def error(code: int, message: str, kind: str = "server_error", err_code: str | None = None) -> Reply:
        return _json(code, {"error": {"message": message, "type": kind, "param": None, "code": err_code}})

    @staticmethod
    def ok(call: Call) -> Reply:
        count = int(call.body.get("n", 1)) if isinstance(call.body, dict) and "n" in call.body else 1
        return _json(200, {"created": int(time.time()), "data": [{"b64_json": call.image_b64}] * count,
                           "usage": {"total_tokens": 100}})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {"created": int(time.time()), "data": []})

    @staticmethod
    def safety(call: Call) -> Reply:
        return OpenAIRoute.error(400, "Your request was rejected as a result of our safety system.",
                                 "image_generation_user_error", "moderation_blocked")

    @staticmethod
    def badkey(call: Call) -> Reply:
        return OpenAIRoute.error(401, "Incorrect API key provided: test-key.", "invalid_request_error",
                                 "invalid_api_key")


class FluxRoute:
    path = r"/models/.+"

    @staticmethod
    def error(code: int, message: str) -> Reply:
        return _json(code, {"error": message})

    @staticmethod
    def ok(call: Call) -> Reply:
        return Reply(200, call.image, call.image_type)

    @staticmethod
    def badkey(call: Call) -> Reply:
        return _json(401, {"error": "Invalid credentials in Authorization header"})


class SDWebUIRoute:
    path = r"/sdapi/v1/(txt2img|img2img)"

    @staticmethod
    def error(code: int, message: str) -> Reply:
        return _json(code, {"error": "HTTPException", "detail": message})

    @staticmethod
    def ok(call: Call) -> Reply:
        count = int(call.body.get("batch_size", 1))
        return _json(200, {"images": [call.image_b64] * count, "parameters": call.body, "info": "{}"})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {"images": [], "parameters": {}, "info": "{}"})

    @staticmethod
    def badkey(call: Call) -> Reply:
        return _json(401, {"detail": "Incorrect credentials"})


ROUTES: dict[str, Any] = {"gemini": GeminiRoute, "imagen": ImagenRoute, "openai": OpenAIRoute, "flux": FluxRoute,
                          "sdwebui": SDWebUIRoute}
