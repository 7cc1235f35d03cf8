"""The FastAPI app, built by `create_app(settings)`. Its lifespan opens one RuntimeContext (pools
kept warm), the job store and the executor — in-process, or enqueuing for Celery workers when
REELFORGE_BROKER_URL is set — and closes them on shutdown."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from reelforge import __version__
from reelforge.runtime.context import RuntimeContext
from reelforge.service import errors
from reelforge.service.executor import InProcessExecutor
from reelforge.service.fetch import GuardedDownloader
from reelforge.service.live_views import LiveViews
from reelforge.service.routes import characters, health, jobs, ui, uploads
from reelforge.service.security import BodyLimit
from reelforge.service.store import JobStore
from reelforge.settings import Settings

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None, *, workers: int | None = None,
               downloader: GuardedDownloader | None = None, freeze_gc: bool = False) -> FastAPI:
    """The service. `workers` jobs run at once (default: the number of cores). `freeze_gc`
    (what `reelforge serve` passes) hides everything loaded by start-up from the collector."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        ctx = RuntimeContext.from_settings(settings, keep_pools_warm=True)
        assert ctx.records is not None
        store = JobStore(engine=ctx.records.engine)  # the same database as the run records
        executor: InProcessExecutor
        if settings.broker_url:  # workers run the jobs (docs/deploy.md)
            from reelforge.service.queue import CeleryExecutor

            executor = CeleryExecutor(ctx, store, downloader=app.state.downloader)
        else:
            executor = InProcessExecutor(ctx, store, workers=workers or os.cpu_count() or 1,
                                         downloader=app.state.downloader)
        app.state.ctx, app.state.store, app.state.executor = ctx, store, executor
        await executor.start()
        if freeze_gc:
            # Everything loaded so far (FastAPI, pydantic, SQLAlchemy, the pipelines' modules) lives
            # as long as the process: moved out of the collector's sight, so a full collection under
            # load walks only what requests create. Not for apps made and dropped in one process
            # (tests): what is frozen is never collected.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await executor.aclose()
            await ctx.aclose()

    app = FastAPI(title="reelforge", version=__version__, lifespan=lifespan,
                  description="Jobs for every reelforge pipeline, live progress over SSE, uploads and downloads.")
    app.state.settings = settings
    app.state.live_views = LiveViews()
    app.state.downloader = downloader or GuardedDownloader(max_bytes=int(settings.fetch_max_mb * 1024 * 1024),
                                                           timeout_s=settings.fetch_timeout_s)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(uploads.router)
    app.include_router(characters.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if settings.cors_list():
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_list(), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"])
    app.add_middleware(BodyLimit, settings=settings)
    return app
