"""A finished job's results (docs/concepts.md, "Results"): every line of its file with what it
did, the refURL of the object it made or changed, and its error; ``not processed`` for lines a
cancel left; refused while the job runs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app.db import db
from app.directory.agent_job import COLUMNS
from app.jobs import downloads, engine
from tests import factories
from tests.conftest import basic
from tests.directory.jobs import submitted
from tests.directory.test_agent_job import agent_file, row

BASE = "/unifiedconfig/config/bulkjob"


def results_of(client: FlaskClient, job_id: int) -> list[dict[str, str]]:
    response = client.get(f"{BASE}/{job_id}/results", headers=basic())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="bulkjob-{job_id}-results.csv"'
    )
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def run(app: Flask, job_id: int) -> None:
    engine.run_job(db, app.config["SETTINGS"].replace(chunk_size=2), job_id)


def test_an_sso_jobs_results(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        first = factories.agent(conn, "asmith")
        job_id = factories.stored_job(
            conn,
            factories.csv_text([["asmith", "A", "S", "asmith@sso"], ["nobody", "", "", "x@sso"]]),
            "wave",
        )
    run(app, job_id)

    rows = results_of(client, job_id)

    assert [(r["userName"], r["lineNumber"], r["outcome"], r["refURL"]) for r in rows] == [
        ("asmith", "2", "updated", f"/unifiedconfig/config/agent/{first}"),
        ("nobody", "3", "failed", ""),
    ]
    assert rows[1]["error"] == "userName: The specified agent userName does not exist: nobody"
    assert list(rows[0])[-4:] == ["lineNumber", "outcome", "refURL", "error"]


def test_an_agent_jobs_results_name_what_each_line_did(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 5000)
    made = submitted(
        app,
        agent_file(
            row(
                operation="CREATE", userName="u1", firstName="U", lastName="One", password="Pw-1234"
            ),
            row(
                operation="CREATE", userName="u2", firstName="U", lastName="Two", skillGroups="U_SG"
            ),
        ),
    )
    run(app, made)
    changed = submitted(
        app,
        agent_file(
            row(operation="UPDATE", userName="u1", firstName="~", lastName="Uno"),
            row(**{**dict.fromkeys(COLUMNS, "~"), "operation": "UPDATE", "userName": "u2"}),
            row(operation="DELETE", userName="u2"),
            row(operation="DELETE", userName="u3"),
        ),
    )
    run(app, changed)

    created = results_of(client, made)
    assert [(r["userName"], r["outcome"], r["password"]) for r in created] == [
        ("u1", "created", "~"),  # never the password, nor its sealed form
        ("u2", "created", ""),
    ]
    u1, u2 = (r["refURL"] for r in created)
    assert u1.startswith("/unifiedconfig/config/agent/") and u1 != u2
    assert [(r["lineNumber"], r["outcome"], r["refURL"]) for r in results_of(client, changed)] == [
        ("2", "updated", u1),
        ("3", "unchanged", u2),
        ("4", "deleted", u2),
        ("5", "failed", ""),
    ]


def test_lines_a_cancel_left_are_not_processed(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        job_id = factories.stored_job(
            conn, factories.csv_text([["asmith", "", "", ""], ["bjones", "", "", ""]]), "wave"
        )
    cancel = {"changeStamp": 0, "jobState": 5}
    assert client.put(f"{BASE}/{job_id}", json=cancel, headers=basic()).status_code == 200

    assert [(r["lineNumber"], r["outcome"]) for r in results_of(client, job_id)] == [
        ("2", "not processed"),
        ("3", "not processed"),
    ]


def test_a_running_jobs_results_are_refused(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        job_id = factories.stored_job(conn, factories.csv_text([["a", "", "", ""]]), "wave")

    response = client.get(f"{BASE}/{job_id}/results", headers=basic())

    assert response.status_code == 409
    assert "its results are ready when it ends" in response.get_data(as_text=True)
    assert client.get(f"{BASE}/999/results", headers=basic()).status_code == 404


def test_outcomes_are_read_from_what_a_line_logged_last(tmp_path: Path) -> None:
    assert downloads.outcome_of("Created /x/agentteam/4\nCreated /x/agent/7") == (
        "created",
        "/x/agent/7",
    )
    assert downloads.outcome_of("Would create /x/agent (asmith)") == ("would create", "")
    assert downloads.outcome_of("Reverted /x/agent/7 (deleted)") == ("reverted", "/x/agent/7")
