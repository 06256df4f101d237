"""Users, roles and API tokens; checking credentials without re-hashing on every request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    func,
    insert,
    select,
    update,
)
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.roles import ROLES
from app.accounts.throttle import LoginThrottle
from app.db.models import ApiToken, User, table
from app.db.sql import DriverQuery, Read, first_rows, now_ms
from app.exceptions import FieldRequired, FieldTooLong, InvalidInput, NotFound

TOKEN_PREFIX = "bjt_"
USERNAME_MAX = 150
PASSWORD_METHOD = "scrypt"

users = table(User)
tokens = table(ApiToken)


@dataclass(frozen=True)
class Principal:
    """Who is calling, once their credentials have been checked."""

    username: str
    role: str


class VerifiedCache:
    """Recently verified Basic credentials, so a poller does not cost a password hash a request.

    A key is an HMAC, under a random per-process salt, of the user name, the password and the
    stored hash: it proves nothing outside this process, a changed password or hash misses, and
    nothing in here helps to recover a password.
    """

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 1024) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._salt = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, username: str, password: str, stored_hash: str) -> bytes:
        mac = hmac.new(self._salt, digestmod=hashlib.sha256)
        for part in (username, password, stored_hash):
            data = part.encode("utf-8", "surrogatepass")
            # Length-prefixed, so no two different triples feed the same bytes.
            mac.update(len(data).to_bytes(8, "big"))
            mac.update(data)
        return mac.digest()

    def hit(self, key: bytes) -> bool:
        now = time.monotonic()
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires <= now:
                del self._entries[key]
                return False
            return True

    def add(self, key: bytes) -> None:
        with self._lock:
            self._entries[key] = time.monotonic() + self.ttl_seconds
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def keys(self) -> list[bytes]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_verified = VerifiedCache()
_dummy_hash: str | None = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _find_user(conn: Connection, username: str) -> tuple[int, str, str, str] | None:
    """(id, username, role, password_hash) of the user named ``username``, any case."""
    row = conn.execute(
        select(users.c.id, users.c.username, users.c.role, users.c.password_hash).where(
            func.lower(users.c.username) == username.lower()
        )
    ).first()
    return None if row is None else (row.id, row.username, row.role, row.password_hash)


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def create_user(conn: Connection, username: str, role: str, password: str) -> None:
    """Add a user; the password is stored only as a scrypt hash."""
    username = username.strip()
    if not username:
        raise FieldRequired("username is required", "username")
    if len(username) > USERNAME_MAX:
        raise FieldTooLong(f"username is longer than {USERNAME_MAX} characters", "username")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}", "role")
    if not password:
        raise FieldRequired("password is required", "password")
    if _find_user(conn, username) is not None:
        raise InvalidInput(f"a user named {username} already exists", "username")
    conn.execute(
        insert(users).values(
            username=username,
            role=role,
            password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
            create_ms=now_ms(),
        )
    )


def create_token(conn: Connection, username: str) -> str:
    """A new bearer token for ``username``; only its SHA-256 is stored."""
    return issue_token(conn, username)[1]


def issue_token(conn: Connection, username: str) -> tuple[int, str]:
    """(id, token) of a new bearer token for ``username``: the id names it for revoking."""
    user = _find_user(conn, username)
    if user is None:
        raise NotFound(f"The user {username} does not exist", username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(
        insert(tokens)
        .values(user_id=user[0], token_hash=_hash_token(token), create_ms=now_ms())
        .returning(tokens.c.id)
    ).scalar_one()
    return int(token_id), token


def revoke_tokens(
    conn: Connection,
    token_id: int | None = None,
    token: str | None = None,
    username: str | None = None,
) -> list[int]:
    """Revoke one token (by id, or by its text) or every live token of a user; their ids.

    Revoked tokens are kept (marked), so their ids stay meaningful in an audit.
    """
    where: list[ColumnElement[bool]] = [tokens.c.revoked_ms.is_(None)]
    if token_id is not None:
        where.append(tokens.c.id == token_id)
    elif token is not None:
        where.append(tokens.c.token_hash == _hash_token(token.strip()))
    elif username is not None:
        user = _find_user(conn, username)
        if user is None:
            raise NotFound(f"The user {username} does not exist", username)
        where.append(tokens.c.user_id == user[0])
    else:
        raise FieldRequired("say which token to revoke", "token")
    ids = [int(row.id) for row in conn.execute(select(tokens.c.id).where(*where))]
    if ids:
        conn.execute(update(tokens).where(tokens.c.id.in_(ids)).values(revoked_ms=now_ms()))
    return ids


def authenticate_basic(engine: Engine, username: str, password: str) -> Principal | None:
    """The user whose name and password these are, or None."""
    if not username or not password:
        return None
    with engine.connect() as conn:
        user = _find_user(conn, username)
    if user is None or not user[3]:
        # Spend the same time as a real check, so a response does not tell which names exist.
        check_password_hash(_dummy(), password)
        return None
    _id, name, role, stored = user
    key = _verified.key(name, password, stored)
    if _verified.hit(key):
        return Principal(name, role)
    if not check_password_hash(stored, password):
        return None
    _verified.add(key)
    return Principal(name, role)


def authenticate_token(engine: Engine, token: str) -> Principal | None:
    """The owner of a live bearer token, or None: one indexed look-up."""
    return _check_token(engine, token, ())[0]


def bearer_owner(
    engine: Engine, header: str, read: Read
) -> tuple[Principal | None, tuple[dict[str, Any] | None]]:
    """The owner of the live bearer token in an Authorization header, and the first row of
    ``read``, in one round trip (docs/performance.md, "One round trip a poll"): (None, (None,))
    for anything else, counting nothing. The row is for a caller that checks the owner's role
    first; one that refuses on None must go through :func:`sign_in`, which throttles."""
    credentials = parse_authorization(header)
    if credentials is not None and credentials[0] == "bearer":
        principal, rows = _check_token(engine, credentials[2], (read,))
        if principal is not None:
            return principal, (rows[0],)
    return None, (None,)


def _check_token(
    engine: Engine, token: str, also: Sequence[Read]
) -> tuple[Principal | None, tuple[dict[str, Any] | None, ...]]:
    """The owner of a live bearer token (or None), and the rows of ``also``, read in the same
    round trip as the token (docs/performance.md, "One round trip a poll"): handed back only
    when the token is live, empty otherwise."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None, ()
    owner, *rows = first_rows(engine, _TOKEN_OWNER.read(token_hash=_hash_token(token)), *also)
    if owner is None:
        return None, ()
    return Principal(owner["username"], owner["role"]), tuple(rows)


