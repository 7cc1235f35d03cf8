"""Local fake image APIs on 127.0.0.1 that speak each provider's documented wire format —
successes and failure modes alike — and log every request they get.

Like tests/fakes/cutout_servers.py, every fake is strict where the real API is: it checks the
credentials exactly as the real API receives them (Gemini and Vertex AI express mode
`x-goog-api-key`, Vertex AI projects `Authorization: Bearer <OAuth token>`, OpenAI and Hugging
Face `Authorization: Bearer <key>`, AUTOMATIC1111 HTTP basic auth when started with
`--api-auth`) and answers a missing or wrong one with that API's own 401/403 (Gemini: 400
API_KEY_INVALID); and it rejects a request field the API does not document with that API's
error shape (Google: 400 INVALID_ARGUMENT "Unknown name …", OpenAI: 400 unknown_parameter,
Hugging Face: 400, AUTOMATIC1111/FastAPI: 422). So an adapter that sends the wrong key, the key
in the wrong header, or a misspelt field fails its tests.

Dialects: gemini (generateContent on the Gemini API or on Vertex AI), imagen (Vertex :predict),
openai (/v1/images/generations and /edits), flux (Hugging Face inference: JSON in, image bytes
out), sdwebui (AUTOMATIC1111 /sdapi/v1/txt2img|img2img).

Modes (`script`, one per request, then `default`):
    ok         the image
    429        rate limited. Google dialects: RESOURCE_EXHAUSTED with the wait only in the body
               (gemini: google.rpc.RetryInfo `retryDelay`, no header; imagen/Vertex: no wait at
               all); the others: a `Retry-After` header
    quota      a quota waiting won't refill: gemini 429 whose QuotaFailure is a per-day quota
               (the body still carries a RetryInfo, as the real one does); openai 429
               insufficient_quota
    402        Hugging Face: credits exhausted ("payment required")
    500 503    server errors
    hang       never answers (until HANG_LIMIT_S)
    malformed  a body that cannot be parsed
    noimage    a success without an image
    safety     gemini finishReason IMAGE_SAFETY; imagen raiFilteredReason; openai moderation_blocked
    blocked    gemini: the prompt itself blocked (promptFeedback.blockReason, no candidates)
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from tests.fakes.loopback import LoopbackServer

TEST_KEY = "test-key"
MODES = ("ok", "429", "quota", "402", "500", "503", "hang", "malformed", "noimage", "safety", "blocked")
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
    return Reply(status, json.dumps(data).encode(), "application/json", dict(headers))


class FakeImageAPI:
    """`script` is consumed one mode per request (then `default`); `delay` holds every answer;
    `max_concurrent` answers 429 to requests beyond that many in flight (like a real quota).
    `key` is the only API key accepted; `oauth_token` the only Vertex AI bearer token;
    `basic_auth` ("user:password") makes the sdwebui fake require HTTP basic auth."""

    def __init__(self, dialect: str, *, delay: float = 0.0, max_concurrent: int | None = None,
                 retry_after: str = "1", key: str = TEST_KEY, oauth_token: str = "test-oauth-token",
                 basic_auth: str | None = None) -> None:
        self.dialect = dialect
        self.delay = delay
        self.max_concurrent = max_concurrent
        self.retry_after = retry_after
        self.key, self.oauth_token, self.basic_auth = key, oauth_token, basic_auth
        self.script: list[str] = []
        self.default = "ok"
        self.image, self.image_type = PNG, "image/png"
        self.calls: list[Call] = []
        self.in_flight = self.max_in_flight = self.rejected = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = LoopbackServer(("127.0.0.1", 0), self._handler())
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
        """Environment that points reelforge's adapter for this dialect at the fake, with the
        key it accepts."""
        base = {"gemini": self.url, "imagen": self.url, "openai": f"{self.url}/v1", "flux": self.url,
                "sdwebui": self.url}[self.dialect]
        keys = {"gemini": "GEMINI_API_KEY", "imagen": "GOOGLE_API_KEY", "openai": "OPENAI_API_KEY", "flux": "HF_TOKEN"}
        env = {f"REELFORGE_{self.dialect.upper()}_BASE_URL": base}
        if self.dialect in keys:
            env[keys[self.dialect]] = self.key
        if self.dialect == "sdwebui" and self.basic_auth:
            env["REELFORGE_SDWEBUI_AUTH"] = self.basic_auth
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
        try:
            refused = self._gate(call)  # a real API checks route, credentials and fields first
            if refused is not None:
                call.mode, call.status = "refused", refused.status
                _send(request, refused)
                return
            with self._lock:
                over = self.max_concurrent is not None and self.in_flight > self.max_concurrent
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self.rejected += over
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

    def _gate(self, call: Call) -> Reply | None:
        """The route, the credentials and the request fields, as the real API checks them."""
        route = ROUTES[self.dialect]
        if not re.fullmatch(route.path, urlsplit(call.path).path):
            return route.not_found(call.path)
        refused: Reply | None = route.auth(self, call)
        if refused is not None:
            return refused
        if isinstance(call.body, bytes):
            return route.invalid("the request body is not JSON", "")
        unknown = route.unknown_field(call)
        return route.invalid(f"unknown field {unknown}", unknown) if unknown else None

    def _reply(self, call: Call) -> Reply:
        route = ROUTES[self.dialect]
        if call.mode == "429":
            return route.rate_limited(self)
        if call.mode in ("500", "503"):
            return route.error(int(call.mode), "The service is currently unavailable.")
        if call.mode == "malformed":
            if self.dialect == "flux":
                return Reply(200, b"\x89PNG\r\n\x1a\nthis is not a whole image", "image/png")
            return Reply(200, b'{"candidates": [{"content": {"parts": [', "application/json")
        handler: Callable[[Call], Reply] | None = getattr(route, {"402": "payment"}.get(call.mode, call.mode), None)
        if handler is None:
            raise AssertionError(f"the {self.dialect} fake has no mode {call.mode!r}")
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
        names = [n.decode() for n in re.findall(rb'Content-Disposition: form-data; name="([^"]+)"', raw)]
        files = sum(1 for n in names if n in ("image", "image[]"))
        return {"multipart": True, "images": files, "fields": names}, match.group(1).decode() if match else ""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return raw, ""
    if not isinstance(body, dict):
        return body, ""
    if dialect == "gemini":
        parts = (body.get("contents") or [{}])[-1].get("parts", [])
        return body, " ".join(p["text"] for p in parts if "text" in p)
    if dialect == "imagen":
        return body, (body.get("instances") or [{}])[0].get("prompt", "")
    if dialect == "flux":
        return body, body.get("inputs", "")
    return body, body.get("prompt", "")


# --- request schemas: None = any value, a dict = an object with these fields, [x] = a list of x ---

def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _unknown(value: Any, schema: Any, path: str, *, proto: bool) -> str | None:
    """The first field path in `value` that `schema` does not have (proto JSON: camelCase and
    snake_case names are the same field)."""
    if isinstance(schema, dict) and isinstance(value, dict):
        for name, inner in value.items():
            key = _camel(name) if proto else name
            if key not in schema:
                return f"{path}.{name}".lstrip(".")
            found = _unknown(inner, schema[key], f"{path}.{_snake(key) if proto else key}", proto=proto)
            if found:
                return found
    if isinstance(schema, list) and isinstance(value, list):
        for item in value:
            if found := _unknown(item, schema[0], path, proto=proto):
                return found
    return None


_BLOB = {"mimeType": None, "data": None, "displayName": None}
_PART = {"text": None, "inlineData": _BLOB, "fileData": {"mimeType": None, "fileUri": None, "displayName": None},
         "thought": None, "thoughtSignature": None, "videoMetadata": None, "functionCall": None,
         "functionResponse": None, "executableCode": None, "codeExecutionResult": None, "mediaResolution": None}
_CONTENT = {"role": None, "parts": [_PART]}
GENERATE_CONTENT = {
    "contents": [_CONTENT], "systemInstruction": _CONTENT, "tools": None, "toolConfig": None, "safetySettings": None,
    "cachedContent": None, "labels": None,
    "generationConfig": {
        "stopSequences": None, "responseMimeType": None, "responseSchema": None, "responseJsonSchema": None,
        "responseModalities": None, "candidateCount": None, "maxOutputTokens": None, "temperature": None,
        "topP": None, "topK": None, "seed": None, "presencePenalty": None, "frequencyPenalty": None,
        "responseLogprobs": None, "logprobs": None, "enableEnhancedCivicAnswers": None, "speechConfig": None,
        "thinkingConfig": None, "mediaResolution": None,
        "imageConfig": {"aspectRatio": None, "imageSize": None},
    },
}
PREDICT = {
    "instances": [{"prompt": None}],
    "parameters": {"sampleCount": None, "aspectRatio": None, "negativePrompt": None, "seed": None,
                   "addWatermark": None, "includeRaiReason": None, "includeSafetyAttributes": None,
                   "personGeneration": None, "safetySetting": None, "outputOptions": None, "language": None,
                   "enhancePrompt": None, "storageUri": None, "sampleImageSize": None, "guidanceScale": None},
    "labels": None,
}
OPENAI_GENERATIONS = {"model", "prompt", "n", "size", "quality", "response_format", "style", "user", "background",
                      "moderation", "output_compression", "output_format", "partial_images", "stream"}
OPENAI_EDITS = {"image", "image[]", "prompt", "mask", "model", "n", "size", "quality", "response_format", "user",
                "background", "input_fidelity", "output_format", "output_compression", "partial_images", "stream"}
HF_TEXT_TO_IMAGE = {"inputs": None, "parameters": {"guidance_scale": None, "negative_prompt": None,
                                                   "num_inference_steps": None, "width": None, "height": None,
                                                   "scheduler": None, "seed": None, "target_size": None}}
_SD_COMMON = {
    "prompt", "negative_prompt", "styles", "seed", "subseed", "subseed_strength", "seed_resize_from_h",
    "seed_resize_from_w", "sampler_name", "scheduler", "batch_size", "n_iter", "steps", "cfg_scale", "width",
    "height", "restore_faces", "tiling", "do_not_save_samples", "do_not_save_grid", "eta", "denoising_strength",
    "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise", "override_settings",
    "override_settings_restore_afterwards", "refiner_checkpoint", "refiner_switch_at", "disable_extra_networks",
    "comments", "sampler_index", "script_name", "script_args", "send_images", "save_images", "alwayson_scripts",
    "force_task_id", "infotext",
}
SD_TXT2IMG = _SD_COMMON | {"enable_hr", "firstphase_width", "firstphase_height", "hr_scale", "hr_upscaler",
                           "hr_second_pass_steps", "hr_resize_x", "hr_resize_y", "hr_checkpoint_name",
                           "hr_sampler_name", "hr_scheduler", "hr_prompt", "hr_negative_prompt", "firstpass_image"}
SD_IMG2IMG = _SD_COMMON | {"init_images", "resize_mode", "image_cfg_scale", "mask", "mask_blur", "mask_blur_x",
                           "mask_blur_y", "inpainting_fill", "inpaint_full_res", "inpaint_full_res_padding",
                           "inpainting_mask_invert", "initial_noise_multiplier", "latent_mask",
                           "include_init_images"}


# --- per-API answers ---------------------------------------------------------------------------


def _bearer(call: Call) -> str | None:
    match = re.fullmatch(r"Bearer (.+)", call.headers.get("authorization", ""))
    return match.group(1) if match else None


class GeminiRoute:
    """generateContent on the Gemini API (`/v1beta/models/M:generateContent`) or on Vertex AI
    (`/v1beta1/[projects/P/locations/L/]publishers/google/models/M:generateContent`)."""

    path = (r"/v1(beta1?)?/((projects/[^/]+/locations/[^/]+/)?publishers/google/)?models/[^/:]+"
            r":generateContent")

    @staticmethod
    def _status(code: int, message: str, status: str, *details: dict[str, Any]) -> Reply:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = list(details)
        return _json(code, {"error": error})

    @classmethod
    def error(cls, code: int, message: str) -> Reply:
        status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(code, "UNKNOWN")
        return cls._status(code, message, status)

    @classmethod
    def not_found(cls, path: str) -> Reply:
        return cls._status(404, f"Method not found: {path}", "NOT_FOUND")

    @classmethod
    def invalid(cls, message: str, field_path: str) -> Reply:
        where, _, name = field_path.rpartition(".")
        text = (f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
                if field_path else f"Invalid JSON payload received. {message}")
        return cls._status(400, text, "INVALID_ARGUMENT", {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": where, "description": text}]})

    @classmethod
    def auth(cls, fake: FakeImageAPI, call: Call) -> Reply | None:
        key = call.headers.get("x-goog-api-key") or (parse_qs(urlsplit(call.path).query).get("key") or [None])[0]
        token = _bearer(call)
        if key is None and token is None:
            return cls._status(403, "Method doesn't allow unregistered callers (callers without established "
                                    "identity). Please use API Key or other form of API consumer identity to call "
                                    "this API.", "PERMISSION_DENIED")
        if key is not None and key != fake.key:
            return cls._status(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}})
        if key is None and token != fake.oauth_token:
            return cls._status(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                    "login cookie or other valid authentication credential.", "UNAUTHENTICATED")
        return None

    @staticmethod
    def unknown_field(call: Call) -> str | None:
        return _unknown(call.body, GENERATE_CONTENT, "", proto=True)

    @classmethod
    def rate_limited(cls, fake: FakeImageAPI) -> Reply:
        """A per-minute quota: the wait is a RetryInfo in the body, and there is no Retry-After."""
        return cls._status(429, "You exceeded your current quota, please check your plan and billing details. For "
                                "more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
                                "rate-limits.", "RESOURCE_EXHAUSTED",
                           _quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10"),
                           {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                               "description": "Learn more about Gemini API quotas",
                               "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                           {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fake.retry_after}s"})

    @classmethod
    def quota(cls, call: Call) -> Reply:
        """The free tier's daily quota: it also carries a RetryInfo, which must not be obeyed."""
        return cls._status(429, "You exceeded your current quota, please check your plan and billing details.",
                           "RESOURCE_EXHAUSTED",
                           _quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "100"),
                           {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"})

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
    def blocked(call: Call) -> Reply:
        return _json(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                           "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
                           "modelVersion": "gemini-2.5-flash-image"})


