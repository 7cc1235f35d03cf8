"""API keys, artifact link tokens and the request-size limit."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import HTTPException, Request

from reelforge.settings import Settings


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def key_ok(settings: Settings, key: str | None) -> bool:
    keys = settings.key_list()
    if not keys:
        return True
    return key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


async def require_key(request: Request) -> None:
    """Every /v1 route: Authorization: Bearer <key> or X-API-Key: <key> when keys are set.
    A coroutine, so FastAPI checks it on the event loop: a plain function would cost every
    request a hop to the thread pool and back."""
    settings: Settings = request.app.state.settings
    if not key_ok(settings, presented_key(request)):
        raise HTTPException(401, "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})


def link_token(settings: Settings, job_id: str) -> str | None:
    """A token that lets a browser fetch one job's artifacts (a <video src> sends no headers)."""
    keys = settings.key_list()
    if not keys:
        return None
    return hmac.new(keys[0].encode(), f"artifacts:{job_id}".encode(), hashlib.sha256).hexdigest()[:32]


class BodyLimit:
    """ASGI middleware: refuses a request body over its route's limit with 413 — by
    Content-Length at once, else while it streams in (chunked uploads)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.upload_limit = int(settings.max_upload_mb * 1024 * 1024) + 64 * 1024  # + multipart framing
        self.default_limit = int(settings.max_request_mb * 1024 * 1024)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].rstrip("/") == "/v1/uploads" else self.default_limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise HTTPException(413, "request body too large")
            return message

        async def guarded_send(message: Any) -> None:
            if state["exceeded"]:
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _too_large(send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["exceeded"]:
                raise
            if not state["started"]:
                state["started"] = True
                await _too_large(send, limit)


async def _too_large(send: Any, limit: int) -> None:
    body = (b'{"detail": "request body too large (the limit is %d bytes)"}' % limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