# Every API request with a bearer token runs it (docs/performance.md).
_TOKEN_OWNER = DriverQuery(
    select(users.c.username, users.c.role)
    .join_from(tokens, users, users.c.id == tokens.c.user_id)
    .where(tokens.c.token_hash == bindparam("token_hash"), tokens.c.revoked_ms.is_(None))
)


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)
    return _dummy_hash


@dataclass(frozen=True)
class SignIn:
    """The outcome of checking an Authorization header: who, or how long to wait."""

    principal: Principal | None
    retry_after: int = 0


def parse_authorization(header: str) -> tuple[str, str | None, str] | None:
    """(scheme, user name or None, secret) from an Authorization header; None if there is none.

    A header that cannot be read is a failed attempt with an empty secret.
    """
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return "bearer", None, value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "basic", None, ""
        username, sep, password = decoded.partition(":")
        return "basic", username, password if sep else ""
    return None


def sign_in(
    engine: Engine,
    throttle: LoginThrottle,
    header: str,
    address: str,
    channel: str,
) -> SignIn:
    """Check Basic or bearer credentials, with failed attempts counted and throttled. A token is
    checked on every request: it works until revoked."""
    credentials = parse_authorization(header)
    if credentials is None:
        return SignIn(None)
    scheme, username, secret = credentials
    principal: Principal | None = None
    if scheme == "bearer":
        # A live token is a 256-bit secret nobody guesses: it is let in without consulting the
        # throttle (one round trip less on every poll). A wrong one is throttled as a password.
        principal = _check_token(engine, secret, ())[0]
        if principal is not None:
            return SignIn(principal)
    wait = throttle.retry_after(address, username)
    if wait:
        return SignIn(None, wait)
    if scheme == "basic" and username and secret:
        principal = authenticate_basic(engine, username, secret)
    if principal is None:
        throttle.failed(address, username, f"{channel} {scheme}")
    return SignIn(principal)
