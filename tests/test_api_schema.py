"""The JSON API against its OpenAPI description: generated requests, valid and
not, never crash the app, and every answer matches the documented shape."""

from pathlib import Path

import pytest
import schemathesis
from conftest import TESTS
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashboard.api.tokens import issue_token
from dashboard.extensions import db

SCHEMA_PATH = Path(__file__).parents[1] / "docs" / "openapi.yaml"

schema = schemathesis.openapi.from_path(SCHEMA_PATH)


def no_server_error_but_twilios(ctx, response, case):
    """A 5xx is a crash, except 502: Twilio refusing or not answering."""
    status = response.status_code
    if status >= 500 and status != 502:
        raise AssertionError(f"{case.method} {case.path} answered {status}")


CHECKS = [
    no_server_error_but_twilios,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def bearer(tenant):
    token, _ = issue_token(tenant, "schema", TESTS)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_answers_as_documented(case, app, client, bearer):
    response = case.call(session=client, app=app, headers=bearer)

    case.validate_response(response, checks=CHECKS, headers=bearer)
