"""Idempotency-Keys in the job's own transaction: two creates racing with one key make one job,
on SQLite and PostgreSQL; the workers' sweep forgets keys older than 24 hours."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, func, select, text, update

from app.db import db
from app.db.models import IdempotencyKey, Job, table
from app.db.sql import is_postgres
from app.jobs import idempotency
from app.jobs.idempotency import LIFETIME_MS, Keyed
from app.jobs.submit import submit
from tests import factories
from tests.conftest import PG_URL, migrated_app, reset_postgres, services_unavailable
from worker import lifecycle

GOOD = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])
keys = table(IdempotencyKey)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app per database for the module (each test uses keys of its own)."""
    url = None
    if request.param == "postgresql":
        try:
            reset_postgres(PG_URL)
        except Exception as exc:  # pragma: no cover - depends on the machine
            services_unavailable(f"PostgreSQL at {PG_URL}: {exc}")
        url = PG_URL
    yield migrated_app(tmp_path_factory.mktemp("idempotency"), url)
    db.dispose()


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(Job))).scalar_one())


def wait_for(condition: Any, what: str) -> None:
    """Wait until ``condition()`` holds (a step of the race, not a measure of speed)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.01)


def lock_waits(conn: Connection) -> int:
    statement = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    return int(conn.execute(text(statement)).scalar_one())


class Abandon(Exception):
    """Raised to roll the first request's transaction back."""


@pytest.mark.parametrize("first_commits", [True, False], ids=["commits", "rolls-back"])
def test_two_creates_racing_with_one_key_make_one_job(
    app: Flask, monkeypatch: pytest.MonkeyPatch, first_commits: bool
) -> None:
    """The second request looks for the key while the first holds it uncommitted: it waits for
    the first's transaction (PostgreSQL: on the key's row; SQLite: for the write lock), then
    answers with the first's job, or, if the first rolled back, makes its own."""
    key = f"race-{first_commits}"
    looked = threading.Event()
    real_find = idempotency.find

    def find(conn: Connection, keyed: Keyed) -> int | None:
        found = real_find(conn, keyed)
        looked.set()
        return found

    monkeypatch.setattr(idempotency, "find", find)
    before = job_count()
    second = Keyed("admin", key, "same request")
    answered: dict[str, Any] = {}

    def send_second() -> None:
        try:
            answered["id"] = submit(
                app, GOOD.encode(), description=None, created_by="admin", keyed=second
            )
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            answered["error"] = exc

    thread = threading.Thread(target=send_second)
    try:
        with db.write() as conn:
            first = Keyed("admin", key, "same request")
            assert idempotency.claim(conn, first) is None
            first_id = factories.stored_job(conn, GOOD)
            idempotency.bind(conn, first, first_id)
            thread.start()
            wait_for(looked.is_set, "the second request to look for the key")  # and not see it
            if is_postgres(conn):
                with db.engine.connect() as watcher:
                    wait_for(lambda: lock_waits(watcher) > 0, "the second to wait on the key")
            if not first_commits:
                raise Abandon
    except Abandon:
        pass
    thread.join(30)
    assert "error" not in answered, answered.get("error")
    assert job_count() == before + 1
    if first_commits:
        assert (answered["id"], second.replayed) == (first_id, True)
    else:  # (SQLite may give the new job the id the rolled-back one had)
        assert not second.replayed
    with db.read() as conn:
        bound = select(keys.c.job_id).where(keys.c.idempotency_key == key)
        assert conn.execute(bound).scalar_one() == answered["id"]


def test_the_sweep_forgets_keys_older_than_24_hours(app: Flask) -> None:
    for key in ("old", "new"):
        with db.write() as conn:
            keyed = Keyed("admin", f"sweep-{key}", "h")
            assert idempotency.claim(conn, keyed) is None
            idempotency.bind(conn, keyed, factories.stored_job(conn, GOOD))
    with db.write() as conn:
        old = keys.c.idempotency_key == "sweep-old"
        conn.execute(update(keys).where(old).values(create_ms=keys.c.create_ms - LIFETIME_MS))
    lifecycle.sweep(app, free_slots=0)
    with db.read() as conn:
        left = conn.execute(
            select(keys.c.idempotency_key).where(keys.c.idempotency_key.like("sweep-%"))
        )
        assert list(left.scalars()) == ["sweep-new"]
