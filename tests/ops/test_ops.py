"""For operators: /health, /ready, /metrics and JSON logs."""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from app import create_app
from app.accounts import users
from app.config import Settings
from app.db import db
from app.db.models import Job, JobState, table
from app.db.sql import now_ms
from app.jobs import engine, totals
from app.ops.logs import JsonFormatter
from tests import factories
from tests.conftest import basic, overrides_for

JOBS = "/unifiedconfig/config/bulkjob"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def other_app(tmp_path: Path) -> Iterator[Any]:
    """Build an app with some settings changed (the database is not created)."""

    def build(**changes: Any) -> Flask:
        app = create_app(overrides={**overrides_for(tmp_path), **changes})
        app.config["TESTING"] = True
        return app

    yield build
    db.dispose()


def test_health_answers_without_credentials_or_dependencies(other_app: Any) -> None:
    nothing_listens = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    response = other_app(database_url=nothing_listens).test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer(client: FlaskClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["down"] == []
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


def test_ready_names_the_database_when_nothing_listens_on_its_port(other_app: Any) -> None:
    nothing_listens = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    response = other_app(database_url=nothing_listens).test_client().get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["database"]
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["broker"]["ok"] is True


def test_ready_names_the_broker_when_it_is_down(other_app: Any) -> None:
    app = other_app(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    from app.db import migrate as schema

    schema.upgrade(app.config["SETTINGS"].database_url)
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["down"] == ["broker"]


def test_metrics_unavailable_without_the_database(other_app: Any) -> None:
    nothing_listens = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    response = other_app(database_url=nothing_listens).test_client().get("/metrics")
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def create(client: FlaskClient, rows: list[list[str]]) -> int:
    response = client.post(JOBS, json={"fileContent": factories.csv_text(rows)}, headers=basic())
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def set_times(job_id: int, create_ms: int, start_ms: int | None, end_ms: int | None) -> None:
    with db.write() as conn:
        conn.execute(
            update(table(Job))
            .where(table(Job).c.id == job_id)
            .values(create_ms=create_ms, start_ms=start_ms, end_ms=end_ms)
        )


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_after_jobs_run(app: Flask, client: FlaskClient) -> None:
    settings = app.config["SETTINGS"]
    with db.write() as conn:
        factories.agents(conn, ["a1", "a2", "b1"])
    succeeded = create(client, [["a1", "", "", "a1@sso"], ["a2", "", "", ""]])
    partial = create(client, [["b1", "", "", ""], ["ghost", "", "", ""]])
    failed = create(client, [["ghost", "", "", ""]])
    cancelled = create(client, [["ghost", "", "", ""]])
    queued = create(client, [["ghost", "", "", ""]])
    for job_id in (succeeded, partial, failed):
        engine.run_job(db, settings, job_id)
    put = client.put(f"{JOBS}/{cancelled}", json={"changeStamp": 0, "jobState": 5}, headers=basic())
    assert put.status_code == 200
    set_times(queued, now_ms() - 90_000, None, None)

    def check(m: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
        t = (("job_type", "5"),)
        assert m[("bulkjob_jobs_created_total", t)] == 5
        for state in ("succeeded", "partially_succeeded", "failed", "cancelled"):
            assert m[("bulkjob_jobs_finished_total", (("job_type", "5"), ("state", state)))] == 1
        assert m[("bulkjob_records_processed_total", t)] == 5
        assert m[("bulkjob_records_failed_total", t)] == 2
        # Three jobs started and ended; the cancelled one never started.
        assert m[("bulkjob_job_queue_wait_seconds_count", t)] == 3
        assert m[("bulkjob_job_duration_seconds_count", t)] == 3
        assert m[("bulkjob_jobs_processing", ())] == 0

    first = scrape(client)
    check(first)
    assert first[("bulkjob_jobs_queued", ())] == 1
    assert 90 <= first[("bulkjob_oldest_queued_job_age_seconds", ())] < 120

    # Deleting finished jobs lowers no counter (Prometheus would read that as a reset).
    for job_id in (succeeded, partial, failed, cancelled):
        assert client.delete(f"{JOBS}/{job_id}", headers=basic()).status_code == 200
    check(scrape(client))


def test_histograms_put_each_time_in_its_buckets(client: FlaskClient) -> None:
    with db.write() as conn:
        for wait_ms, duration_ms in ((200, 1_500), (3_000, 45_000), (50, 50)):
            totals.started(conn, 5, wait_ms)
            totals.finished(conn, 5, JobState.SUCCEEDED, 1, 0, duration_ms)
    m = scrape(client)
    t = (("job_type", "5"),)

    def buckets(name: str) -> dict[str, float]:
        return {
            dict(labels)["le"]: value
            for (sample, labels), value in m.items()
            if sample == f"{name}_bucket" and dict(labels)["job_type"] == "5"
        }

    wait = buckets("bulkjob_job_queue_wait_seconds")
    assert (wait["0.05"], wait["0.25"], wait["2.5"], wait["5.0"], wait["+Inf"]) == (1, 2, 2, 3, 3)
    assert m[("bulkjob_job_queue_wait_seconds_count", t)] == 3
    assert m[("bulkjob_job_queue_wait_seconds_sum", t)] == pytest.approx(3.25)
    duration = buckets("bulkjob_job_duration_seconds")
    assert (duration["0.1"], duration["1.0"], duration["2.5"], duration["30.0"]) == (1, 1, 2, 2)
    assert (duration["60.0"], duration["+Inf"]) == (3, 3)
    assert m[("bulkjob_job_duration_seconds_count", t)] == 3
    assert m[("bulkjob_job_duration_seconds_sum", t)] == pytest.approx(46.55)


def test_metrics_speak_openmetrics_when_asked(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


# --- logs --------------------------------------------------------------------------------------


def test_log_format_setting() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "yaml"})


def test_json_logs_one_line_per_request_with_the_job_id(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    json_app = create_app(overrides={**overrides_for(tmp_path), "log_format": "json"})
    client = json_app.test_client()
    with db.write() as conn:
        token = users.create_token(conn, "viewer")
    with caplog.at_level(logging.INFO, logger="app.access"):
        job_id = create(client, [["someone", "", "", ""]])
        client.get(f"{JOBS}/{job_id}", headers=basic("viewer"))
        # A poll answered before Flask (app/api/polls.py) is logged the same.
        client.get(f"{JOBS}/{job_id}", headers={"Authorization": f"Bearer {token}"})
        client.get("/health")
    records = [r for r in caplog.records if r.name == "app.access"]
    lines = [json.loads(JsonFormatter().format(r)) for r in records]

    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("POST", JOBS, 201),
        ("GET", f"{JOBS}/{job_id}", 200),
        ("GET", f"{JOBS}/{job_id}", 200),
        ("GET", "/health", 200),
    ]
    assert [x.get("job_id") for x in lines] == [job_id, job_id, job_id, None]
    assert [x.get("user") for x in lines] == ["admin", "viewer", "viewer", None]
    assert all(x["duration_ms"] >= 0 and x["level"] == "INFO" for x in lines)
    assert all("\n" not in JsonFormatter().format(r) for r in records)


def test_text_logs_have_no_request_lines(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "app.access"]


def test_the_engine_logs_job_events_with_the_job_id(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with db.write() as conn:
        factories.agent(conn, "logged")
    job_id = create(client, [["logged", "", "", ""], ["ghost", "", "", ""]])
    with caplog.at_level(logging.INFO, logger="app.jobs.engine"):
        engine.run_job(db, app.config["SETTINGS"], job_id)
    events = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if getattr(r, "job_id", None) == job_id
    ]
    assert [e["message"] for e in events] == [
        f"job {job_id} claimed",
        f"job {job_id} finished: Partially succeeded",
    ]
    finished = events[-1]
    assert (finished["state"], finished["processed"], finished["failed"]) == (6, 2, 1)


def test_json_formatter_keeps_exceptions_on_one_line() -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "failed here"
    assert "RuntimeError: boom" in data["exc_info"]
