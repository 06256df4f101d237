"""End to end: the HTTP API, a real Celery worker process, and the database.

Run on the embedded default (SQLite + the SQLite-backed broker) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.db import db
from app.db import migrate as schema
from app.db.models import Agent, JobLine, table
from tests import factories
from tests.conftest import PASSWORD, basic, overrides_for
from tests.live import Worker, wait_for_final

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    overrides = overrides_for(tmp_path)
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("pg_url")
        overrides["broker_url"] = request.getfixturevalue("redis_url")
    overrides["chunk_size"] = 50
    app = create_app(overrides=overrides)
    app.config["TESTING"] = True
    schema.upgrade(app.config["SETTINGS"].database_url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield app
    db.dispose()


@pytest.fixture
def workers(stack: Flask, tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start_workers(stack: Flask, tmp_path: Path, workers: list[Worker], count: int) -> None:
    for i in range(count):
        worker = Worker(stack.config["SETTINGS"], f"worker-{i + 1}", tmp_path)
        workers.append(worker)
    for worker in workers:
        worker.wait_ready()


def post_csv(client: FlaskClient, text: str, description: str) -> str:
    response = client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": text, "description": description},
        headers=basic(),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"].replace("http://localhost", "")


def test_template_upload_watch_and_download(
    stack: Flask, tmp_path: Path, workers: list[Worker]
) -> None:
    """A newcomer's path: template, fill in new names, upload, watch it finish, read the log."""
    with db.write() as conn:
        factories.agents(conn, [f"agent{i:03}" for i in range(120)])
        factories.agent(conn, "already", sso=True)
    start_workers(stack, tmp_path, workers, 1)
    client = stack.test_client()
    template = client.get("/unifiedconfig/config/bulkjob/templates/ssomigration", headers=basic())
    rows = list(csv.reader(io.StringIO(template.get_data(as_text=True))))
    assert rows[0] == ["userName", "firstName", "lastName", "newUserName"]
    assert len(rows) == 121
    filled = [rows[0]] + [[r[0], r[1], r[2], f"{r[0]}@sso.example.com"] for r in rows[1:]]
    filled.append(["ghost", "", "", ""])
    text = "\r\n".join(",".join(r) for r in filled) + "\r\n"

    location = post_csv(client, text, "migration wave 1")
    job = wait_for_final(client, basic(), location)

    assert job["jobState"] == 6
    assert (job["totalRecords"], job["processedRecords"]) == (121, 121)
    assert (job["succeededRecords"], job["failedRecords"]) == (120, 1)
    assert job["startDateTime"] >= job["createDateTime"]
    log = client.get(f"{location}/log", headers=basic()).get_data(as_text=True)
    assert "Job started on worker-1" in log
    assert log.count(" - Updated /unifiedconfig/config/agent/") == 120
    assert (
        "Error processing line 122: userName: The specified agent userName does not exist: ghost"
        in log
    )
    assert log.rstrip().endswith("121 lines processed, 120 succeeded, 1 failed")
    original = client.get(f"{location}/csv", headers=basic())
    assert original.data == text.encode()
    failed = client.get(f"{location}/failed", headers=basic()).get_data(as_text=True)
    assert failed.splitlines()[1].startswith("ghost,,,,122,userName: The specified agent")
    again = client.get("/unifiedconfig/config/bulkjob/templates/ssomigration", headers=basic())
    assert again.get_data(as_text=True).splitlines() == ["userName,firstName,lastName,newUserName"]


def overlapping_jobs(client: FlaskClient, names: list[str]) -> list[str]:
    """Two jobs naming the same agents, each trying to give them the same new names."""
    first = factories.csv_text([[n, "", "", f"{n}@sso"] for n in names])
    second = factories.csv_text([[n, "", "", f"{n}@sso"] for n in reversed(names)])
    return [post_csv(client, first, "first"), post_csv(client, second, "second")]


def test_two_overlapping_jobs_on_two_workers(
    stack: Flask, tmp_path: Path, workers: list[Worker]
) -> None:
    names = [f"shared{i:04}" for i in range(600)]
    with db.write() as conn:
        factories.agents(conn, names)
    client = stack.test_client()
    locations = overlapping_jobs(client, names)
    start_workers(stack, tmp_path, workers, 2)
    finished = [wait_for_final(client, basic(), loc, timeout=120) for loc in locations]

    assert sum(job["succeededRecords"] for job in finished) == len(names)
    assert sum(job["failedRecords"] for job in finished) == len(names)
    with db.read() as conn:
        agents = table(Agent)
        stamps = conn.execute(select(agents.c.change_stamp, agents.c.user_name)).all()
        outcomes = conn.execute(select(func.count()).select_from(table(JobLine))).scalar_one()
    assert {stamp for stamp, _ in stamps} == {1}, "an agent was changed twice"
    assert sorted(name for _, name in stamps) == sorted(f"{n}@sso" for n in names)
    assert outcomes == 2 * len(names)
    for location in locations:
        log = client.get(f"{location}/log", headers=basic()).get_data(as_text=True)
        processing = [line for line in log.splitlines() if " - Processing line " in line]
        assert len(processing) == len(names) + 1  # and the header


def test_job_created_before_any_worker_runs_when_one_starts(
    stack: Flask, tmp_path: Path, workers: list[Worker]
) -> None:
    with db.write() as conn:
        factories.agent(conn, "waiting")
    client = stack.test_client()
    location = post_csv(client, factories.csv_text([["waiting", "", "", "w@sso"]]), "early")
    job: dict[str, Any] = client.get(
        location, headers={**basic(), "Accept": "application/json"}
    ).get_json()
    assert job["jobState"] == 1
    start_workers(stack, tmp_path, workers, 1)
    assert wait_for_final(client, basic(), location)["jobState"] == 3
