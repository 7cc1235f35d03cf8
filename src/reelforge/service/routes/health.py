from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(ping: Callable[[], None]) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
        return "ok"
    except Exception as exc:  # report, never crash the probe
        return f"error: {type(exc).__name__}"


@router.get("/readyz", summary="The database, the artifact store and (with workers) the broker are reachable",
            responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.to_thread(state.store.ping)
        checks["database"] = "ok"
    except Exception as exc:  # report, never crash the probe
        checks["database"] = f"error: {type(exc).__name__}"
    ping_store = getattr(state.ctx.store, "ping", None)
    if ping_store is not None:  # S3: the bucket answers
        checks["artifacts"] = await _check(ping_store)
    else:
        root = state.settings.data_dir / "artifacts"
        try:
            await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
            checks["artifacts"] = "ok" if root.is_dir() else "missing"
        except OSError as exc:
            checks["artifacts"] = f"error: {exc.strerror}"
    ping_broker = getattr(state.executor, "ping_broker", None)
    if ping_broker is not None:  # jobs run on workers: the broker must take them
        checks["broker"] = await _check(ping_broker)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)