def _quota_failure(quota_id: str, value: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "quotaId": quota_id, "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash-image"},
        "quotaValue": value}]}


class ImagenRoute(GeminiRoute):
    # Vertex AI: /v1beta1/[projects/P/locations/L/]publishers/google/models/M:predict
    path = r"/v1(beta1?)?/(projects/[^/]+/locations/[^/]+/)?(publishers/google/)?models/[^/:]+:predict"

    @staticmethod
    def unknown_field(call: Call) -> str | None:
        return _unknown(call.body, PREDICT, "", proto=False)

    @classmethod
    def rate_limited(cls, fake: FakeImageAPI) -> Reply:
        """Vertex AI's online-prediction quota: no RetryInfo, no Retry-After."""
        return cls._status(429, "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model"
                                " with base model: imagen-4.0-generate. Please submit a quota increase request.",
                           "RESOURCE_EXHAUSTED")

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
    def error(code: int, message: str, kind: str = "server_error", err_code: str | None = None,
              param: str | None = None) -> Reply:
        return _json(code, {"error": {"message": message, "type": kind, "param": param, "code": err_code}})

    @classmethod
    def not_found(cls, path: str) -> Reply:
        return cls.error(404, f"Invalid URL (POST {path})", "invalid_request_error")

    @classmethod
    def invalid(cls, message: str, field_path: str) -> Reply:
        if not field_path:
            return cls.error(400, message, "invalid_request_error")
        return cls.error(400, f"Unknown parameter: '{field_path}'.", "invalid_request_error", "unknown_parameter",
                         field_path)

    @classmethod
    def auth(cls, fake: FakeImageAPI, call: Call) -> Reply | None:
        key = _bearer(call)
        if key is None:
            return cls.error(401, "You didn't provide an API key. You need to provide your API key in an "
                                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                             "invalid_request_error")
        if key != fake.key:
            shown = f"{key[:3]}***{key[-2:]}" if len(key) > 5 else "***"
            return cls.error(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                                  "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                             "invalid_api_key")
        return None

    @staticmethod
    def unknown_field(call: Call) -> str | None:
        if call.body.get("multipart"):
            return next((n for n in call.body["fields"] if n not in OPENAI_EDITS), None)
        if call.path.startswith("/v1/images/edits"):
            return "the edits endpoint takes multipart/form-data"
        return next((n for n in call.body if n not in OPENAI_GENERATIONS), None)

    @classmethod
    def rate_limited(cls, fake: FakeImageAPI) -> Reply:
        reply = cls.error(429, "Rate limit reached for gpt-image-1 on images per minute (IPM): Limit 5, Used 5, "
                               "Requested 1.", "requests", "rate_limit_exceeded")
        reply.headers["Retry-After"] = fake.retry_after
        return reply

    @classmethod
    def quota(cls, call: Call) -> Reply:
        return cls.error(429, "You exceeded your current quota, please check your plan and billing details. For "
                              "more information on this error, read the docs: https://platform.openai.com/docs/"
                              "guides/error-codes/api-errors.", "insufficient_quota", "insufficient_quota")

    @staticmethod
    def ok(call: Call) -> Reply:
        count = int(call.body.get("n", 1)) if isinstance(call.body, dict) and "n" in call.body else 1
        return _json(200, {"created": int(time.time()), "data": [{"b64_json": call.image_b64}] * count,
                           "usage": {"total_tokens": 100}})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {"created": int(time.time()), "data": []})

    @classmethod
    def safety(cls, call: Call) -> Reply:
        return cls.error(400, "Your request was rejected as a result of our safety system.",
                         "image_generation_user_error", "moderation_blocked")


