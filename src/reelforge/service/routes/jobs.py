from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from reelforge.service.files import artifact_path
from reelforge.service.refs import check_references
from reelforge.service.registry import JobOptions, get_kind, kinds
from reelforge.service.schemas import (
    JobList,
    JobOut,
    JobRequest,
    KindOut,
    PlanOut,
    SpecProblem,
    Status,
    job_out,
    media_type_of,
)
from reelforge.service.security import key_ok, link_token, presented_key, require_key
from reelforge.service.store import FINISHED

router = APIRouter(prefix="/v1", tags=["jobs"], responses={400: {"description": "the body is not well-formed (JSON or multipart)"}, 401: {"description": "a valid API key is required"}, 422: {"model": SpecProblem, "description": "invalid request; each problem names its field"}})
authed = [Depends(require_key)]
NOT_FOUND = {404: {"description": "no such job"}}
INVALID = {422: {"model": SpecProblem, "description": "the spec is invalid (each problem names its field)"}}


def _state(request: Request) -> Any:
    return request.app.state


async def _row(request: Request, job_id: str) -> Any:
    row = await asyncio.to_thread(_state(request).store.get, job_id)
    if row is None:
        raise HTTPException(404, f"no job {job_id}")
    return row


async def _out(request: Request, row: Any) -> JobOut:
    s = _state(request)
    remote = None
    if row.status == "succeeded" and getattr(s.executor, "remote_outputs", None) is not None:
        remote = await asyncio.to_thread(s.executor.remote_outputs, row.id)  # workers elsewhere: from S3
    return job_out(row, s.settings, s.executor.workdir(row.id) / "out", s.executor.snapshot(row.id), remote)


def _validate(request: Request, body: JobRequest) -> tuple[Any, JobOptions]:
    entry = get_kind(body.kind)
    from reelforge.service.errors import options_problem

    check_references(body.spec, entry.path_fields, _state(request).store, _state(request).settings.data_dir)
    entry.parse(body.spec)
    return entry, options_problem(body.options)


@router.get("/kinds", response_model=list[KindOut], dependencies=authed, summary="Job kinds and their spec schemas")
async def list_kinds() -> list[dict[str, Any]]:
    return [{"kind": k.kind, "title": k.title, "description": k.description, "schema": k.model.model_json_schema(),
             "file_fields": list(k.path_fields)} for k in kinds().values()]


@router.post("/jobs", status_code=202, response_model=JobOut, dependencies=authed, responses=INVALID,
             summary="Submit a job (validated before it is accepted)")
async def submit(request: Request, body: JobRequest) -> JobOut:
    _, options = await asyncio.to_thread(_validate, request, body)
    s = _state(request)
    row = await asyncio.to_thread(s.store.create, body.kind, body.spec, options.model_dump(exclude_defaults=True))
    await s.executor.submit(row.id)
    return await _out(request, row)


@router.post("/jobs/plan", response_model=PlanOut, dependencies=authed, responses=INVALID,
             summary="Dry run: what the job would call and cost (calls nothing)")
async def plan(request: Request, body: JobRequest) -> PlanOut:
    entry, options = await asyncio.to_thread(_validate, request, body)
    s = _state(request)
    import tempfile
    from pathlib import Path

    from reelforge.service.refs import resolve_references

    with tempfile.TemporaryDirectory(dir=s.settings.data_dir) as tmp:
        spec = await resolve_references(body.spec, entry.path_fields, store=s.store, artifacts=s.ctx.store,
                                        data_dir=s.settings.data_dir, inputs=Path(tmp) / "in",
                                        downloader=s.downloader)
        job = entry.build(entry.parse(spec), options, s.settings, Path(tmp))
        result = await job.aplan(s.ctx)
    return _plan_out(body.kind, result, job)


def _plan_out(kind: str, result: Any, job: Any) -> PlanOut:
    plan = result[0] if isinstance(result, tuple) else getattr(result, "plan", result)
    notes = list(getattr(result, "notes", ()) or getattr(job, "notes", ()) or ())
    if isinstance(result, tuple) and len(result) > 1:
        notes += list(result[1])
    return PlanOut(kind=kind, calls=plan.calls, cached=plan.cached, estimate_usd=plan.estimate_usd, notes=notes)


