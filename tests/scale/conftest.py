"""Fixtures of the scale-out tests: the real Redis, PostgreSQL and an S3 server (services.py)."""

from tests.scale.services import postgres_url, redis_prefix, s3_endpoint  # noqa: F401
