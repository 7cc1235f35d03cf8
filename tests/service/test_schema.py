"""schemathesis against /openapi.json (a bounded run): no 500s, every answer matches the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from reelforge.service.app import create_app  # noqa: E402
from tests.service.conftest import make_settings  # noqa: E402

_DIR = Path(__import__("tempfile").mkdtemp(prefix="reelforge-schema-"))
APP = create_app(make_settings(_DIR), workers=1)


@pytest.fixture(scope="module", autouse=True)
def _lifespan() -> Iterator[None]:
    with TestClient(APP):
        yield


schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.exclude(path_regex=r".*/events$").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: object) -> None:
    # Left out: positive_data_acceptance (schema-valid uploads of random bytes are rightly refused
    # by sniffing, 415) and the Allow-header checks (Starlette's 405 lists the methods of the one
    # route that matched the path, not of every route on it).
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance,
                                            schemathesis.checks.unsupported_method,
                                            schemathesis.checks.allow_header_conformance])  # type: ignore[attr-defined]
