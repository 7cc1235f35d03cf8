"""The content-addressed artifact store: bytes are kept once under their sha256, and each finished
step leaves a small result record under its key. The local folder is the default; anything that
implements `ArtifactStore` (S3, for example) can stand in for it."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reelforge.atomic import atomic_output
from reelforge.runtime.keys import sha256_bytes, sha256_file


@dataclass(frozen=True)
class Artifact:
    """One stored output: its content digest, media type, size and free-form metadata."""

    digest: str
    media_type: str
    size: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        return cls(data["digest"], data["media_type"], int(data["size"]), dict(data.get("meta") or {}))


@dataclass(frozen=True)
class StepResult:
    """What a finished step produced; stored under the step key so a rerun never pays again."""

    key: str
    kind: str
    artifacts: tuple[Artifact, ...]
    cost_usd: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "cost_usd": self.cost_usd, "meta": self.meta,
                "artifacts": [a.to_dict() for a in self.artifacts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        return cls(data["key"], data["kind"], tuple(Artifact.from_dict(a) for a in data["artifacts"]),
                   float(data.get("cost_usd", 0.0)), dict(data.get("meta") or {}))


class ArtifactStore(Protocol):
    """Where artifacts and step results live. Methods block (file or network I/O): the runtime
    calls them from a worker thread, never on the event loop."""

    def put_bytes(self, data: bytes, media_type: str, meta: dict[str, Any] | None = None) -> Artifact: ...
    def put_file(self, path: Path, media_type: str, meta: dict[str, Any] | None = None) -> Artifact: ...
    def read_bytes(self, artifact: Artifact) -> bytes: ...
    def has(self, artifact: Artifact) -> bool: ...
    def export(self, artifact: Artifact, destination: Path) -> Path: ...
    def get_result(self, key: str) -> StepResult | None: ...
    def put_result(self, result: StepResult) -> None: ...


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, flush it to disk, then rename over `path`: a
    reader (or a rerun after kill -9) sees the old file or the whole new one, never a part."""
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def copy_atomically(source: Path, destination: Path) -> None:
    with atomic_output(destination) as tmp:
        shutil.copyfile(source, tmp)


class LocalArtifactStore:
    """A folder: `objects/ab/<sha256>` for bytes, `results/ab/<key>.json` for finished steps."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _object_path(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    def _result_path(self, key: str) -> Path:
        return self.root / "results" / key[:2] / f"{key}.json"

    def path_of(self, artifact: Artifact) -> Path:
        return self._object_path(artifact.digest)

    def put_bytes(self, data: bytes, media_type: str, meta: dict[str, Any] | None = None) -> Artifact:
        digest = sha256_bytes(data)
        path = self._object_path(digest)
        if not path.exists():
            write_atomically(path, data)
        return Artifact(digest, media_type, len(data), dict(meta or {}))

    def put_file(self, path: Path, media_type: str, meta: dict[str, Any] | None = None) -> Artifact:
        digest = sha256_file(path)
        target = self._object_path(digest)
        if not target.exists():
            copy_atomically(path, target)
        return Artifact(digest, media_type, path.stat().st_size, dict(meta or {}))

    def read_bytes(self, artifact: Artifact) -> bytes:
        return self._object_path(artifact.digest).read_bytes()

    def has(self, artifact: Artifact) -> bool:
        path = self._object_path(artifact.digest)
        return path.is_file() and path.stat().st_size == artifact.size

    def export(self, artifact: Artifact, destination: Path) -> Path:
        copy_atomically(self._object_path(artifact.digest), destination)
        return destination

    def get_result(self, key: str) -> StepResult | None:
        """The stored result, or None when absent, unreadable or missing one of its artifacts
        (then the step simply runs again)."""
        path = self._result_path(key)
        try:
            result = StepResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return result if all(self.has(a) for a in result.artifacts) else None

    def put_result(self, result: StepResult) -> None:
        write_atomically(self._result_path(result.key), json.dumps(result.to_dict(), indent=1).encode())
