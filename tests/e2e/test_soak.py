"""The small soak (``make soak`` at full size): two gunicorn web nodes and three workers on
PostgreSQL and Redis, jobs submitted while connections poll and list across both web nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak import Plan, run

pytestmark = pytest.mark.e2e

SMALL = Plan(
    clients=3,
    jobs_per_client=2,
    rows=500,
    shared=20,
    directory=5000,
    pollers=6,
    web_workers=1,
    chunk_size=20,
    deadline_seconds=90,
)


def test_small_soak_every_row_once_no_5xx(tmp_path: Path, pg_url: str) -> None:
    result = run(SMALL, pg_url, tmp_path)
    print("\n" + result.figures())
    assert result.problems == []
    assert result.jobs == SMALL.jobs and result.rows == SMALL.jobs * SMALL.rows
    assert result.polls > 0 and result.statuses[201] == SMALL.jobs
    # Each pair of jobs shares agents: one job of the pair applied each, the other refused it.
    assert set(result.states) <= {"Succeeded", "Partially succeeded"}, result.states
