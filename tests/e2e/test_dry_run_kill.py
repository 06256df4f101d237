"""A dry run whose worker is SIGKILLed in its middle resumes on another worker and still gives
every line the outcome a real run would (docs/concepts.md, "Dry run"), on SQLite and PostgreSQL + Redis."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import db
from app.db.models import Agent, JobLine, table
from tests import factories
from tests.conftest import basic
from tests.e2e.test_reliability import Stack, backend, build_stack, lease_holder, stacks
from tests.live import wait_for_final

__all__ = ["backend", "stacks"]  # fixtures used here

pytestmark = pytest.mark.e2e

ROWS = 6000


def test_sigkill_mid_dry_run_resumes_with_what_earlier_chunks_would_have_changed(
    tmp_path: Path, backend: tuple[str | None, str | None], stacks: list[Stack]
) -> None:
    stack = build_stack(tmp_path, *backend, chunk_size=50)
    stacks.append(stack)
    names = [f"agent{i:05}" for i in range(ROWS)]
    with db.write() as conn:
        factories.bulk_agents(conn, names)
    agents = table(Agent)
    with db.read() as conn:
        before = conn.execute(select(agents).order_by(agents.c.id)).all()
    # Every row takes the name the row before it frees: each succeeds only if the run still
    # knows, after the resume, what the lines before the kill would have changed.
    rows = [[names[0], "", "", "first@sso"]]
    rows += [[names[i], "", "", names[i - 1]] for i in range(1, ROWS)]
    workers = {"worker-1": stack.worker("worker-1"), "worker-2": stack.worker("worker-2")}
    response = stack.client.post(
        "/unifiedconfig/config/bulkjob",
        json={"fileContent": factories.csv_text(rows), "dryRun": True},
        headers=basic(),
    )
    assert response.status_code == 201
    location = response.headers["Location"].replace("http://localhost", "")
    stack.wait(location, lambda j: j["jobState"] == 2 and j["processedRecords"] > 0)
    holder = lease_holder(location)
    assert holder in workers, holder
    os.killpg(workers[holder].process.pid, signal.SIGKILL)
    workers[holder].process.wait(timeout=10)
    assert stack.job(location)["processedRecords"] < ROWS, "finished before the kill"

    final = wait_for_final(stack.client, basic(), location, timeout=120)
    assert (final["jobState"], final["succeededRecords"]) == (3, ROWS)
    log = stack.log(location)
    assert "Job resumed on" in log
    assert log.count(" - Would update /unifiedconfig/config/agent/") == ROWS
    job_id = int(location.rsplit("/", 1)[1])
    with db.read() as conn:
        lines = table(JobLine)
        counted = conn.execute(
            select(func.count(), func.count(func.distinct(lines.c.line_number))).where(
                lines.c.job_id == job_id
            )
        ).one()
        after = conn.execute(select(agents).order_by(agents.c.id)).all()
    assert tuple(counted) == (ROWS, ROWS)
    assert after == before