class FluxRoute:
    """Hugging Face inference (hf-inference): `POST <base>/models/<model id>`."""

    path = r"/models/.+"

    @staticmethod
    def error(code: int, message: str) -> Reply:
        return _json(code, {"error": message})

    @classmethod
    def not_found(cls, path: str) -> Reply:
        return cls.error(404, "Not Found")

    @classmethod
    def invalid(cls, message: str, field_path: str) -> Reply:
        return cls.error(400, f"Input validation error: {message}")

    @classmethod
    def auth(cls, fake: FakeImageAPI, call: Call) -> Reply | None:
        key = _bearer(call)
        if key is None:
            return cls.error(401, "You must provide an api_key to work with hf-inference API or log in with "
                                  "`hf auth login`.")
        return None if key == fake.key else cls.error(401, "Invalid credentials in Authorization header")

    @staticmethod
    def unknown_field(call: Call) -> str | None:
        return _unknown(call.body, HF_TEXT_TO_IMAGE, "", proto=False)

    @classmethod
    def rate_limited(cls, fake: FakeImageAPI) -> Reply:
        reply = cls.error(429, "Rate limit reached. You reached free usage limit (reset hourly).")
        reply.headers["Retry-After"] = fake.retry_after
        return reply

    @classmethod
    def payment(cls, call: Call) -> Reply:
        return cls.error(402, "You have exceeded your monthly included credits for Inference Providers. Subscribe "
                              "to PRO to get 20x more monthly included credits.")

    @staticmethod
    def ok(call: Call) -> Reply:
        return Reply(200, call.image, call.image_type)


