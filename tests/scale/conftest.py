"""Fixtures of the scale-out tests: the real Redis, PostgreSQL and an S3 server (services.py)."""

from tests.scale.services import (  # noqa: F401
    module_postgres_url,
    module_redis_prefix,
    postgres_url,
    redis_prefix,
    s3_endpoint,
)
