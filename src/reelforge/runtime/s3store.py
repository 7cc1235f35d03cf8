"""The artifact store in S3-compatible storage (AWS, MinIO, DigitalOcean Spaces, R2), for workers
on several machines: `REELFORGE_ARTIFACTS_URL=s3://bucket/prefix`.

Same layout as the local folder — `<prefix>/objects/ab/<sha256>` for bytes, `<prefix>/results/
ab/<key>.json` for finished steps. A reader never sees half an object: S3 makes a PUT (and a
multipart upload, at its completion) visible whole or not at all, and a result record is written
only after every object it names. Steps that need a file on disk (ffmpeg inputs) get one from a
local read-through cache, downloaded to a temp file, checked against its digest, then renamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from reelforge.atomic import atomic_output
from reelforge.errors import InputError
from reelforge.runtime.artifacts import Artifact, StepResult, copy_atomically
from reelforge.runtime.keys import sha256_bytes, sha256_file
from reelforge.settings import Settings

MULTIPART_BYTES = 16 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`; InputError naming the variable otherwise."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InputError(f"REELFORGE_ARTIFACTS_URL={url!r} is not an s3://bucket/prefix URL",
                         field="REELFORGE_ARTIFACTS_URL",
                         hint="e.g. s3://reelforge-artifacts/prod (unset it for the local folder)")
    return parsed.netloc, parsed.path.strip("/")


class S3ArtifactStore:
    def __init__(self, client: Any, bucket: str, prefix: str, cache_dir: Path) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self.cache = Path(cache_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ArtifactStore:
        from reelforge.providers.storage.s3 import s3_client

        bucket, prefix = parse_s3_url(str(settings.artifacts_url))
        return cls(s3_client(settings), bucket, prefix, settings.cache_dir / "s3-artifacts")

    # --- keys ----------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def object_key(self, digest: str) -> str:
        return self._key("objects", digest[:2], digest)

    def result_key(self, key: str) -> str:
        return self._key("results", key[:2], f"{key}.json")

    # --- objects -------------------------------------------------------------------------------
    def _size(self, s3_key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=s3_key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put_bytes(self, data: bytes, media_type: str, meta: dict[str, Any] | None = None) -> Artifact:
        digest = sha256_bytes(data)
        if self._size(self.object_key(digest)) != len(data):
            self.client.put_object(Bucket=self.bucket, Key=self.object_key(digest), Body=data, ContentType=media_type)
        return Artifact(digest, media_type, len(data), dict(meta or {}))

    def put_file(self, path: Path, media_type: str, meta: dict[str, Any] | None = None) -> Artifact:
        from boto3.s3.transfer import TransferConfig

        digest, size = sha256_file(path), path.stat().st_size
        if self._size(self.object_key(digest)) != size:
            config = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES)
            self.client.upload_file(str(path), self.bucket, self.object_key(digest),
                                    ExtraArgs={"ContentType": media_type}, Config=config)
        return Artifact(digest, media_type, size, dict(meta or {}))

    def has(self, artifact: Artifact) -> bool:
        return self._size(self.object_key(artifact.digest)) == artifact.size

    def read_bytes(self, artifact: Artifact) -> bytes:
        cached = self._cached(artifact)
        if cached.is_file():
            return cached.read_bytes()
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=self.object_key(artifact.digest))["Body"].read()
        if sha256_bytes(data) != artifact.digest:
            raise OSError(f"s3://{self.bucket}/{self.object_key(artifact.digest)} does not match its digest")
        return data

    def _cached(self, artifact: Artifact) -> Path:
        return self.cache / artifact.digest[:2] / artifact.digest

    def path_of(self, artifact: Artifact) -> Path:
        """A local file with the artifact's bytes (downloaded once into the cache)."""
        path = self._cached(artifact)
        if path.is_file() and path.stat().st_size == artifact.size:
            return path
        with atomic_output(path) as tmp:
            self.client.download_file(self.bucket, self.object_key(artifact.digest), str(tmp))
            if sha256_file(tmp) != artifact.digest:
                raise OSError(f"s3://{self.bucket}/{self.object_key(artifact.digest)} does not match its digest")
        return path

    def export(self, artifact: Artifact, destination: Path) -> Path:
        copy_atomically(self.path_of(artifact), destination)
        return destination

    def presigned_url(self, artifact: Artifact, expires_s: int = 3600) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.object_key(artifact.digest)},
            ExpiresIn=expires_s)
        return url

    # --- step results --------------------------------------------------------------------------
    def get_result(self, key: str) -> StepResult | None:
        """The stored result, or None when absent, unreadable or missing one of its objects."""
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.result_key(key))["Body"].read()
            result = StepResult.from_dict(json.loads(body))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        except (ValueError, KeyError, TypeError):
            return None
        return result if all(self.has(a) for a in result.artifacts) else None

    def put_result(self, result: StepResult) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.result_key(result.key),
                               Body=json.dumps(result.to_dict(), indent=1).encode(),
                               ContentType="application/json")

    # --- named manifests (a job's outputs, for a service on another machine) ------------------
    def put_manifest(self, name: str, data: Any) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key("manifests", f"{name}.json"),
                               Body=json.dumps(data).encode(), ContentType="application/json")

    def get_manifest(self, name: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key("manifests", f"{name}.json"))["Body"]
            return json.loads(body.read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def ping(self) -> None:
        """Raise unless the bucket answers (readiness checks)."""
        self.client.head_bucket(Bucket=self.bucket)


def open_artifact_store(settings: Settings) -> Any:
    """The store the settings name: S3 for an s3:// artifacts URL, else the local folder."""
    from reelforge.runtime.artifacts import LocalArtifactStore

    if settings.artifacts_url:
        return S3ArtifactStore.from_settings(settings)
    return LocalArtifactStore(settings.data_dir / "artifacts")
