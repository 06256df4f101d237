"""The database goes away mid-job (docs/operations.md, "Many nodes: load and faults"): a private
PostgreSQL cluster, so the test may cut every connection and stop the server itself without
touching the shared one; a gunicorn web node and a ``celery worker``, never restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.accounts import users
from app.db import db
from tests.conftest import basic, services_unavailable
from tests.e2e.test_reliability import assert_exactly_once, big_job, build_stack
from tests.live import PostgresCluster, RedisServer, WebNode, postgres_bin

pytestmark = pytest.mark.e2e

ROWS = 50_000
DOWN_SECONDS = 4
RECOVERED_WITHIN = 10
JOBS = "/unifiedconfig/config/bulkjob"


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        services_unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    assert bin_dir is not None
    made = PostgresCluster(bin_dir)
    try:
        made.start()
        yield made
    finally:
        made.destroy()


def terminate_clients(url: str) -> int:
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    )
                ).scalar_one()
            )
    finally:
        admin.dispose()


def test_job_survives_cut_connections_and_a_server_restart(
    tmp_path: Path, cluster: PostgresCluster
) -> None:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    stack = build_stack(tmp_path, cluster.url, redis_server.url, chunk_size=100)
    web = WebNode(stack.settings, "web-1", tmp_path, workers=2)
    http = httpx.Client(base_url=f"http://127.0.0.1:{web.port}", headers=basic(), timeout=30)
    try:
        web.wait_ready()
        with db.write() as conn:
            token = users.create_token(conn, "admin")
        # Scripts poll with a bearer token: the token check runs on the web node's readers
        # (app/db/sql.py), which must open a new connection once the server is gone.
        bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        names, csv_text = big_job(ROWS)
        stack.worker("worker-1")
        created = http.post(JOBS, json={"fileContent": csv_text, "description": "outage"})
        assert created.status_code == 201, created.text
        location = JOBS + "/" + created.headers["Location"].rsplit("/", 1)[1]

        def job() -> dict[str, Any]:
            body: dict[str, Any] = stack.job(location)
            return body

        # 1. Every connection cut (the worker's, the web node's): the job carries on.
        before = stack.wait(location, lambda j: j["jobState"] == 2 and j["processedRecords"] > 0)
        assert terminate_clients(cluster.url) >= 1
        stack.wait(
            location,
            lambda j: j["processedRecords"] > before["processedRecords"] + 500,
            timeout=60,
        )

        # 2. The server stops for a few seconds, mid-job (after bearer polls left readers open).
        for _ in range(8):
            assert http.get(JOBS, headers=bearer).status_code == 200
            assert http.get(location, headers=bearer).status_code == 200  # before Flask
        at_stop = job()["processedRecords"]
        assert at_stop < ROWS, "the job ended before the restart: the worker was never tested"
        cluster.stop()
        stopped = time.monotonic()
        during = http.get(location, headers={"Accept": "application/json"})
        ready = http.get("/ready")
        listing = http.get(JOBS, headers={"Accept": "application/json"})
        # Every gunicorn worker's idle reader is dead now: each poll finds its own dead, then
        # fails to open a new one while the server refuses connections.
        # A job's poll is answered before Flask when it can be (app/api/polls.py): not now.
        polls = [http.get(path, headers=bearer) for _ in range(8) for path in (JOBS, location)]
        assert during.status_code == 503, during.text
        assert "serviceUnavailable" in during.text
        assert during.headers.get("Retry-After") == "5"
        assert listing.status_code == 503 and "serviceUnavailable" in listing.text
        for poll in polls:
            assert poll.status_code == 503 and "serviceUnavailable" in poll.text, poll.text
            assert poll.headers.get("Retry-After") == "5"
        assert ready.status_code == 503 and ready.json()["down"] == ["database"], ready.text
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - stopped)))
        assert job_state_unreachable(http, location)
        cluster.start()
        back = time.monotonic()
        while True:  # our processes recover by themselves: no restart
            answers = (
                http.get(location, headers={"Accept": "application/json"}).status_code,
                http.get("/ready").status_code,
            )
            if answers == (200, 200):
                break
            assert time.monotonic() - back < RECOVERED_WITHIN, f"still {answers}"
            time.sleep(0.2)
        recovered_in = time.monotonic() - back

        final = stack.wait(location, lambda j: j["jobState"] not in (1, 2), timeout=300)
        assert final["jobState"] == 3, stack.log(location)[-2000:]
        assert (final["processedRecords"], final["succeededRecords"]) == (ROWS, ROWS)
        assert_exactly_once(stack, location, names)
        assert "Job started on worker-1" in stack.log(location)
        print(f"\ndatabase restart: web and /ready answered 200 {recovered_in:.1f} s after")
    finally:
        http.close()
        web.stop()
        stack.stop()
        redis_server.kill()
        db.dispose()


def job_state_unreachable(http: httpx.Client, location: str) -> bool:
    """Still down: the web node answers 503 (never 500)."""
    return http.get(location, headers={"Accept": "application/json"}).status_code == 503
