"""Users, roles and tokens; the cache of verified passwords."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from app.accounts import users
from app.accounts.users import Principal, VerifiedCache
from app.db import make_engine
from app.db import migrate as schema
from app.db.models import ApiToken, User, table
from app.exceptions import InvalidInput, NotFound


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/users.sqlite"
    schema.upgrade(url)
    users._verified.clear()
    eng = make_engine(url)
    yield eng
    eng.dispose()
    users._verified.clear()


def add_user(engine: Engine, name: str, role: str = "admin", password: str = "pw-1") -> None:
    with engine.begin() as conn:
        users.create_user(conn, name, role, password)


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every full password check while still doing it."""
    calls: list[str] = []
    real = users.check_password_hash

    def spy(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(users, "check_password_hash", spy)
    return calls


def test_basic_right_and_wrong_password(engine: Engine) -> None:
    add_user(engine, "alice", "admin", "s3cret pw")
    assert users.authenticate_basic(engine, "alice", "s3cret pw") == Principal("alice", "admin")
    assert users.authenticate_basic(engine, "alice", "s3cret PW") is None
    assert users.authenticate_basic(engine, "alice", "") is None
    assert users.authenticate_basic(engine, "bob", "s3cret pw") is None
    assert users.authenticate_basic(engine, "", "s3cret pw") is None


def test_user_names_are_case_insensitive(engine: Engine) -> None:
    add_user(engine, "Alice", "viewer", "pw")
    assert users.authenticate_basic(engine, "aLICE", "pw") == Principal("Alice", "viewer")
    with pytest.raises(InvalidInput):
        add_user(engine, "alice", "admin", "other")


@pytest.mark.parametrize("role", users.ROLES)
def test_roles(engine: Engine, role: str) -> None:
    add_user(engine, f"u-{role}", role, "pw")
    principal = users.authenticate_basic(engine, f"u-{role}", "pw")
    assert principal is not None and principal.role == role


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("carol", "root", "pw", "role"),
        ("carol", "admin", "", "password"),
        ("   ", "admin", "pw", "username"),
        ("x" * 151, "admin", "pw", "username"),
    ],
)
def test_create_user_refuses_bad_input(
    engine: Engine, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        add_user(engine, name, role, password)
    assert info.value.error_data == field
    with engine.connect() as conn:
        assert users.count_users(conn) == 0


def test_password_is_stored_as_scrypt_hash(engine: Engine) -> None:
    add_user(engine, "alice", "admin", "s3cret pw")
    with engine.connect() as conn:
        stored = conn.execute(select(table(User).c.password_hash)).scalar_one()
        assert users.count_users(conn) == 1
    assert stored.startswith("scrypt:")
    assert "s3cret" not in stored


def test_token_auth(engine: Engine) -> None:
    add_user(engine, "robot", "viewer")
    with engine.begin() as conn:
        token = users.create_token(conn, "ROBOT")
    assert token.startswith("bjt_") and len(token) > 40
    assert users.authenticate_token(engine, token) == Principal("robot", "viewer")
    assert users.authenticate_token(engine, token + "x") is None
    assert users.authenticate_token(engine, token.removeprefix("bjt_")) is None
    assert users.authenticate_token(engine, "") is None
    with engine.connect() as conn:
        stored = conn.execute(select(table(ApiToken).c.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_tokens_are_distinct_and_revocable(engine: Engine) -> None:
    add_user(engine, "robot", "viewer")
    with engine.begin() as conn:
        first = users.create_token(conn, "robot")
        second = users.create_token(conn, "robot")
    assert first != second
    tokens = table(ApiToken)
    with engine.begin() as conn:
        conn.execute(
            update(tokens)
            .where(tokens.c.token_hash == hashlib.sha256(first.encode()).hexdigest())
            .values(revoked_ms=1)
        )
    assert users.authenticate_token(engine, first) is None
    assert users.authenticate_token(engine, second) == Principal("robot", "viewer")


def test_token_for_unknown_user(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(NotFound):
        users.create_token(conn, "nobody")


def test_verified_password_is_not_rehashed(engine: Engine, hash_calls: list[str]) -> None:
    add_user(engine, "poller", "viewer", "pw")
    for _ in range(5):
        assert users.authenticate_basic(engine, "poller", "pw") == Principal("poller", "viewer")
    assert len(hash_calls) == 1


def test_cache_does_not_accept_a_wrong_password_after_a_right_one(
    engine: Engine, hash_calls: list[str]
) -> None:
    add_user(engine, "alice", "admin", "right")
    assert users.authenticate_basic(engine, "alice", "right") is not None
    assert users.authenticate_basic(engine, "alice", "wrong") is None
    assert users.authenticate_basic(engine, "alice", "righ") is None
    assert users.authenticate_basic(engine, "alice", "right ") is None
    assert len(hash_calls) == 4


def test_a_changed_password_hash_invalidates_the_cache(engine: Engine) -> None:
    add_user(engine, "alice", "admin", "old")
    assert users.authenticate_basic(engine, "alice", "old") is not None
    user_table = table(User)
    with engine.begin() as conn:
        conn.execute(
            update(user_table).values(
                password_hash=users.generate_password_hash("new", method="scrypt")
            )
        )
    assert users.authenticate_basic(engine, "alice", "old") is None
    assert users.authenticate_basic(engine, "alice", "new") is not None


def test_a_changed_role_applies_at_once(engine: Engine) -> None:
    add_user(engine, "alice", "admin", "pw")
    assert users.authenticate_basic(engine, "alice", "pw") == Principal("alice", "admin")
    with engine.begin() as conn:
        conn.execute(update(table(User)).values(role="viewer"))
    assert users.authenticate_basic(engine, "alice", "pw") == Principal("alice", "viewer")


def test_cache_key_holds_no_plaintext(engine: Engine) -> None:
    password = "correct horse battery staple"
    add_user(engine, "alice", "admin", password)
    assert users.authenticate_basic(engine, "alice", password) is not None
    with engine.connect() as conn:
        stored = conn.execute(select(table(User).c.password_hash)).scalar_one()
    keys = users._verified.keys()
    assert len(keys) == 1
    key = keys[0]
    assert len(key) == 32
    for secret in (password, "alice", stored):
        assert secret.encode() not in key
    unsalted: list[Any] = [
        hashlib.sha256(password.encode()).digest(),
        hashlib.sha256(f"alice:{password}".encode()).digest(),
        hashlib.sha256(f"alice{password}{stored}".encode()).digest(),
    ]
    assert key not in unsalted
    # The salt is per process: another cache keys the same credentials differently.
    assert VerifiedCache().key("alice", password, stored) != key
    assert users._verified.key("alice", password, stored) == key


def test_cache_entries_expire() -> None:
    cache = VerifiedCache(ttl_seconds=0)
    key = cache.key("a", "b", "c")
    cache.add(key)
    assert not cache.hit(key)
    assert cache.keys() == []


def test_cache_is_bounded() -> None:
    cache = VerifiedCache(max_entries=3)
    keys = [cache.key("user", str(i), "hash") for i in range(5)]
    for key in keys:
        cache.add(key)
    assert cache.keys() == keys[2:]
    assert not cache.hit(keys[0])
    assert cache.hit(keys[4])


def test_cache_key_parts_do_not_run_together() -> None:
    cache = VerifiedCache()
    assert cache.key("ab", "c", "h") != cache.key("a", "bc", "h")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_bearer_token_works_until_revoked_on_both_databases(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Through HTTP: a live token lets its owner in with the owner's role, a wrong one does not,
    and a revoked one is refused at once (the check reads the database on every request)."""
    from app.db import db
    from tests import factories
    from tests.conftest import PASSWORD, migrated_app

    url = request.getfixturevalue("pg_url") if database == "postgresql" else None
    app = migrated_app(tmp_path, url)
    try:
        with db.write() as conn:
            factories.user(conn, "viewer", "viewer", PASSWORD)
            token = users.create_token(conn, "viewer")
        client = app.test_client()

        def status(secret: str, method: str = "GET") -> int:
            headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
            return client.open(
                "/unifiedconfig/config/bulkjob", method=method, headers=headers
            ).status_code

        assert status(token) == 200
        assert status(token, "POST") == 403  # a viewer's token carries the viewer's role
        assert status(token + "x") == 401
        with db.write() as conn:
            users.revoke_tokens(conn, token=token)
        assert status(token) == 401
    finally:
        db.dispose()
