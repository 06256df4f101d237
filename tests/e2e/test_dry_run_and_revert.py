"""End to end with a real worker process, on SQLite + the embedded broker and on PostgreSQL +
Redis: a wave dry-run, run for real, then reverted (docs/concepts.md, "Dry run" and "Revert")."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import db
from app.db.models import Agent, table
from tests import factories
from tests.conftest import basic
from tests.e2e.test_jobs import post_csv, stack, start_workers, workers
from tests.live import Worker, wait_for_final

__all__ = ["stack", "workers"]  # fixtures used here

JSON = {**basic(), "Accept": "application/json"}


def directory() -> list[tuple[object, ...]]:
    agents = table(Agent)
    with db.read() as conn:
        rows = conn.execute(
            select(
                agents.c.id,
                agents.c.user_name,
                agents.c.sso_enabled,
                agents.c.change_stamp,
                agents.c.modified_ms,
            ).order_by(agents.c.id)
        )
        return [tuple(row) for row in rows]


def lines_of(client: FlaskClient, location: str) -> list[str]:
    log = client.get(f"{location}/log", headers=basic()).get_data(as_text=True)
    return [line.split(" - ", 1)[1] for line in log.splitlines()]


def test_dry_run_then_for_real_then_revert(
    stack: Flask, tmp_path: Path, workers: list[Worker]
) -> None:
    names = [f"agent{i:03}" for i in range(120)]
    with db.write() as conn:
        factories.agents(conn, names)
    # Each row takes the name the row before it freed (chunks of 50: across chunks too).
    rows = [[names[0], "", "", "first@sso"]]
    rows += [[names[i], "", "", names[i - 1]] for i in range(1, len(names))]
    rows.append([names[5], "", "", "again"])
    text = factories.csv_text(rows)
    before = directory()
    start_workers(stack, tmp_path, workers, 1)
    client = stack.test_client()

    response = client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": text, "description": "wave 1", "dryRun": True},
        headers=basic(),
    )
    assert response.status_code == 201
    dry = response.headers["Location"].replace("http://localhost", "")
    dry_job = wait_for_final(client, basic(), dry)
    assert (dry_job["dryRun"], dry_job["jobState"]) == (True, 6)
    assert (dry_job["succeededRecords"], dry_job["failedRecords"]) == (120, 1)
    assert directory() == before
    dry_log = lines_of(client, dry)
    assert dry_log[1] == "Dry run: no changes will be made"
    assert not any(line.startswith("Updated ") for line in dry_log)

    real = post_csv(client, text, "wave 1")
    real_job = wait_for_final(client, basic(), real)
    assert (real_job["dryRun"], real_job["jobState"]) == (False, 6)
    real_log = lines_of(client, real)
    would = [line.replace("Would update ", "Updated ") for line in dry_log[3:-2]]
    assert would == real_log[2:-2]
    failed = client.get(f"{real}/failed", headers=basic()).data
    assert client.get(f"{dry}/failed", headers=basic()).data == failed

    response = client.post(f"{real}/revert", headers=basic())
    assert response.status_code == 201, response.get_data(as_text=True)
    undo = response.headers["Location"].replace("http://localhost", "")
    undo_job = wait_for_final(client, basic(), undo)
    assert (undo_job["jobState"], undo_job["succeededRecords"]) == (3, 120)
    assert undo_job["revertOf"] == {"refURL": real}
    assert client.get(real, headers=JSON).get_json()["revertedBy"] == {"refURL": undo}
    after = directory()
    assert [(a, n, s, c) for a, n, s, c, _m in after] == [
        (a, n, False, 2) for a, n, _s, _c, _m in before
    ]
    again = client.post(f"{real}/revert", headers=JSON)
    assert again.status_code == 409
