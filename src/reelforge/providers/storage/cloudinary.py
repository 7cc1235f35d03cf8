"""`cloudinary://folder/name`: Cloudinary's upload API over httpx (the research notes host
images there). Signed uploads as Cloudinary documents them: every parameter except file,
cloud_name, resource_type and api_key, sorted, `k=v` joined by `&`, the API secret appended,
SHA-1 hex. Files above 20 MiB go up in chunks (`Content-Range` + `X-Unique-Upload-Id`).
Metadata travels as `context` (`key=value|…`). Credentials: CLOUDINARY_URL."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.providers.errors import status_error
from reelforge.settings import Settings, secret

CHUNK_BYTES = 20 * 1024 * 1024
EXCLUDED = {"file", "cloud_name", "resource_type", "api_key"}


def sign(params: dict[str, str], api_secret: str) -> str:
    """Cloudinary's upload signature (SHA-1 of the sorted params and the secret)."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in EXCLUDED and v != "")
    return hashlib.sha1((text + api_secret).encode()).hexdigest()


def context_value(metadata: dict[str, str]) -> str:
    """`key=value|key=value` with `=` and `|` in values escaped, as the upload API expects."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("=", "\\=").replace("|", "\\|")

    return "|".join(f"{esc(k)}={esc(v)}" for k, v in metadata.items())


class CloudinaryStorage:
    name = "cloudinary"

    def __init__(self, folder: str, settings: Settings, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        url = secret(settings.cloudinary_url)
        parsed = urlparse(url or "")
        if not url or parsed.scheme != "cloudinary" or not parsed.username or not parsed.password:
            raise ProviderUnavailable("cloudinary uploads need CLOUDINARY_URL",
                                      hint="set CLOUDINARY_URL=cloudinary://API_KEY:API_SECRET@CLOUD_NAME")
        self.api_key, self.api_secret, self.cloud = parsed.username, parsed.password, parsed.hostname or ""
        self.folder, self.chunk_bytes = folder, chunk_bytes
        self.endpoint = f"{settings.cloudinary_base_url.rstrip('/')}/v1_1/{self.cloud}/video/upload"

    def upload(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]:
        params = {"public_id": key, "folder": self.folder, "timestamp": str(int(time.time())),
                  "context": context_value(metadata), "overwrite": "true"}
        params = {k: v for k, v in params.items() if v}
        form = {**params, "api_key": self.api_key, "signature": sign(params, self.api_secret)}
        size = path.stat().st_size
        with httpx.Client(timeout=300) as client, path.open("rb") as fh:
            if size <= self.chunk_bytes:
                answer = self._post(client, form, fh.read(), path.name, content_type, {})
            else:
                upload_id, start = uuid.uuid4().hex, 0
                while start < size:
                    chunk = fh.read(self.chunk_bytes)
                    end = start + len(chunk) - 1
                    headers = {"X-Unique-Upload-Id": upload_id, "Content-Range": f"bytes {start}-{end}/{size}"}
                    answer = self._post(client, form, chunk, path.name, content_type, headers)
                    start = end + 1
        return {"storage": "cloudinary", "key": answer.get("public_id"), "url": answer.get("secure_url"),
                "size": size, "expires_s": None}

    def _post(self, client: httpx.Client, form: dict[str, str], data: bytes, filename: str, content_type: str,
              headers: dict[str, str]) -> dict[str, Any]:
        for attempt in range(4):  # retries: 429 / 5xx / connection, with a short backoff
            try:
                response = client.post(self.endpoint, data=form, files={"file": (filename, data, content_type)},
                                       headers=headers)
            except httpx.TransportError as exc:
                if attempt == 3:
                    raise ProviderError(self.name, f"upload failed: {exc}", reason="connection") from None
                time.sleep(0.5 * 2**attempt)
                continue
            if response.status_code in (429, 500, 502, 503, 504) and attempt < 3:
                time.sleep(0.5 * 2**attempt)
                continue
            if response.status_code >= 400:
                raise status_error(self.name, response.status_code, response.text, key_env="CLOUDINARY_URL")
            result: dict[str, Any] = response.json()
            return result
        raise AssertionError("unreachable")
