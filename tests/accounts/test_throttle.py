"""Failed sign-ins are rate limited (docs/security.md) on the API and the console, across processes."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from tests import factories
from tests.conftest import PASSWORD, basic, overrides_for

AGENTS = "/unifiedconfig/config/agent"
WRONG = "wrong password!"


def from_addr(client: FlaskClient, address: str, headers: dict[str, str], **kw: Any) -> Any:
    return client.get(AGENTS, headers=headers, environ_base={"REMOTE_ADDR": address}, **kw)


def fail(client: FlaskClient, address: str, user: str = "admin", times: int = 1) -> None:
    for _ in range(times):
        assert from_addr(client, address, basic(user, WRONG)).status_code == 401


def test_ten_failures_from_one_address_block_it(client: FlaskClient) -> None:
    fail(client, "10.0.0.1", times=10)
    response = from_addr(client, "10.0.0.1", basic(), query_string={})
    assert response.status_code == 429
    assert 55 <= int(response.headers["Retry-After"]) <= 60
    assert b"<errorType>tooManyRequests</errorType>" in response.data
    json = from_addr(client, "10.0.0.1", {**basic("viewer"), "Accept": "application/json"})
    assert json.status_code == 429
    assert json.get_json()["apiErrors"][0]["errorType"] == "tooManyRequests"
    # The right password from elsewhere still works; so does another user elsewhere.
    assert from_addr(client, "10.0.0.2", basic()).status_code == 200


def test_nine_failures_do_not_block(client: FlaskClient) -> None:
    fail(client, "10.0.0.1", times=9)
    assert from_addr(client, "10.0.0.1", basic()).status_code == 200


def test_ten_failures_for_one_name_block_it_where_it_failed(client: FlaskClient) -> None:
    for n in range(10):
        fail(client, f"10.0.1.{n}")
    # From an address that guessed at admin: refused, even with the right password.
    refused = from_addr(client, "10.0.1.3", basic())
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # The owner, from elsewhere, gets in; other users from the guessing address too.
    assert from_addr(client, "10.0.2.1", basic()).status_code == 200
    assert from_addr(client, "10.0.1.3", basic("viewer")).status_code == 200
    # A new address guessing wrong gets its one answer, then is refused for this name.
    fail(client, "10.0.2.2")
    assert from_addr(client, "10.0.2.2", basic()).status_code == 429


def test_bad_tokens_and_unreadable_headers_count_per_address(client: FlaskClient) -> None:
    for n in range(5):
        bad = {"Authorization": f"Bearer bjt_not-a-token-{n}"}
        assert from_addr(client, "10.0.3.1", bad).status_code == 401
    for _ in range(5):
        assert from_addr(client, "10.0.3.1", {"Authorization": "Basic %%%"}).status_code == 401
    assert from_addr(client, "10.0.3.1", basic()).status_code == 429


def test_a_blocked_address_is_refused_a_wrong_token_but_not_a_live_one(
    client: FlaskClient,
) -> None:
    # A live token is a 256-bit secret: it gets in without the throttle being consulted
    # (docs/security.md, "Failed sign-ins are rate limited"); a wrong token from the blocked address is refused as before.
    with db.write() as conn:
        token = users.create_token(conn, "admin")
    fail(client, "10.0.3.9", times=10)
    assert from_addr(client, "10.0.3.9", basic()).status_code == 429
    bad = {"Authorization": "Bearer bjt_not-a-token"}
    assert from_addr(client, "10.0.3.9", bad).status_code == 429
    live = {"Authorization": f"Bearer {token}"}
    assert from_addr(client, "10.0.3.9", live).status_code == 200


def test_no_credentials_is_not_a_failure(client: FlaskClient) -> None:
    for _ in range(12):
        assert client.get(AGENTS).status_code == 401
    assert client.get(AGENTS, headers=basic()).status_code == 200


def test_the_block_ends(tmp_path: Path) -> None:
    app = make_app(tmp_path, auth_block_seconds=1)
    client = app.test_client()
    fail(client, "10.0.4.1", times=10)
    assert from_addr(client, "10.0.4.1", basic()).status_code == 429
    time.sleep(1.2)
    assert from_addr(client, "10.0.4.1", basic()).status_code == 200
    db.dispose()


def test_failures_are_logged_without_the_secret(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.accounts.throttle")
    fail(client, "10.0.5.1", times=10)
    token = "bjt_secret-token-value"
    from_addr(client, "10.0.5.2", {"Authorization": f"Bearer {token}"})
    text = caplog.text
    assert text.count("Authentication failed (API basic) for user 'admin' from 10.0.5.1") == 10
    assert "Authentication failed (API bearer) for user '' from 10.0.5.2" in text
    assert "Too many failed sign-ins for address 10.0.5.1" in text
    assert WRONG not in text
    assert token not in text
    assert base64.b64encode(f"admin:{WRONG}".encode()).decode() not in text


def login(client: FlaskClient, address: str, password: str) -> Any:
    client.get("/login", environ_base={"REMOTE_ADDR": address})
    with client.session_transaction() as session:
        csrf = session["csrf_token"]
    form = {"username": "admin", "password": password, "csrf_token": csrf}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address})


def test_console_login_is_throttled(app: Flask) -> None:
    client = app.test_client()
    for _ in range(10):
        response = login(client, "10.0.6.1", WRONG)
        assert b"The user name or password is wrong." in response.data
    response = login(client, "10.0.6.1", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert b"Too many failed sign-ins" in response.data
    # The API shares the count: the address is blocked there too.
    assert from_addr(client, "10.0.6.1", basic("viewer")).status_code == 429
    assert login(app.test_client(), "10.0.6.2", PASSWORD).status_code == 303


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    app = create_app(overrides={**overrides_for(tmp_path), **overrides})
    app.config["TESTING"] = True
    url = app.config["SETTINGS"].database_url
    if schema.current(url) is None:
        schema.upgrade(url)
        with db.write() as conn:
            factories.user(conn, "admin", "admin", PASSWORD)
    return app


def test_processes_on_one_machine_share_the_count(tmp_path: Path) -> None:
    """Two app instances (gunicorn workers) over one DATA_DIR: failures add up."""
    first = make_app(tmp_path).test_client()
    fail(first, "10.0.7.1", times=5)
    second = make_app(tmp_path).test_client()
    fail(second, "10.0.7.1", times=5)
    assert from_addr(first, "10.0.7.1", basic()).status_code == 429
    assert from_addr(second, "10.0.7.1", basic()).status_code == 429
    db.dispose()


def test_nodes_share_the_count_in_redis(tmp_path: Path, redis_url: str) -> None:
    """With a Redis broker, nodes with separate disks share the counters."""
    first = make_app(tmp_path / "a", broker_url=redis_url).test_client()
    fail(first, "10.0.8.1", times=5)
    second = make_app(tmp_path / "b", broker_url=redis_url).test_client()
    fail(second, "10.0.8.1", times=5)
    response = from_addr(first, "10.0.8.1", basic())
    assert response.status_code == 429
    assert 55 <= int(response.headers["Retry-After"]) <= 60
    assert from_addr(second, "10.0.8.2", basic()).status_code == 200
    assert not (tmp_path / "a" / "throttle.sqlite").exists()
    db.dispose()


def test_store_outage_does_not_lock_everyone_out(tmp_path: Path) -> None:
    app = make_app(tmp_path, broker_url="redis://127.0.0.1:1/0")
    client = app.test_client()
    fail(client, "10.0.9.1", times=11)
    assert from_addr(client, "10.0.9.1", basic()).status_code == 200
    db.dispose()


def test_behind_a_proxy_the_forwarded_address_counts(tmp_path: Path) -> None:
    app = make_app(tmp_path, proxy_hops=1)
    client = app.test_client()
    for _ in range(10):
        bad = {**basic("admin", WRONG), "X-Forwarded-For": "203.0.113.9"}
        assert from_addr(client, "10.0.10.1", bad).status_code == 401
    same = {**basic(), "X-Forwarded-For": "203.0.113.9"}
    assert from_addr(client, "10.0.10.1", same).status_code == 429
    other = {**basic(), "X-Forwarded-For": "203.0.113.10"}
    assert from_addr(client, "10.0.10.1", other).status_code == 200
    db.dispose()


def test_without_a_proxy_forwarded_headers_are_ignored(client: FlaskClient) -> None:
    for n in range(10):
        bad = {**basic("viewer", WRONG), "X-Forwarded-For": f"198.51.100.{n}"}
        assert from_addr(client, "10.0.11.1", bad).status_code == 401
    assert from_addr(client, "10.0.11.1", basic()).status_code == 429
