"""The real servers the scale-out tests use, on 127.0.0.1: Redis (a key prefix per test, so
parallel test workers never collide), PostgreSQL (a database per test, dropped afterwards) and an
S3-compatible server (moto's server mode, started per module).

When a server is not reachable the test is skipped, saying why — unless
REELFORGE_REQUIRE_SERVICES=1 (CI), where an unreachable server fails the test instead."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

REDIS = os.environ.get("REELFORGE_TEST_REDIS", "redis://127.0.0.1:6379/0")
POSTGRES = os.environ.get("REELFORGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def unavailable(reason: str) -> None:
    if os.environ.get("REELFORGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} — REELFORGE_REQUIRE_SERVICES=1 says it must run here")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis; its keys are deleted afterwards."""
    yield from own_redis_prefix()


@pytest.fixture(scope="module")
def module_redis_prefix() -> Iterator[str]:
    yield from own_redis_prefix()


def own_redis_prefix() -> Iterator[str]:
    try:
        import redis
    except ImportError:
        unavailable("the redis client is missing: pip install 'reelforge[scale]'")
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"no Redis at {REDIS} ({exc}); start one or set REELFORGE_TEST_REDIS")
    prefix = f"rftest-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy URL), dropped after the test."""
    yield from own_database()


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    yield from own_database()


def own_database() -> Iterator[str]:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is missing: pip install 'reelforge[postgres]'")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL at {POSTGRES} ({exc}); start one or set REELFORGE_TEST_POSTGRES")
    name = f"reelforge_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1 (stopped after the module)."""
    with moto_server() as url:
        yield url


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        unavailable("moto[server] is missing: pip install 'moto[server]' (in the dev extra)")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    unavailable("moto's S3 server did not start")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


S3_ENV = {"REELFORGE_S3_REGION": "us-east-1", "REELFORGE_S3_ACCESS_KEY_ID": "testing",
          "REELFORGE_S3_SECRET_ACCESS_KEY": "testing"}


def make_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"rf-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    return bucket
