"""End to end with a real worker: a scheduled job waits for its time, and a job's end is POSTed
to a real HTTP receiver on 127.0.0.1, signed, retried, and sent even if the broker lost it.

On the embedded default (SQLite + filesystem broker) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import db
from app.jobs import engine, notify, store
from app.jobs.check import check_file
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app
from tests.live import Worker, wait_for_final
from tests.receiver import Receiver, verify

pytestmark = pytest.mark.e2e
SECRET = "e2e-hook-secret"
BASE = "/unifiedconfig/config/bulkjob"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver) -> Iterator[Flask]:
    extra = {}
    if request.param == "postgres":
        extra["broker_url"] = request.getfixturevalue("redis_url")
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    app = migrated_app(
        tmp_path,
        url,
        sweep_seconds=0.5,
        redispatch_seconds=1,
        notify_hosts=f"127.0.0.1:{receiver.port}",
        notify_secret=SECRET,
        notify_tries=5,
        notify_backoff_seconds=0.3,
        **extra,
    )
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield app
    db.dispose()


@pytest.fixture
def worker(stack: Flask, tmp_path: Path) -> Iterator[Worker]:
    started = Worker(stack.config["SETTINGS"], "worker-1", tmp_path)
    started.wait_ready()
    yield started
    started.stop()


def create(client: FlaskClient, names: list[str], **fields: object) -> str:
    text = factories.csv_text([[n, "", "", f"{n}@sso"] for n in names])
    response = client.post(BASE, json={"fileContent": text, **fields}, headers=basic())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"].replace("http://localhost", "")


def wait_for_log(client: FlaskClient, location: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    log = ""
    while time.monotonic() < deadline:
        log = client.get(f"{location}/log", headers=basic()).get_data(as_text=True)
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log:\n{log}")


def test_a_scheduled_job_waits_then_runs_and_notifies(
    stack: Flask, receiver: Receiver, worker: Worker
) -> None:
    with db.write() as conn:
        factories.agents(conn, ["early1", "early2"])
    client = stack.test_client()
    start_after = int(time.time() * 1000) + 3000
    location = create(
        client, ["early1", "early2"], startAfter=start_after, notifyURL=receiver.url("/done")
    )
    job = wait_for_final(client, basic(), location)
    assert job["jobState"] == 3 and job["startAfter"] == start_after
    assert job["startDateTime"] >= start_after  # not a moment before its time
    [delivery] = receiver.wait_for(1)
    assert delivery.path == "/done" and verify(SECRET, delivery)
    body = json.loads(delivery.body)
    assert body["event"] == "job.finished" and len(body["deliveryId"]) >= 16
    assert (body["jobState"], body["succeededRecords"], body["refURL"]) == (3, 2, location)
    log = wait_for_log(client, location, f"Notification sent to {receiver.url('/done')} (200)")
    assert "Job scheduled to start at " in log


def test_a_failing_receiver_is_tried_again(
    stack: Flask, receiver: Receiver, worker: Worker
) -> None:
    receiver.statuses = [500, 503, 200]
    with db.write() as conn:
        factories.agent(conn, "retry1")
    client = stack.test_client()
    location = create(client, ["retry1"], notifyURL=receiver.url())
    wait_for_final(client, basic(), location)
    wait_for_log(client, location, f"Notification sent to {receiver.url()} (200)")
    deliveries = receiver.wait_for(3)
    assert len({json.loads(d.body)["deliveryId"] for d in deliveries}) == 1
    assert all(verify(SECRET, d) for d in deliveries)


def test_a_cancelled_queued_job_notifies(stack: Flask, receiver: Receiver, worker: Worker) -> None:
    client = stack.test_client()
    location = create(
        client, ["nobody"], startAfter=int(time.time() * 1000) + 3_600_000, notifyURL=receiver.url()
    )
    response = client.put(location, json={"changeStamp": 0, "jobState": 5}, headers=basic())
    assert response.status_code == 200
    [delivery] = receiver.wait_for(1)
    assert json.loads(delivery.body)["jobState"] == 5
    wait_for_log(client, location, "Notification sent to")


def test_a_delivery_the_broker_never_got_is_sent_by_the_sweep(
    stack: Flask, receiver: Receiver, tmp_path: Path
) -> None:
    """The job ended while no message could be sent: its delivery was committed with its final
    state, so the first worker to sweep sends it."""
    settings = stack.config["SETTINGS"]
    with db.write() as conn:
        factories.agent(conn, "lost1")
        checked = check_file(factories.csv_text([["lost1", "", "", "l@sso"]]).encode(), None, 10**6)
        job_id = store.create_job(
            conn, checked, "", "admin", "web", notify_url=notify.check_url(settings, receiver.url())
        )
    assert engine.run_job(db, settings, job_id).final_state == 3
    assert receiver.requests == []
    started = Worker(settings, "worker-late", tmp_path)
    try:
        started.wait_ready()
        [delivery] = receiver.wait_for(1)
        assert json.loads(delivery.body)["refURL"] == f"{BASE}/{job_id}"
        wait_for_log(stack.test_client(), f"{BASE}/{job_id}", "Notification sent to")
    finally:
        started.stop()


def test_removing_the_start_time_runs_the_job_now(stack: Flask, worker: Worker) -> None:
    with db.write() as conn:
        factories.agent(conn, "moved1")
    client = stack.test_client()
    location = create(client, ["moved1"], startAfter=int(time.time() * 1000) + 3_600_000)
    job = client.get(location, headers={**basic(), "Accept": "application/json"}).get_json()
    assert job["jobState"] == 1 and "startDateTime" not in job
    response = client.put(location, json={"changeStamp": 0, "startAfter": None}, headers=basic())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert wait_for_final(client, basic(), location)["jobState"] == 3
    log = client.get(f"{location}/log", headers=basic()).get_data(as_text=True)
    assert log.index("Start time removed by admin") < log.index("Job started on worker-1")
