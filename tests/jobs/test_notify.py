"""Deliveries of a job's end to its notifyURL, to a real HTTP receiver on 127.0.0.1 (the task's
body run directly; tests/e2e/test_notify.py runs it in a real worker)."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.api.schemas import bulk_job_schema
from app.config import Settings
from app.db import db
from app.db.models import JobNotification, JobState, table
from app.jobs import downloads, engine, notify, store
from app.jobs.check import check_file
from tests import factories
from tests.conftest import PASSWORD, migrated_app
from tests.receiver import Receiver, verify

SECRET = "hook-secret"
notifications = table(JobNotification)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def app(tmp_path: Path, receiver: Receiver) -> Iterator[Flask]:
    flask_app = migrated_app(
        tmp_path,
        notify_hosts=f"127.0.0.1:{receiver.port}",
        notify_secret=SECRET,
        notify_tries=3,
        notify_backoff_seconds=0.05,
    )
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield flask_app
    db.dispose()


def finished_job(app: Flask, url: str, settings: Settings | None = None) -> int:
    """A job with ``url`` as its notifyURL, run to its end by the engine (no broker)."""
    settings = settings or app.config["SETTINGS"]
    name = f"agent{time.monotonic_ns()}"
    text = factories.csv_text([[name, "", "", f"{name}@sso"]])
    with db.write() as conn:
        factories.agent(conn, name)
        job_id = store.create_job(
            conn,
            check_file(text.encode(), None, 10**6),
            "wave",
            "admin",
            "web",
            notify_url=notify.check_url(settings, url),
        )
    assert engine.run_job(db, settings, job_id).final_state == JobState.SUCCEEDED
    return job_id


def pending(job_id: int) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(select(notifications).where(notifications.c.job_id == job_id)).all()
        )


def deliver_all(app: Flask, notification_id: int) -> int:
    """Try until there is no next try, waiting each delay out; the number of tries."""
    tries = 0
    while True:
        tries += 1
        delay = notify.deliver(db, app.config["SETTINGS"], notification_id, bulk_job_schema.dump)
        if delay is None:
            return tries
        time.sleep(delay)


def log_of(job_id: int) -> str:
    return b"".join(downloads.log(db.engine, job_id).body).decode()


def test_a_finished_job_is_delivered_signed(app: Flask, receiver: Receiver) -> None:
    job_id = finished_job(app, receiver.url("/hook?team=a"))
    [row] = pending(job_id)
    assert (row.attempts, row.done_ms) == (0, None)
    assert deliver_all(app, row.id) == 1
    [received] = receiver.requests
    assert received.path == "/hook?team=a"
    assert received.headers["Content-Type"] == "application/json"
    assert verify(SECRET, received)
    assert not verify("another secret", received)
    body = json.loads(received.body)
    assert body["event"] == "job.finished" and body["deliveryId"] == row.delivery_id
    assert body["refURL"] == f"/unifiedconfig/config/bulkjob/{job_id}"
    assert (body["jobState"], body["succeededRecords"]) == (JobState.SUCCEEDED, 1)
    assert f"Notification sent to {receiver.url('/hook?team=a')} (200)" in log_of(job_id)
    # Done: a second message for the same delivery sends nothing.
    assert notify.deliver(db, app.config["SETTINGS"], row.id, bulk_job_schema.dump) is None
    assert len(receiver.requests) == 1


def test_failures_are_retried_then_given_up(app: Flask, receiver: Receiver) -> None:
    receiver.statuses = [503, 500, 200]
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    assert deliver_all(app, row.id) == 3
    ids = {json.loads(r.body)["deliveryId"] for r in receiver.requests}
    assert ids == {row.delivery_id}  # the same delivery id on every try
    assert f"Notification sent to {receiver.url()} (200)" in log_of(job_id)

    receiver.requests.clear()
    receiver.statuses = [500]
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    assert deliver_all(app, row.id) == 3
    assert len(receiver.requests) == 3
    assert f"Notification to {receiver.url()} failed after 3 tries: answered 500" in log_of(job_id)


def test_a_try_not_due_or_in_flight_sends_nothing(app: Flask, receiver: Receiver) -> None:
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    with db.write() as conn:
        conn.execute(
            update(notifications).where(notifications.c.id == row.id).values(next_ms=2**62)
        )
    assert notify.deliver(db, app.config["SETTINGS"], row.id, bulk_job_schema.dump) is None
    assert receiver.requests == []


def test_redirects_are_not_followed(app: Flask, receiver: Receiver) -> None:
    receiver.statuses = [302]
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    assert deliver_all(app, row.id) == 3
    assert [r.path for r in receiver.requests] == ["/hook"] * 3  # never /elsewhere
    assert "failed after 3 tries: answered 302" in log_of(job_id)


def test_a_name_that_now_points_elsewhere_is_refused(
    app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app.config["SETTINGS"].replace(notify_hosts=f"localhost:{receiver.port}")
    url = f"http://localhost:{receiver.port}/hook"
    job_id = finished_job(app, url, settings)
    [row] = pending(job_id)
    # The worker resolved the allowed name (to 127.0.0.1) and would send there...
    target, headers, _ = notify.pinned(settings, url)
    assert target.startswith(("http://127.0.0.1:", "http://[::1]:"))
    assert headers["Host"] == f"localhost:{receiver.port}"
    # ... but the name now resolves to an address the operator did not allow.
    monkeypatch.setattr(notify, "resolve", lambda host, port: ["127.0.0.2"])
    tries = 0
    while notify.deliver(db, settings, row.id, bulk_job_schema.dump) is not None:
        tries += 1
        time.sleep(0.1)
    assert tries == 2 and receiver.requests == []
    assert "resolves to 127.0.0.2, not an allowed address" in log_of(job_id)


def test_a_name_is_sent_to_the_address_it_resolves_to(app: Flask, receiver: Receiver) -> None:
    settings = app.config["SETTINGS"].replace(notify_hosts=f"LocalHost:{receiver.port}")
    job_id = finished_job(app, f"http://localhost:{receiver.port}/named", settings)
    [row] = pending(job_id)
    assert notify.deliver(db, settings, row.id, bulk_job_schema.dump) is None
    [received] = receiver.requests
    assert received.path == "/named" and received.headers["Host"] == f"localhost:{receiver.port}"


def test_a_host_no_longer_allowed_is_refused(app: Flask, receiver: Receiver) -> None:
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    settings = app.config["SETTINGS"].replace(notify_hosts="127.0.0.1:1")
    notify.deliver(db, settings, row.id, bulk_job_schema.dump)
    assert receiver.requests == []


def test_nothing_is_sent_unsigned(app: Flask, receiver: Receiver) -> None:
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    settings = app.config["SETTINGS"].replace(notify_secret="", notify_tries=1)
    assert notify.deliver(db, settings, row.id, bulk_job_schema.dump) is None
    assert receiver.requests == []
    assert "BULKJOB_NOTIFY_SECRET is not set" in log_of(job_id)


def test_a_job_without_notify_url_records_nothing(app: Flask) -> None:
    with db.write() as conn:
        job_id = factories.stored_job(conn, factories.csv_text([["x", "", "", ""]]))
    engine.run_job(db, app.config["SETTINGS"], job_id)
    assert pending(job_id) == []


def test_cancelling_a_queued_job_records_a_delivery(app: Flask, receiver: Receiver) -> None:
    settings = app.config["SETTINGS"]
    with db.write() as conn:
        checked = check_file(factories.csv_text([["x", "", "", ""]]).encode(), None, 10**6)
        job_id = store.create_job(
            conn, checked, "", "admin", "web", notify_url=notify.check_url(settings, receiver.url())
        )
        store.update_job(conn, job_id, 0, None, JobState.CANCELLED, "admin")
    [row] = pending(job_id)
    assert deliver_all(app, row.id) == 1
    assert json.loads(receiver.requests[0].body)["jobState"] == JobState.CANCELLED


def test_deleting_a_job_deletes_its_deliveries(app: Flask, receiver: Receiver) -> None:
    job_id = finished_job(app, receiver.url())
    with db.write() as conn:
        store.delete_job(conn, job_id, "admin")
    assert pending(job_id) == []


def test_the_default_retries_last_at_least_ten_minutes() -> None:
    settings = Settings()
    waits = [settings.notify_backoff_seconds * 2**i for i in range(settings.notify_tries - 1)]
    assert settings.notify_tries >= 5 and sum(waits) >= 600


def test_the_sweep_finds_deliveries_the_broker_lost(app: Flask, receiver: Receiver) -> None:
    settings = app.config["SETTINGS"]
    job_id = finished_job(app, receiver.url())
    [row] = pending(job_id)
    assert notify.due(db, settings) == [row.id]
    assert notify.due(db, settings) == []  # marked as sent: not twice in one period


def documented_receiver() -> Any:
    """The receiver docs/concepts.md shows ("Notification when a job ends"), as a Flask app."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "concepts.md").read_text()
    start = page.index("```python", page.index("A receiver checks it"))
    code = page[start + len("```python") : page.index("```", start + 9)]
    namespace: dict[str, Any] = {"__name__": "documented_receiver"}
    exec(textwrap.dedent(code), namespace)
    namespace["SECRET"] = SECRET.encode()
    return namespace["hook"]


def test_the_documented_receiver_accepts_a_delivery_and_refuses_forgeries(
    app: Flask, receiver: Receiver
) -> None:
    [row] = pending(finished_job(app, receiver.url()))
    deliver_all(app, row.id)
    [received] = receiver.requests
    hook = documented_receiver().test_client()
    headers = {k: v for k, v in received.headers.items() if k.startswith("X-Bulkjob")}

    def post(body: bytes, **changed: str) -> int:
        return hook.post("/bulkjob-finished", data=body, headers={**headers, **changed}).status_code

    assert post(received.body) == 204
    assert post(received.body.replace(b'"jobState":3', b'"jobState":4')) == 401
    old = str(int(time.time()) - 3600)
    resigned = notify.signature(SECRET, old, received.body)
    assert (
        post(received.body, **{"X-Bulkjob-Timestamp": old, "X-Bulkjob-Signature": resigned}) == 401
    )
