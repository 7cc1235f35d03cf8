"""`s3://`: S3 and S3-compatible stores through boto3 — AWS, DigitalOcean Spaces (the notes'
DIGITALOCEAN_SPACES_* variables), MinIO, R2 (an endpoint URL). Multipart above 16 MiB (boto3's
transfer manager), retries in boto3's standard mode, user metadata, and a presigned GET URL (or
the public URL with `storage_public`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.settings import Settings, secret

MULTIPART_BYTES = 16 * 1024 * 1024


def s3_endpoint(settings: Settings) -> str | None:
    return settings.s3_endpoint_url or (f"https://{settings.spaces_region}.digitaloceanspaces.com"
                                        if settings.spaces_region else None)


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from the settings (endpoint, region, keys; else boto3's own chain),
    with standard-mode retries. Shared by uploads and the S3 artifact store."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ProviderUnavailable("S3 storage needs boto3", hint="pip install 'reelforge[storage]'") from None
    return boto3.client(
        "s3", endpoint_url=s3_endpoint(settings),
        region_name=settings.s3_region or settings.spaces_region or "us-east-1",
        aws_access_key_id=secret(settings.s3_access_key_id),
        aws_secret_access_key=secret(settings.s3_secret_access_key),
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4",
                      max_pool_connections=32))


class S3Storage:
    name = "s3"

    def __init__(self, bucket: str, settings: Settings) -> None:
        self.bucket, self.settings = bucket, settings
        self.endpoint = s3_endpoint(settings)
        self.client = s3_client(settings)

    def upload(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, Any] = {"ContentType": content_type, "Metadata": _ascii(metadata)}
        if self.settings.storage_public:
            extra["ACL"] = "public-read"
        config = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES)
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=config)
            url = self._public_url(key) if self.settings.storage_public else self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.settings.storage_url_expiry_s)
        except (BotoCoreError, ClientError) as exc:
            raise ProviderError("s3", f"upload to s3://{self.bucket}/{key} failed: {exc}", reason="server",
                                hint="check the bucket, the credentials (AWS_* or DIGITALOCEAN_SPACES_*) and "
                                     "REELFORGE_S3_ENDPOINT_URL") from None
        return {"storage": "s3", "bucket": self.bucket, "key": key, "url": url, "size": path.stat().st_size,
                "expires_s": None if self.settings.storage_public else self.settings.storage_url_expiry_s}

    def _public_url(self, key: str) -> str:
        base = self.endpoint or f"https://s3.{self.client.meta.region_name}.amazonaws.com"
        return f"{base.rstrip('/')}/{self.bucket}/{key}"


def _ascii(metadata: dict[str, str]) -> dict[str, str]:
    """S3 user metadata travels in headers: ASCII only (other characters are escaped)."""
    return {k: v.encode("ascii", "backslashreplace").decode() for k, v in metadata.items()}
