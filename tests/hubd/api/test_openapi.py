"""The OpenAPI document: valid 3.1, matching the live routes, and schemathesis-generated input
against the running daemon never gets a 500 or an undocumented answer."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from hubd.api.server import openapi_document
from tests.hubd.api.conftest import HubThread


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    hub = HubThread(tmp_path_factory.mktemp("openapi"))
    yield hub
    hub.close()


def _get(url: str) -> Any:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(url, context=context) as reply:
        return json.loads(reply.read())


def test_the_served_document_is_valid_openapi_3_1(live: HubThread) -> None:
    doc = _get(f"{live.url}/api/v1/openapi.json")
    assert doc == json.loads(json.dumps(openapi_document()))
    assert doc["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(doc)  # validates the document's own structure
    assert len(list(schema.get_all_operations())) == sum(len(p) for p in doc["paths"].values())


def test_the_document_matches_the_live_routes(live: HubThread) -> None:
    doc = openapi_document()
    from hubd.api.server import ROUTES

    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {(r.method, "/api/v1" + r.path) for r in ROUTES}
    assert served | {("GET", "/api/v1/openapi.json")} == documented


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_no_generated_input_gets_a_server_error(live: HubThread) -> None:
    # Each operation in turn (schemathesis' pytest plugin does not follow pytest 9 yet).
    schema = schemathesis.openapi.from_dict(_get(f"{live.url}/api/v1/openapi.json"))
    session = requests.Session()
    session.verify = False  # the hub's certificate is self-signed; the pin is tested elsewhere
    session.headers["Authorization"] = f"Bearer {live.token}"
    tried = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the document itself is wrong: no operation to try
        operation = result.ok()
        # Valid input and invalid input (wrong types, missing fields, strange paths) alike.
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(base_url=live.url, session=session, timeout=10, verify=False,
                                   checks=CHECKS)

        check()
        tried += 1
    assert tried == len(schema)
