"""The plan of a finished dry run (docs/concepts.md, "Plan"): every line's action, object,
changed fields before and after, error; the objects it would create; JSON or CSV; never a
password; refused for a real run and while the dry run runs."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.db import db
from app.directory import dialed_number_job
from app.directory.agent_job import COLUMNS
from tests import factories
from tests.conftest import basic
from tests.directory.jobs import csv_line, submitted
from tests.directory.test_agent_job import agent_file, row
from tests.jobs.test_results import run

BASE = "/unifiedconfig/config/bulkjob"
JSON = {**basic(), "Accept": "application/json"}


def plan_of(client: FlaskClient, job_id: int, query: str = "") -> dict[str, Any]:
    response = client.get(f"{BASE}/{job_id}/plan{query}", headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


def test_an_agent_files_plan(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        existing = factories.agent(conn, "p.old", first_name="Old", last_name="Name")
    dry = submitted(
        app,
        agent_file(
            row(
                operation="CREATE",
                userName="p.new",
                firstName="New",
                lastName="Agent",
                password="Secret-Pw-1",
                agentTeamName="P_Team",
                skillGroups="P_SG",
            ),
            row(operation="UPDATE", userName="p.old", firstName="~", lastName="Renamed"),
            # every cell ~ but the operation and the name: nothing to change
            row(**{**dict.fromkeys(COLUMNS, "~"), "operation": "UPDATE", "userName": "p.old"}),
            row(operation="DELETE", userName="p.nobody"),
            row(operation="DELETE", userName="p.old"),
        ),
        dry_run=True,
    )
    run(app, dry)

    planned = plan_of(client, dry)
    assert planned["counts"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 1, "fail": 1}
    assert planned["creates"] == [
        {"kind": "/unifiedconfig/config/agentteam", "name": "P_Team", "lineNumber": 2},
        {"kind": "/unifiedconfig/config/skillgroup", "name": "P_SG", "lineNumber": 2},
    ]
    create, update, unchanged, fail, delete = planned["lines"]
    assert (create["action"], create["object"]) == ("create", "p.new")
    fields = {c["field"]: (c["before"], c["after"]) for c in create["changes"]}
    assert fields["agentTeamName"] == ("", "P_Team") and fields["skillGroups"] == ("", "P_SG")
    assert fields["password"] == ("", "(set)")
    assert update == {
        "lineNumber": 3,
        "action": "update",
        "object": f"/unifiedconfig/config/agent/{existing}",
        "changes": [
            {"field": "lastName", "before": "Name", "after": "Renamed"},
            # the factory's agent has none; an empty cell sets the default
            {
                "field": "agentDeskSettingsName",
                "before": "",
                "after": "Default_Agent_Desk_Settings",
            },
        ],
    }
    assert unchanged["action"] == "unchanged" and "changes" not in unchanged
    assert fail["action"] == "fail" and fail["error"].startswith("userName: ")
    assert delete["action"] == "delete"
    assert [line["lineNumber"] for line in plan_of(client, dry, "?action=fail")["lines"]] == [5]

    text = client.get(f"{BASE}/{dry}/plan", headers=basic())
    assert text.headers["Content-Disposition"] == f'attachment; filename="bulkjob-{dry}-plan.csv"'
    body = text.get_data(as_text=True)
    assert "Secret-Pw-1" not in body and "sealed" not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == ["lineNumber", "action", "object", "field", "before", "after", "error"]
    assert [r["field"] for r in rows if r["lineNumber"] == "2"][-1] == "password"
    assert [(r["lineNumber"], r["action"], r["field"]) for r in rows if r["lineNumber"] != "2"] == [
        ("3", "update", "lastName"),
        ("3", "update", "agentDeskSettingsName"),
        ("4", "unchanged", ""),
        ("5", "fail", ""),
        ("6", "delete", ""),
    ]


def test_an_sso_dry_runs_plan_and_what_is_refused(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        agent = factories.agent(conn, "sso.one")
        dry = factories.stored_job(
            conn, factories.csv_text([["sso.one", "", "", "sso.one@idp"]]), "wave", dry_run=True
        )
        real = factories.stored_job(conn, factories.csv_text([["x", "", "", ""]]), "real")
    waiting = client.get(f"{BASE}/{dry}/plan", headers=JSON)
    assert waiting.status_code == 409 and "ready when it ends" in waiting.get_data(as_text=True)
    run(app, dry)
    (line,) = plan_of(client, dry)["lines"]
    assert line == {
        "lineNumber": 2,
        "action": "update",
        "object": f"/unifiedconfig/config/agent/{agent}",
        "changes": [
            {"field": "userName", "before": "sso.one", "after": "sso.one@idp"},
            {"field": "ssoEnabled", "before": "false", "after": "true"},
        ],
    }
    refused = client.get(f"{BASE}/{real}/plan", headers=JSON)
    assert refused.status_code == 400 and "not a dry run" in refused.get_data(as_text=True)
    assert client.get(f"{BASE}/{dry}/plan?action=maybe", headers=JSON).status_code == 400
    assert client.get(f"{BASE}/999/plan", headers=JSON).status_code == 404


def test_a_dialed_number_plan_names_the_call_type_it_would_create(
    app: Flask, client: FlaskClient
) -> None:
    columns = dialed_number_job.COLUMNS
    text = "\n".join(
        [
            ",".join(columns),
            csv_line(
                columns,
                {
                    "operation": "CREATE",
                    "dialedNumberString": "7100",
                    "routingType": "1",
                    "callTypeName": "CT_Plan",
                },
            ),
        ]
    )
    dry = submitted(app, text + "\n", dry_run=True)
    run(app, dry)
    planned = plan_of(client, dry)
    assert planned["creates"] == [
        {"kind": "/unifiedconfig/config/calltype", "name": "CT_Plan", "lineNumber": 2}
    ]
    (line,) = planned["lines"]
    assert line["object"] == "7100 External Voice"
    assert {c["field"]: c["after"] for c in line["changes"]} == {
        "dialedNumberString": "7100",
        "routingType": "1",
        "callTypeName": "CT_Plan",
        "mediaRoutingDomainName": "Cisco_Voice",
    }
