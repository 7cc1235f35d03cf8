"""Files named by a spec submitted over HTTP. Only `upload:<id>`, `job:<id>/<artifact>`,
http(s) URLs (through the guarded downloader) and the bundled `sample:NAME` photos are
accepted — never a path on the server. Before a job runs they are resolved to files in its
`in/` folder."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reelforge.errors import SpecError
from reelforge.service.fetch import GuardedDownloader
from reelforge.service.files import EXTENSIONS, artifact_path, safe_name
from reelforge.service.store import JobStore

_UPLOAD = re.compile(r"^upload:([0-9a-f]{16})$")
_JOB = re.compile(r"^job:([0-9a-f]{16})/(.+)$")


def _walk(doc: Any, parts: list[str], where: list[str]) -> Iterator[tuple[Any, Any, str]]:
    """(container, key, dotted path) of every value at `parts` in `doc`."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = list(enumerate(doc)) if isinstance(doc, list) else []
    else:
        items = [(head, doc[head])] if isinstance(doc, dict) and head in doc else []
    for key, value in items:
        here = [*where, str(key)]
        if rest:
            yield from _walk(value, rest, here)
        elif isinstance(value, str):
            yield doc, key, ".".join(here)


def references(doc: Any, path_fields: tuple[str, ...]) -> list[tuple[Any, Any, str, str]]:
    found = []
    for pattern in path_fields:
        for container, key, where in _walk(doc, pattern.split("."), []):
            found.append((container, key, where, container[key]))
    return found


def jobs_folder(data_dir: Path) -> Path:
    return data_dir / "jobs"


def check_references(doc: Any, path_fields: tuple[str, ...], store: JobStore, data_dir: Path) -> None:
    """SpecError naming every field that names something a client may not use (a server path,
    an unknown upload, a missing job artifact)."""
    problems: list[tuple[str, int | None, str]] = []
    for _, _, where, value in references(doc, path_fields):
        message = _problem(value, store, data_dir)
        if message:
            problems.append((where, None, message))
    if problems:
        raise SpecError(f"the spec names files it may not use ({len(problems)} problem(s)):", problems=problems,
                        hint="over HTTP, name files as upload:<id> (POST /v1/uploads), job:<id>/<artifact> or an "
                             "http(s) URL")


def _problem(value: str, store: JobStore, data_dir: Path) -> str | None:
    if value.startswith(("http://", "https://", "sample:")):
        return None
    if m := _UPLOAD.match(value):
        return None if store.get_upload(m.group(1)) else f"no upload {m.group(1)}"
    if m := _JOB.match(value):
        if artifact_path(jobs_folder(data_dir) / m.group(1) / "out", m.group(2)) is None:
            return f"job {m.group(1)} has no artifact {m.group(2)!r}"
        return None
    return "specs sent over HTTP may not name server files: use upload:<id>, job:<id>/<artifact> or an http(s) URL"


async def resolve_references(doc: Any, path_fields: tuple[str, ...], *, store: JobStore, artifacts: Any,
                             data_dir: Path, inputs: Path, downloader: GuardedDownloader) -> Any:
    """A copy of `doc` whose file fields are local files (uploads exported from the artifact
    store, other jobs' outputs, downloads) in `inputs`."""
    import asyncio

    from reelforge.runtime.artifacts import Artifact

    doc = copy.deepcopy(doc)
    inputs.mkdir(parents=True, exist_ok=True)
    for n, (container, key, where, value) in enumerate(references(doc, path_fields)):
        if problem := await asyncio.to_thread(_problem, value, store, data_dir):
            raise SpecError("the spec names a file it may not use", problems=[(where, None, problem)])
        if value.startswith("sample:"):  # a bundled sample photo (the package's own files)
            from reelforge.samples import sample_path

            try:
                container[key] = str(sample_path(value.removeprefix("sample:")))
            except Exception as exc:  # an unknown name: say which ones exist
                raise SpecError("the spec names an unknown sample", problems=[(where, None, str(exc))]) from None
        elif m := _UPLOAD.match(value):
            row = store.get_upload(m.group(1))
            assert row is not None
            target = inputs / f"{n:02d}-{safe_name(row.filename)}"
            artifact = Artifact(row.digest, row.media_type, row.size, {})
            container[key] = str(await asyncio.to_thread(artifacts.export, artifact, target))
        elif m := _JOB.match(value):
            found = artifact_path(jobs_folder(data_dir) / m.group(1) / "out", m.group(2))
            container[key] = str(found)
        elif value.startswith(("http://", "https://")):
            name = safe_name(value.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
            path, media_type = await downloader.download(value, inputs / f"{n:02d}-{name}", field=where)
            if not Path(name).suffix and media_type.split(";")[0] in EXTENSIONS:
                path = path.rename(path.with_suffix(EXTENSIONS[media_type.split(";")[0]]))  # atomic rename (same folder)
            container[key] = str(path)
    return doc
