"""`reelforge jobs …`: the service's API from the command line (REELFORGE_SERVER_URL,
REELFORGE_API_KEY). Local files a spec names are uploaded first and replaced by upload:<id>."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

jobs_app = typer.Typer(no_args_is_help=True, help="Submit and follow jobs on a reelforge server.")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


def _client() -> Any:
    import httpx

    from reelforge.settings import get_settings

    settings = get_settings()
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    return httpx.Client(base_url=settings.server_url, headers=headers, timeout=60)


def _call(method: str, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with _client() as client:
            answer = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        typer.secho(f"error: cannot reach the server: {exc}\n  fix: start it with `reelforge serve` or set "
                    "REELFORGE_SERVER_URL", fg="red", err=True)
        raise typer.Exit(1) from None
    if answer.status_code >= 400:
        _print_error(answer)
        raise typer.Exit(2 if answer.status_code in (401, 404, 409, 413, 415, 422) else 1)
    return answer


def _print_error(answer: Any) -> None:
    try:
        body = answer.json()
    except ValueError:
        body = {"detail": answer.text}
    typer.secho(f"error ({answer.status_code}): {body.get('detail')}", fg="red", err=True)
    for problem in body.get("problems", []) or []:
        typer.secho(f"  {problem['field']}: {problem['message']}", fg="red", err=True)
    if body.get("hint"):
        typer.secho(f"  fix: {body['hint']}", fg="red", err=True)


def _upload_local_files(kind: str, spec: dict[str, Any], base: Path) -> dict[str, Any]:
    from reelforge.service.refs import references
    from reelforge.service.registry import kinds

    entry = kinds().get(kind)
    if entry is None:
        return spec
    for container, key, _where, value in references(spec, entry.path_fields):
        if value.startswith(("upload:", "job:", "http://", "https://", "sample:")):
            continue
        path = (base / value).expanduser()
        if path.is_file():
            with path.open("rb") as handle:
                ref = _call("POST", "/v1/uploads", files={"file": (path.name, handle)}).json()["ref"]
            container[key] = ref
    return spec


def _show(job: dict[str, Any]) -> None:
    error = f"  error: {job['error']['message']}" if job.get("error") else ""
    typer.echo(f"{job['id']}  {job['kind']:8} {job['status']:11} {job['progress'] * 100:5.1f}%  "
               f"${job['cost_usd']:.4f}  {job['created_at'][:19]}{error}")


@jobs_app.command("submit")
def submit(
    kind: Annotated[str, typer.Argument(help="render, scenes, cutout, text, overlay or image.")],
    spec: Annotated[Path, typer.Argument(help="The spec (YAML or JSON); local files it names are uploaded.")],
    budget: Annotated[float | None, typer.Option("--budget", help="Most USD the job may spend.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job's events until it ends.")] = False,
    direct: Annotated[bool, typer.Option("--direct", help="No server: write the job to the database and "
                                         "enqueue it on REELFORGE_BROKER_URL for `reelforge worker`.")] = False,
) -> None:
    """Submit a job; prints its id (with --wait: its progress, then its artifacts)."""
    from reelforge.errors import SpecError
    from reelforge.spec.loader import read_document

    try:
        doc, _ = read_document(spec)
    except SpecError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    if direct:
        _submit_direct(kind, doc if isinstance(doc, dict) else {}, {"budget_usd": budget} if budget is not None
                       else {}, spec.resolve().parent, wait)
        return
    doc = _upload_local_files(kind, doc if isinstance(doc, dict) else {}, spec.resolve().parent)
    options = {"budget_usd": budget} if budget is not None else {}
    job = _call("POST", "/v1/jobs", json={"kind": kind, "spec": doc, "options": options}).json()
    typer.echo(job["id"])
    if wait:
        job = _follow(job["id"])
        _show(job)
        for artifact in job["artifacts"]:
            typer.echo(f"  {artifact['name']}  {artifact['size']} bytes  {artifact['media_type']}")
        raise typer.Exit(0 if job["status"] == "succeeded" else 1)


def _submit_direct(kind: str, doc: dict[str, Any], options: dict[str, Any], base: Path, wait: bool) -> None:
    import time

    from reelforge.errors import SpecError
    from reelforge.settings import get_settings

    settings = get_settings()
    if not settings.broker_url:
        typer.secho("error: --direct needs a broker\n  fix: set REELFORGE_BROKER_URL (and the same "
                    "REELFORGE_DATABASE_URL as the workers)", fg="red", err=True)
        raise typer.Exit(2)
    from reelforge.service.queue import enqueue_direct
    from reelforge.service.store import JobStore

    try:
        job_id = enqueue_direct(settings, kind, doc, options, base)
    except SpecError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        for path, _line, message in exc.problems:
            typer.secho(f"  spec.{path}: {message}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(job_id)
    if not wait:
        return
    store = JobStore(settings.database)
    while (row := store.get(job_id)) is not None and row.status not in FINISHED:
        time.sleep(0.5)
    assert row is not None
    typer.echo(f"{job_id}  {row.kind}  {row.status}" + (f"  error: {row.error}" if row.error else ""))
    raise typer.Exit(0 if row.status == "succeeded" else 1)


def _follow(job_id: str) -> dict[str, Any]:
    with _client() as client, client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=None) as stream:
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("step.started", "step.failed", "job.finished"):
                data = json.loads(line[5:])
                typer.echo(f"  {event}: {data.get('step') or data.get('status') or ''} {data.get('error') or ''}".rstrip(),
                           err=True)
    return dict(_call("GET", f"/v1/jobs/{job_id}").json())


@jobs_app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option("--status", help="Only jobs in this state.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many (newest first).")] = 20,
) -> None:
    """Jobs on the server, newest first."""
    params = {k: v for k, v in {"status": status, "kind": kind, "limit": limit}.items() if v is not None}
    for job in _call("GET", "/v1/jobs", params=params).json()["items"]:
        _show(job)


@jobs_app.command("show")
def show(job_id: str) -> None:
    """One job as JSON."""
    typer.echo(json.dumps(_call("GET", f"/v1/jobs/{job_id}").json(), indent=2))


@jobs_app.command("cancel")
def cancel(job_id: str) -> None:
    """Cancel a queued or running job (its provider calls and ffmpeg stop)."""
    _show(_call("POST", f"/v1/jobs/{job_id}/cancel").json())


@jobs_app.command("resume")
def resume(job_id: str, wait: Annotated[bool, typer.Option("--wait", help="Follow it to the end.")] = False) -> None:
    """Run an interrupted, failed or cancelled job again; finished steps come from the cache."""
    job = _call("POST", f"/v1/jobs/{job_id}/resume").json()
    _show(_follow(job_id) if wait else job)


@jobs_app.command("download")
def download(
    job_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the artifacts into.")] = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="Only this artifact.")] = None,
) -> None:
    """Download a job's artifacts."""
    job = _call("GET", f"/v1/jobs/{job_id}").json()
    chosen = [a for a in job["artifacts"] if name is None or a["name"] == name]
    if not chosen:
        typer.secho(f"error: job {job_id} has no artifact {name or ''}".rstrip(), fg="red", err=True)
        raise typer.Exit(2)
    output.mkdir(parents=True, exist_ok=True)
    with _client() as client:
        for artifact in chosen:
            target = output / Path(artifact["name"]).name
            with client.stream("GET", f"/v1/jobs/{job_id}/artifacts/{artifact['name']}") as stream, \
                    target.open("wb") as out:
                for chunk in stream.iter_bytes():
                    out.write(chunk)
            typer.echo(f"wrote {target} ({artifact['size']} bytes)")