@router.get("/jobs", response_model=JobList, dependencies=authed, summary="Jobs, newest first")
async def list_jobs(request: Request, status: Status | None = None, kind: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> JobList:
    rows, total = await asyncio.to_thread(_state(request).store.list, status=status, kind=kind, limit=limit,
                                          offset=offset)
    return JobList(items=[await _out(request, r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=authed, responses=NOT_FOUND, summary="One job")
async def get_job(request: Request, job_id: str) -> Response:
    s = _state(request)
    generation = s.executor.live_generation(job_id)  # read before the row: a newer row makes it stale

    async def build() -> bytes:
        return (await _out(request, await _row(request, job_id))).model_dump_json(by_alias=True).encode()

    return Response(content=await s.live_views.answer(job_id, generation, build), media_type="application/json")


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, dependencies=authed,
             responses={**NOT_FOUND, 409: {"description": "the job has finished"}}, summary="Cancel a job")
async def cancel(request: Request, job_id: str) -> JobOut:
    row = await _row(request, job_id)
    if row.status in FINISHED or not await _state(request).executor.cancel(job_id):
        raise HTTPException(409, f"job {job_id} is {row.status}; only queued or running jobs can be cancelled")
    for _ in range(100):  # a running job stops within a progress tick; answer with its new state
        row = await _row(request, job_id)
        if row.status in FINISHED:
            break
        await asyncio.sleep(0.05)
    return await _out(request, row)


@router.post("/jobs/{job_id}/resume", response_model=JobOut, status_code=202, dependencies=authed,
             responses={**NOT_FOUND, 409: {"description": "the job is queued, running or succeeded"}},
             summary="Run an interrupted, failed or cancelled job again (finished steps are cached)")
async def resume(request: Request, job_id: str) -> JobOut:
    row = await _row(request, job_id)
    if row.status not in ("interrupted", "failed", "cancelled"):
        raise HTTPException(409, f"job {job_id} is {row.status}; only interrupted, failed or cancelled jobs resume")
    await _state(request).executor.resume(job_id)
    return await _out(request, await _row(request, job_id))


@router.get("/jobs/{job_id}/events", dependencies=authed, responses={
    **NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
    summary="Live events (SSE); resume with Last-Event-ID", response_class=StreamingResponse)
async def events(request: Request, job_id: str,
                 last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None) -> StreamingResponse:
    await _row(request, job_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return StreamingResponse(_sse(request, job_id, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _sse(request: Request, job_id: str, after: int) -> AsyncIterator[str]:
    s = _state(request)
    live = s.executor.subscribe(job_id)
    stored = await asyncio.to_thread(s.store.events_after, job_id, after)
    for event in stored:
        after = event.seq
        yield event.to_sse()
    if live is None:  # nothing runs here: the log is complete
        row = await asyncio.to_thread(s.store.get, job_id)
        if row is not None and row.status not in FINISHED:
            yield f"event: job.status\ndata: {{\"status\": \"{row.status}\"}}\n\n"
        return
    iterator = live.__aiter__()
    while True:
        try:
            event = await asyncio.wait_for(iterator.__anext__(), timeout=15)
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        except StopAsyncIteration:
            return
        if event.seq > after:
            after = event.seq
            yield event.to_sse()
        if event.type == "job.finished":
            await iterator.aclose()  # type: ignore[attr-defined]
            return


@router.get("/jobs/{job_id}/artifacts/{name:path}", summary="Download an artifact (Range supported)",
            responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
            response_class=FileResponse)
async def artifact(request: Request, job_id: str, name: str,
                   t: Annotated[str | None, Query(description="Link token from the job's artifact URLs.")] = None
                   ) -> FileResponse:
    s = _state(request)
    token = link_token(s.settings, job_id)
    if not (key_ok(s.settings, presented_key(request)) or (token and t and t == token)):
        raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    if "%2f" in raw.lower() or "%5c" in raw.lower() or "%2e" in raw.lower():
        raise HTTPException(404, "no such artifact")
    path = artifact_path(s.executor.workdir(job_id) / "out", name)
    if path is None and getattr(s.executor, "remote_url", None) is not None:
        url = await asyncio.to_thread(s.executor.remote_url, job_id, name)
        if url is not None:  # made by a worker on another machine: straight from the S3 store
            return RedirectResponse(url, status_code=307)
    if path is None:
        raise HTTPException(404, "no such artifact")
    return FileResponse(path, media_type=media_type_of(path), filename=path.name,
                        content_disposition_type="inline")
