"""`gs://bucket/key`: Google Cloud Storage through google-cloud-storage. Content type and user
metadata on the object, resumable uploads in 8 MiB chunks for large files (the library switches
from multipart above 8 MiB), the library's default retry,
and a V4 signed GET URL when the credentials can sign (a service account), else the public URL.
Credentials: GOOGLE_APPLICATION_CREDENTIALS or application-default credentials."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.settings import Settings

RESUMABLE_BYTES = 16 * 1024 * 1024
CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as the API requires


class GCSStorage:
    name = "gs"

    def __init__(self, bucket: str, settings: Settings, *, credentials: Any = None,
                 resumable_bytes: int = RESUMABLE_BYTES, chunk_bytes: int = CHUNK_BYTES) -> None:
        try:
            from google.cloud import storage
        except ImportError:
            raise ProviderUnavailable("gs uploads need google-cloud-storage",
                                      hint="pip install google-cloud-storage") from None
        if credentials is None and settings.google_application_credentials:
            from google.oauth2 import service_account

            credentials = service_account.Credentials.from_service_account_file(
                str(settings.google_application_credentials),
                scopes=["https://www.googleapis.com/auth/devstorage.read_write"])
        self.endpoint = settings.gcs_endpoint_url
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        self.client = storage.Client(project=settings.google_cloud_project or "reelforge", credentials=credentials,
                                     client_options=options)
        self.bucket = self.client.bucket(bucket)
        self.settings, self.resumable_bytes, self.chunk_bytes = settings, resumable_bytes, chunk_bytes

    def upload(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]:
        from google.api_core.exceptions import GoogleAPICallError

        size = path.stat().st_size
        blob = self.bucket.blob(key, chunk_size=self.chunk_bytes if size > self.resumable_bytes else None)
        blob.metadata = metadata
        try:
            blob.upload_from_filename(str(path), content_type=content_type)
        except (GoogleAPICallError, OSError) as exc:
            raise ProviderError("gs", f"upload to gs://{self.bucket.name}/{key} failed: {exc}", reason="server",
                                hint="check the bucket and GOOGLE_APPLICATION_CREDENTIALS") from None
        return {"storage": "gs", "bucket": self.bucket.name, "key": key, "url": self._url(blob), "size": size,
                "expires_s": None if self.settings.storage_public else self.settings.storage_url_expiry_s}

    def _url(self, blob: Any) -> str:
        if self.settings.storage_public or not hasattr(self.client._credentials, "sign_bytes"):
            return str(blob.public_url)
        expiry = dt.timedelta(seconds=self.settings.storage_url_expiry_s)
        access = self.endpoint or "https://storage.googleapis.com"
        return str(blob.generate_signed_url(version="v4", expiration=expiry, method="GET",
                                            api_access_endpoint=access))
