"""`reelforge worker` (a Celery worker running the service's jobs) and `reelforge db upgrade`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

db_app = typer.Typer(no_args_is_help=True, help="The run-records and jobs database (SQLite or PostgreSQL).")


def worker(
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", help="Jobs run at once by this worker "
                                                    "(default: the number of cores).")] = None,
    queues: Annotated[str, typer.Option("--queues", "-Q", help="Comma list of queues to take jobs from: io "
                                        "(provider calls), render (encodes), gpu (cut-outs).")] = "io,render,gpu",
    log_format: Annotated[str | None, typer.Option("--log-format", help="console or json "
                                                   "(default REELFORGE_LOG_FORMAT).")] = None,
    ping: Annotated[bool, typer.Option("--ping", help="Health check: ask the running workers to answer; exit 1 "
                                                      "when none does.")] = False,
) -> None:
    """Run jobs from the broker (REELFORGE_BROKER_URL) until stopped; see docs/deploy.md."""
    from reelforge.logging import configure_logging
    from reelforge.settings import get_settings

    if log_format is not None:
        if log_format not in ("console", "json"):
            typer.secho("error: --log-format must be console or json", fg="red", err=True)
            raise typer.Exit(2)
        os.environ["REELFORGE_LOG_FORMAT"] = log_format
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level if settings.log_level != "warning" else "info", settings.log_format)
    if not settings.broker_url:
        typer.secho("error: no broker to take jobs from\n  fix: set REELFORGE_BROKER_URL=redis://HOST:6379/0 "
                    "(the same for `reelforge serve`)", fg="red", err=True)
        raise typer.Exit(2)
    from reelforge.service.queue import QUEUES

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    known = set(QUEUES) | set(settings.queues.values())
    if not chosen or set(chosen) - known:
        typer.secho(f"error: --queues names unknown queues {sorted(set(chosen) - known)}; known: {sorted(known)}",
                    fg="red", err=True)
        raise typer.Exit(2)
    if concurrency is not None and concurrency < 1:
        typer.secho("error: --concurrency must be at least 1", fg="red", err=True)
        raise typer.Exit(2)
    from reelforge.service import workers

    if ping:
        answered = workers.ping_workers(settings)
        for name in answered:
            typer.echo(f"{name}: pong")
        raise typer.Exit(0 if answered else 1)
    workers.run_worker(settings, concurrency=concurrency or os.cpu_count() or 1, queues=chosen)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the database named by REELFORGE_DATABASE_URL (default the SQLite file
    in the data folder) to the newest schema. Workers and the service also do this on start."""
    from reelforge.runtime.records import HEAD, RunStore
    from reelforge.settings import get_settings

    settings = get_settings()
    store = RunStore(settings.database)
    with store.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    store.engine.dispose()
    typer.echo(f"{store.engine.url.render_as_string(hide_password=True)}: at revision {version} (newest {HEAD})")