class SDWebUIRoute:
    """AUTOMATIC1111 / Forge (FastAPI): 422 with pydantic's detail list for a bad field."""

    path = r"/sdapi/v1/(txt2img|img2img)"

    @staticmethod
    def error(code: int, message: str) -> Reply:
        return _json(code, {"error": "HTTPException", "detail": message})

    @classmethod
    def not_found(cls, path: str) -> Reply:
        return _json(404, {"detail": "Not Found"})

    @classmethod
    def invalid(cls, message: str, field_path: str) -> Reply:
        return _json(422, {"detail": [{"type": "extra_forbidden", "loc": ["body", field_path],
                                       "msg": "Extra inputs are not permitted", "input": None}]})

    @classmethod
    def auth(cls, fake: FakeImageAPI, call: Call) -> Reply | None:
        if fake.basic_auth is None:
            return None
        sent = call.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(fake.basic_auth.encode()).decode()
        if sent == expected:
            return None
        return _json(401, {"detail": "Incorrect username or password."}, **{"WWW-Authenticate": "Basic"})

    @staticmethod
    def unknown_field(call: Call) -> str | None:
        allowed = SD_IMG2IMG if call.path.startswith("/sdapi/v1/img2img") else SD_TXT2IMG
        return next((n for n in call.body if n not in allowed), None)

    @classmethod
    def rate_limited(cls, fake: FakeImageAPI) -> Reply:
        reply = cls.error(429, "Too Many Requests")
        reply.headers["Retry-After"] = fake.retry_after
        return reply

    @staticmethod
    def ok(call: Call) -> Reply:
        count = int(call.body.get("batch_size", 1))
        return _json(200, {"images": [call.image_b64] * count, "parameters": call.body, "info": "{}"})

    @staticmethod
    def noimage(call: Call) -> Reply:
        return _json(200, {"images": [], "parameters": {}, "info": "{}"})


ROUTES: dict[str, Any] = {"gemini": GeminiRoute, "imagen": ImagenRoute, "openai": OpenAIRoute, "flux": FluxRoute,
                          "sdwebui": SDWebUIRoute}
