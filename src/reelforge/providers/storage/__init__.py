"""The storage capability: where finished clips are uploaded, by URL-like target —
`s3://bucket/key` (AWS, DigitalOcean Spaces, MinIO, R2 via the endpoint URL),
`gs://bucket/key` (Google Cloud Storage), `cloudinary://folder/name` (Cloudinary's upload API), `file:///folder/key` (a local folder). Each adapter offers `upload(path, key, content_type, metadata) -> dict` with
the stored key, size and a URL (public, or presigned with an expiry)."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlparse

from reelforge.errors import InputError
from reelforge.settings import Settings

SCHEMES = ("s3", "gs", "file", "cloudinary")


class Storage(Protocol):
    name: str

    def upload(self, path: Any, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]: ...


def parse_target(target: str) -> tuple[str, str, str]:
    """(scheme, bucket or folder, key) of an upload target; InputError naming --upload otherwise."""
    url = urlparse(target)
    if url.scheme not in SCHEMES:
        raise InputError(f"upload target {target!r} is not supported", field="--upload",
                         hint="use s3://bucket/key.mp4, gs://bucket/key.mp4, cloudinary://folder/name or "
                              "file:///folder/key.mp4")
    if url.scheme == "file":
        folder, _, key = url.path.rpartition("/")
        return "file", folder or "/", key or "clip.mp4"
    if url.scheme == "cloudinary":  # cloudinary://folder/sub/name → folder "folder/sub", public id "name"
        full = (url.netloc + url.path).strip("/")
        folder, _, name = full.rpartition("/")
        if not name:
            raise InputError(f"upload target {target!r} needs a name", field="--upload",
                             hint="e.g. cloudinary://clips/fox")
        return "cloudinary", folder, name.removesuffix(".mp4")
    key = url.path.lstrip("/")
    if not url.netloc or not key:
        raise InputError(f"upload target {target!r} needs a bucket and a key", field="--upload",
                         hint="e.g. s3://my-bucket/clips/fox.mp4")
    return url.scheme, url.netloc, key


def open_target(target: str, settings: Settings) -> tuple[Storage, str]:
    """The adapter for `target` and the key inside it."""
    scheme, where, key = parse_target(target)
    if scheme == "file":
        from reelforge.providers.storage.local import LocalFolder

        return LocalFolder(where), key
    if scheme == "cloudinary":
        from reelforge.providers.storage.cloudinary import CloudinaryStorage

        return CloudinaryStorage(where, settings), key
    if scheme == "gs":
        from reelforge.providers.storage.gcs import GCSStorage

        return GCSStorage(where, settings), key
    from reelforge.providers.storage.s3 import S3Storage

    return S3Storage(where, settings), key
