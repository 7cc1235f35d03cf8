"""The web UI: server-side page shells (Jinja2) whose scripts call the /v1 API. Everything is
served from the package — no CDN, no Node.js."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from reelforge.service.registry import kinds

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def _page(request: Request, name: str, **extra: object) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"kinds": kinds(), **extra})


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return _page(request, "history.html", active="history")


@router.get("/new/{kind}", response_class=HTMLResponse)
async def new_job(request: Request, kind: str) -> HTMLResponse:
    if kind not in kinds():
        raise HTTPException(404, f"no job kind {kind}")
    return _page(request, "new.html", active=kind, kind=kinds()[kind])


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str) -> HTMLResponse:
    return _page(request, "job.html", active="history", job_id=job_id)
