"""The API's OpenAPI document, and schemathesis fuzzing the app against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from app.api.openapi import build
from app.db import db
from tests import factories
from tests.conftest import basic

BASE = "/unifiedconfig/config"
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
HEADERS = {**basic(), "Accept": "application/json"}


def test_openapi_json_is_served_without_credentials(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document == build()
    assert set(document["components"]["securitySchemes"]) == {"basic", "bearer"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = set(document["paths"])
    assert f"{BASE}/bulkjob" in paths and f"{BASE}/agent/{{id}}" in paths
    assert all(path.startswith(BASE + "/") for path in paths)
    create = document["components"]["schemas"]["BulkJobCreate"]
    assert create["required"] == ["fileContent"]
    assert create["properties"]["description"]["maxLength"] == 255


def test_the_create_documents_its_idempotency_key() -> None:
    post = build()["paths"][f"{BASE}/bulkjob"]["post"]
    headers = [param for param in post["parameters"] if param["in"] == "header"]
    assert [(param["name"], param["schema"]["maxLength"]) for param in headers] == [
        ("Idempotency-Key", 255)
    ]
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    assert post["responses"]["422"]["description"].startswith("idempotencyKeyReused")


def test_the_document_matches_the_routes(app: Flask) -> None:
    """Every API route is documented, and every documented operation is routed."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(BASE + "/"):
            path = re.sub(r"<id:\w+>", "{id}", rule.rule.rstrip("/"))
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    routed.add((path, method.lower()))
    documented = {(path, method) for path, ops in build()["paths"].items() for method in ops}
    assert routed == documented


def _seed() -> None:
    with db.write() as conn:
        factories.peripheral(conn)
        factories.team(conn, 1)
        asmith, _bjones = factories.agents(conn, ["asmith", "bjones"], team_id=1)
        # Ids 1 and 2 of every directory kind, with members (the schema made desk settings and
        # media routing domain 1).
        for name in ("Sales", "Support"):
            group = factories.skill_group(conn, name)
            factories.member(conn, asmith, group)
            factories.attribute_value(conn, asmith, factories.attribute(conn, name), "7")
            factories.department(conn, name)
            call_type = factories.call_type(conn, name, department_id=1)
            factories.dialed_number(conn, f"800555{call_type:04}", call_type_id=call_type)
        factories.desk_setting(conn, "Night", logout_non_activity_time=300)
        factories.media_routing_domain(conn, "Chat", type="multichannel")
        factories.supervises(conn, factories.agent(conn, "cboss", supervisor=True), 1)


def test_schemathesis_finds_no_server_error_and_no_broken_response(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated requests (valid Basic credentials) against every operation: no 5xx, and
    every answer (status, content type, headers, body) is what the document says."""
    # schemathesis keeps its cache and crash reports under ./.schemathesis: out of the tree.
    monkeypatch.chdir(tmp_path)
    _seed()
    for _ in range(2):  # a few jobs, so ids 1 and 2 exist for the job operations
        body = {"fileContent": factories.csv_text([["asmith", "A", "S", "asmith@sso"]])}
        assert client.post(f"{BASE}/bulkjob", json=body, headers=HEADERS).status_code == 201
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    # 20 of jobs, templates and agents, and a list and a get-one of each of the eight other
    # directory kinds.
    assert len(operations) == 36

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            statuses.append(case.call_and_validate(headers=HEADERS, checks=CHECKS).status_code)

        try:
            run()
        except Exception as exc:  # every operation is fuzzed; all failures are reported
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures[:5])
    # It really ran: many requests, and both successes and refusals among the answers.
    assert len(statuses) > 100
    assert {200, 400, 404} <= set(statuses)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_id_too_large_for_its_column_is_a_404(client: FlaskClient, method: str) -> None:
    """Found by schemathesis: the database overflowed (500) on a 20-digit id."""
    for path in ("bulkjob/93037941403912339456", "agent/2147483648", "skillgroup/2147483648"):
        response = client.open(f"{BASE}/{path}", method=method, headers=HEADERS, json={})
        if not path.startswith("bulkjob") and method != "GET":
            assert response.status_code == 405
            continue
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.get_json()["apiErrors"][0]["errorType"] == "notFound"
