"""`reelforge serve`: the HTTP service (FastAPI app from `create_app`, served by uvicorn)."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (127.0.0.1 = this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option("--workers", help="Jobs run at once (default: the number of cores); "
                                                                  "the rest queue in order.")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Allow a non-loopback address without "
                                                              "REELFORGE_API_KEYS.")] = False,
) -> None:
    """Serve the job API, live progress and the web UI (open http://HOST:PORT/)."""
    from reelforge.settings import get_settings

    # encodes run below the API's priority unless the user says otherwise (read by ffmpeg/run.py)
    os.environ.setdefault("REELFORGE_FFMPEG_NICE", "10")
    # moving layers are drawn in a child process at that priority, not in the API's interpreter
    os.environ.setdefault("REELFORGE_FEED_PROCESS", "1")
    get_settings.cache_clear()
    settings = get_settings()
    if not _loopback(host) and not settings.key_list() and not insecure:
        typer.secho(f"error: refusing to listen on {host} without API keys: anyone who can reach it could run "
                    "paid jobs.\n  fix: set REELFORGE_API_KEYS=key1,key2 (clients send Authorization: Bearer KEY), "
                    "or bind 127.0.0.1, or pass --insecure", fg="red", err=True)
        raise typer.Exit(2)
    if workers is not None and workers < 1:
        typer.secho("error: --workers must be at least 1", fg="red", err=True)
        raise typer.Exit(2)
    import uvicorn

    from reelforge.service.app import create_app

    app = create_app(settings, workers=workers or os.cpu_count() or 1, freeze_gc=True)
    typer.echo(f"reelforge service on http://{host}:{port}/  (API docs: /docs, data: {settings.data_dir})")
    # httptools parses HTTP in C (h11, the fallback, cost a third of the server's CPU under 400
    # polls a second); the loop stays asyncio's: ffmpeg children need preexec_fn and pass_fds.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10, loop="asyncio",
                http="auto")
