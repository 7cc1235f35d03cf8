from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the artifact store are reachable",
            responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.to_thread(state.store.ping)
        checks["database"] = "ok"
    except Exception as exc:  # report, never crash the probe
        checks["database"] = f"error: {type(exc).__name__}"
    root = state.settings.data_dir / "artifacts"
    try:
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
        checks["artifacts"] = "ok" if root.is_dir() else "missing"
    except OSError as exc:
        checks["artifacts"] = f"error: {exc.strerror}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)
