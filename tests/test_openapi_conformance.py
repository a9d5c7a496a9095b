"""schemathesis against the running desk server's own OpenAPI document: no 5xx, and no
response that the document does not describe (status, content type, headers, body)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Desk

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def api_schema(desk: Desk):
    schema = schemathesis.openapi.from_url(f"{desk.api}/openapi.json")

    @schema.auth()
    class Bearer:
        def get(self, case, context):  # noqa: ANN001, ANN201
            return desk.admin_token

        def set(self, case, data, context):  # noqa: ANN001, ANN201
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_document(case, desk: Desk) -> None:
    case.call_and_validate(base_url=desk.url, checks=CHECKS)
