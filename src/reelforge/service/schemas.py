"""What the API answers (the OpenAPI schema is made from these)."""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.service.files import list_artifacts
from reelforge.service.security import link_token
from reelforge.service.store import JobRow
from reelforge.settings import Settings

Status = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="The job kind (GET /v1/kinds).")
    spec: dict[str, Any] = Field(description="The kind's spec document, as the CLI reads it.")
    options: dict[str, Any] = Field(default_factory=dict, description="budget_usd, refresh.")


class ErrorInfo(BaseModel):
    message: str
    hint: str | None = None


class ArtifactOut(BaseModel):
    name: str
    size: int
    media_type: str
    url: str


class JobOut(BaseModel):
    id: str
    kind: str
    status: Status
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    stage: str | None = None
    progress: float = Field(ge=0, le=1)
    cost_usd: float
    attempts: int
    error: ErrorInfo | None = None
    artifacts: list[ArtifactOut] = Field(default_factory=list)
    spec: dict[str, Any]
    options: dict[str, Any]
    links: dict[str, str]


class JobList(BaseModel):
    items: list[JobOut]
    total: int
    limit: int
    offset: int


class PlanOut(BaseModel):
    kind: str
    calls: int
    cached: int
    estimate_usd: float | None
    notes: list[str]


class UploadOut(BaseModel):
    id: str
    ref: str
    filename: str
    media_type: str
    size: int


class KindOut(BaseModel):
    kind: str
    title: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    file_fields: list[str]


class Problem(BaseModel):
    field: str
    message: str


class SpecProblem(BaseModel):
    detail: str
    problems: list[Problem] = Field(default_factory=list)
    hint: str | None = None


def media_type_of(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def job_out(row: JobRow, settings: Settings, out_dir: Path, live: Any = None,
            remote: list[dict[str, Any]] | None = None) -> JobOut:
    """`remote`: the outputs a worker elsewhere stored in the artifact store (name, size,
    media_type), listed when this machine has none of them."""
    base = f"/v1/jobs/{row.id}"
    token = link_token(settings, row.id)
    query = f"?t={token}" if token else ""
    artifacts = []
    for path in list_artifacts(out_dir):
        name = path.relative_to(out_dir).as_posix()
        artifacts.append(ArtifactOut(name=name, size=path.stat().st_size, media_type=media_type_of(path),
                                     url=f"{base}/artifacts/{name}{query}"))
    if not artifacts and remote:
        artifacts = [ArtifactOut(name=o["name"], size=o["size"], media_type=o["media_type"],
                                 url=f"{base}/artifacts/{o['name']}{query}") for o in remote]
    progress, stage, cost = row.progress, row.stage, row.cost_usd
    if live is not None and row.status == "running":
        progress, stage, cost = live.value, live.stage, live.cost
    return JobOut(id=row.id, kind=row.kind, status=row.status, created_at=row.created_at,  # type: ignore[arg-type]
                  started_at=row.started_at, finished_at=row.finished_at, stage=stage,
                  progress=max(0.0, min(1.0, progress)), cost_usd=cost, attempts=row.attempts,
                  error=ErrorInfo(message=row.error, hint=row.hint) if row.error else None, artifacts=artifacts,
                  spec=row.spec_dict, options=row.options_dict,
                  links={"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel",
                         "resume": f"{base}/resume", "page": f"/jobs/{row.id}"})
