"""Local fake vision APIs on 127.0.0.1, strict like tests/fakes/image_apis.py.

`FakeGeminiVision`: the Gemini generateContent fake of image_apis (route, `x-goog-api-key`,
unknown request fields rejected with Google's 400) answering with a JSON text part. It also
insists on what a structured answer needs: `responseMimeType: application/json` with a
`responseJsonSchema` that is a JSON Schema object.

`FakeOpenAIChat`: POST /v1/chat/completions, `Authorization: Bearer <key>`, unknown top-level
fields → 400 unknown_parameter, message content parts of type text or image_url (data URLs
only), `response_format` json_schema required.

Modes (script, then default): ok, badjson (not JSON), badschema (JSON that does not fit),
badindex (an image index beyond the request), 429, 500, safety (Gemini SAFETY finish; OpenAI a
refusal), blocked (Gemini promptFeedback), truncated (MAX_TOKENS / length)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import Served

from .image_apis import Call, FakeImageAPI, GeminiRoute, Reply, _json

TEST_KEY = "test-key"


def products_answer(count: int = 1) -> dict[str, Any]:
    return {"products": [{"name": f"bottle {i}", "description": "a red bottle", "best_image": 0,
                          "boxes": [{"image": 0, "box_2d": [100, 200, 800, 500]}]} for i in range(count)]}


class FakeGeminiVision(FakeImageAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("gemini", **kwargs)
        self.answer: Any = products_answer()

    def _gate(self, call: Call) -> Reply | None:
        refused = super()._gate(call)
        if refused is not None:
            return refused
        config = call.body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("response_json_schema")
        if config.get("responseMimeType") != "application/json" or not isinstance(schema, dict):
            return GeminiRoute.invalid("structured output needs responseMimeType application/json and a schema", "")
        if schema.get("type") != "object" or "properties" not in schema:
            return GeminiRoute.invalid("responseJsonSchema is not a JSON Schema object", "")
        return None

    def _reply(self, call: Call) -> Reply:
        text = {"ok": json.dumps(self.answer), "badjson": "Sure! Here are the products: a bottle",
                "badschema": json.dumps({"items": [{"label": "bottle"}]}),
                "badindex": json.dumps({"products": [{"name": "x", "description": "", "best_image": 9,
                                                      "boxes": [{"image": 9, "box_2d": [0, 0, 10, 10]}]}]})
                }.get(call.mode)
        if text is not None:
            return _json(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                               "finishReason": "STOP", "index": 0}],
                               "usageMetadata": {"promptTokenCount": 800, "candidatesTokenCount": 60,
                                                 "totalTokenCount": 860},
                               "modelVersion": "gemini-2.5-flash"})
        if call.mode == "truncated":
            return _json(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": '{"products": ['}]},
                                               "finishReason": "MAX_TOKENS", "index": 0}]})
        if call.mode == "safety":
            return _json(200, {"candidates": [{"finishReason": "SAFETY", "index": 0}]})
        return super()._reply(call)

    def images_sent(self, index: int = -1) -> int:
        parts = self.calls[index].body["contents"][0]["parts"]
        return sum(1 for p in parts if "inlineData" in p or "inline_data" in p)


CHAT_FIELDS = {"model", "messages", "response_format", "temperature", "max_tokens", "max_completion_tokens",
               "top_p", "seed", "n", "stream", "user", "stop"}


class FakeOpenAIChat(Served):
    def __init__(self, key: str = TEST_KEY) -> None:
        self.key = key
        self.script: list[str] = []
        self.default = "ok"
        self.answer: Any = products_answer()
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._listen(self._handler())

    @property
    def url(self) -> str:
        return f"{super().url}/v1"



    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body, headers = fake._serve(self.path, dict(self.headers), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @staticmethod
    def _error(status: int, message: str, kind: str, code: str | None = None) -> tuple[int, Any, dict[str, str]]:
        return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, {}

    def _serve(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, dict[str, str]]:
        if path != "/v1/chat/completions":
            return self._error(404, f"Invalid URL (POST {path})", "invalid_request_error")
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.key}":
            return self._error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        body = json.loads(raw or b"{}")
        with self._lock:
            self.calls.append(body)
            mode = self.script.pop(0) if self.script else self.default
        unknown = sorted(set(body) - CHAT_FIELDS)
        if unknown:
            return self._error(400, f"Unrecognized request argument supplied: {unknown[0]}", "invalid_request_error",
                               "unknown_parameter")
        for message in body["messages"]:
            if message.get("role") not in ("system", "user", "assistant"):
                return self._error(400, f"Invalid role {message.get('role')!r}", "invalid_request_error")
            if isinstance(message.get("content"), str):  # plain text content (system prompts, writers)
                continue
            for part in message["content"]:
                if part["type"] not in ("text", "image_url") or (
                        part["type"] == "image_url" and not part["image_url"]["url"].startswith("data:image/")):
                    return self._error(400, "Invalid content part", "invalid_request_error")
        if (body.get("response_format") or {}).get("type") != "json_schema":
            return self._error(400, "response_format json_schema expected by this fake", "invalid_request_error")
        if mode == "429":
            return 429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}, \
                {"retry-after": "1"}
        if mode == "500":
            return self._error(500, "The server had an error", "server_error")
        content = {"ok": json.dumps(self.answer), "badjson": "here you go: bottle",
                   "badschema": json.dumps({"items": []})}.get(mode)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        finish = "stop"
        if mode == "safety":
            message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
        elif mode == "truncated":
            message["content"], finish = '{"products": [', "length"
        return 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                     "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                     "usage": {"prompt_tokens": 900, "completion_tokens": 50, "total_tokens": 950}}, {}

    def images_sent(self, index: int = -1) -> int:
        content = self.calls[index]["messages"][0]["content"]
        return 0 if isinstance(content, str) else sum(1 for p in content if p["type"] == "image_url")
