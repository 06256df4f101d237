"""The independent SCIM conformance checker, scim2-tester (what `scim --url URL test` runs),
against the service served over HTTP, on SQLite and on PostgreSQL.

The checker fills every writable attribute with random values of its declared type. A SCIM
schema cannot say that a string is at most 32 characters or digits only, nor that an integer
must name an existing peripheral or team, so it is told the values this directory accepts
as pydantic ``examples`` on the models it discovered from /Schemas (which it picks from, as
it does from ``canonicalValues``). Nothing else is given to it: every check must pass.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Extension
from scim2_tester import Status, check_server
from werkzeug.serving import make_server

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from app.scim.groups import TEAM
from app.scim.users import AGENT, ENTERPRISE
from tests import factories
from tests.conftest import PASSWORD, overrides_for

pytestmark = pytest.mark.e2e

PERIPHERAL = 5000
TEAMS = (12, 13)

# Values the directory accepts where the schema's types allow more (see the module docstring).
EXAMPLES: dict[str, list[Any]] = {
    "name.givenName": ["Ada", "Grace", "Edsger"],
    "name.familyName": ["Lovelace", "Hopper", "Dijkstra"],
    f"{ENTERPRISE}:employeeNumber": ["424242", "515151"],
    f"{AGENT}:peripheralId": [PERIPHERAL],
    f"{AGENT}:agentTeamId": list(TEAMS),
    f"{TEAM}:peripheralId": [PERIPHERAL],
}


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
