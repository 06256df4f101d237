"""The independent SCIM conformance checker, scim2-tester (what `scim --url URL test` runs),
against the service served over HTTP, on SQLite and on PostgreSQL, twice.

The checker fills every writable attribute with random values of its declared type. A SCIM
schema cannot say that a string is at most 32 characters or digits only, nor that an integer
must name an existing peripheral or team. The first run tells it the values this directory
accepts, as pydantic ``examples`` on the models it discovered from /Schemas (which it picks
from, as it does from ``canonicalValues``); nothing else is given to it: every check must pass.

The second run is bare, exactly as the command runs it (scim2-cli's own session: discovery,
then every check): every check passes except those the directory rightly refuses, each for a
reason in FORGIVEN, and the test fails on any other.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import httpx2
import pytest
from pydantic import BaseModel
from scim2_cli.session import Session
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Extension
from scim2_tester import CheckResult, Status, check_server
from werkzeug.serving import make_server

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from app.scim.groups import TEAM
from app.scim.users import AGENT
from tests import factories
from tests.conftest import PASSWORD, overrides_for

pytestmark = pytest.mark.e2e

PERIPHERAL = 5000
TEAMS = (12, 13)


class FreshNumbers(Sequence[str]):
    """Examples for agentIds, which are unique on a peripheral: whichever the checker picks is a
    number no pick had before."""

    def __init__(self) -> None:
        self._numbers = itertools.count(424242)

    def __len__(self) -> int:
        return 1_000_000

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            raise TypeError("pick one")
        return str(next(self._numbers))


# Values the directory accepts where the schema's types allow more (see the module docstring).
EXAMPLES: dict[str, Any] = {
    "name.givenName": ["Ada", "Grace", "Edsger"],
    "name.familyName": ["Lovelace", "Hopper", "Dijkstra"],
    f"{AGENT}:agentId": FreshNumbers(),
    f"{AGENT}:peripheralId": [PERIPHERAL],
    f"{AGENT}:agentTeamId": list(TEAMS),
    f"{TEAM}:peripheralId": [PERIPHERAL],
}

# Why the bare run may fail a check: what the directory rightly refuses of the checker's random
# values (a 36-character UUID as a first or last name, where Cisco allows 32; a random integer
# as a peripheral or team, which must exist). Each reason is the refusal's detail.
FORGIVEN = (
    re.compile(r"name\.(givenName|familyName) is longer than 32 characters \(\d+ given\)"),
    re.compile(r"peripheralId: peripheral \d+ does not exist"),
    re.compile(r"agentTeamId: agent team \d+ does not exist"),
)


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The app on a small directory, served over HTTP; yields its SCIM URL and a token."""
    overrides = overrides_for(tmp_path)
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("pg_url")
    app = create_app(overrides=overrides)
    schema.upgrade(app.config["SETTINGS"].database_url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        token = users.create_token(conn, "admin")
        for team in TEAMS:
            factories.team(conn, team, PERIPHERAL)
        factories.agent(conn, "existing@example.com", team_id=TEAMS[0])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/scim/v2", token
    finally:
        server.shutdown()
        server.server_close()
        db.dispose()


def _annotate(model: type[BaseModel], prefix: str) -> None:
    """Give the fields named in EXAMPLES their examples, down into complex attributes."""
    for name, field in model.model_fields.items():
        alias = field.serialization_alias or name
        if prefix + alias in EXAMPLES:
            field.examples = EXAMPLES[prefix + alias]
        for kind in getattr(field.annotation, "__args__", (field.annotation,)):
            if getattr(kind, "__origin__", None) is list:
                kind = kind.__args__[0]
            if isinstance(kind, type) and issubclass(kind, BaseModel) and alias != "meta":
                _annotate(kind, f"{prefix}{alias}.")


def test_scim2_tester_passes_every_check(service: tuple[str, str]) -> None:
    url, token = service
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        client = SyncSCIMClient(http)
        client.discover()
        for model in client.provider.models:
            is_extension = issubclass(model, Extension)
            _annotate(model, f"{model.__schema__}:" if is_extension else "")
        results = check_server(client)
    failed = [
        f"{r.status.name} {r.title} ({r.resource_type}): {r.reason}"
        for r in results
        if r.status != Status.SUCCESS
    ]
    assert not failed, "\n".join(failed)
    titles = {r.title for r in results}
    # The run got as far as every kind of check, for both resource types.
    assert {"object_creation", "search_with_attributes", "check_remove_attribute"} <= titles
    assert {r.resource_type for r in results} >= {"User", "Group"}
    assert len(results) > 70


def _forgiven(result: CheckResult) -> bool:
    return any(reason.search(result.reason or "") for reason in FORGIVEN)


def test_the_bare_checker_fails_only_what_the_directory_rightly_refuses(
    service: tuple[str, str],
) -> None:
    """``scim --url URL -h "Authorization: Bearer T" test``: scim2-cli's session (its client,
    discovery and settings), then the checks that command runs."""
    url, token = service
    session = Session(url, {"Authorization": f"Bearer {token}"}, True, None, None, None)
    client = session.client
    assert client.check_response_status_codes and client.check_response_content_type
    results = check_server(client)
    unforgiven = [
        f"{r.status.name} {r.title} ({r.resource_type}): {r.reason}"
        for r in results
        if r.status != Status.SUCCESS and not _forgiven(r)
    ]
    assert not unforgiven, "\n".join(unforgiven)
    passed = {r.title for r in results if r.status == Status.SUCCESS}
    # Discovery passes whole; every resource check gets as far as the directory's refusals.
    assert passed >= {
        "service_provider_config_endpoint",
        "query_all_resource_types",
        "query_resource_type_by_id",
        "resource_types_schema_validation",
        "query_all_schemas",
        "access_schema_by_id",
        "access_invalid_schema",
        "random_url",
    }
    refused = {r.reason for r in results if r.status != Status.SUCCESS}
    assert any("peripheralId: peripheral" in (reason or "") for reason in refused)
    assert {r.resource_type for r in results if r.status != Status.SUCCESS} == {"User", "Group"}
