"""Rate limiting of failed sign-ins, shared by every web process that can see the same store.

The rule (docs/security.md, "Failed sign-ins are rate limited"): after ``limit`` failures within
``window`` seconds from one client address, that address is refused (429) for ``block`` seconds,
whatever credentials it sends. After ``limit`` failures for one user name (from anywhere), that
name is refused for ``block`` seconds from every address that failed for it; an address with no
failure for the name is still checked, so the real owner signing in from elsewhere gets in, while
each new address an attacker brings gets one guess. A success resets nothing: one valid account
must not buy more guesses.

Counters live in Redis when the broker is Redis (every node shares them), else in a small SQLite
file under DATA_DIR (every process on this machine shares it: the embedded default). If the
store fails, sign-ins are not refused for it (logged): an outage must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import redis

logger = logging.getLogger(__name__)

STORE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, sqlite3.Error)


class Store(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one event under ``key``; the count within the window that began at the first."""

    def block(self, key: str, seconds: int) -> None:
        """Mark ``key`` blocked for ``seconds``."""

    def remaining(self, keys: list[str]) -> list[float]:
        """Seconds each key's block or window has left (0: none)."""


class RedisStore:
    """Counters as Redis keys that expire on their own."""

    def __init__(self, url: str, prefix: str = "bulkjob:throttle:") -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def hit(self, key: str, window: int) -> int:
        name = self.prefix + key
        pipe = self.client.pipeline(transaction=True)
        pipe.set(name, 0, ex=window, nx=True)
        pipe.incr(name)
        return int(pipe.execute()[1])

    def block(self, key: str, seconds: int) -> None:
        self.client.set(self.prefix + key, 1, ex=seconds)

    def remaining(self, keys: list[str]) -> list[float]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(self.prefix + key)
        return [max(0, int(ms)) / 1000 for ms in pipe.execute()]


class SqliteStore:
    """Counters in one SQLite file: shared by every process on this machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS throttle "
                "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def hit(self, key: str, window: int) -> int:
        now = time.time()
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM throttle WHERE expires <= ?", (now,))
            row = conn.execute(
                "INSERT INTO throttle (key, count, expires) VALUES (?, 1, ?) "
                "ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
                (key, now + window),
            ).fetchone()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(row[0])

    def block(self, key: str, seconds: int) -> None:
        self._connect().execute(
            "INSERT INTO throttle (key, count, expires) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET count = 1, expires = excluded.expires",
            (key, time.time() + seconds),
        )

    def remaining(self, keys: list[str]) -> list[float]:
        now = time.time()
        marks = ", ".join("?" for _ in keys)
        rows = self._connect().execute(
            f"SELECT key, expires FROM throttle WHERE key IN ({marks}) AND expires > ?",
            (*keys, now),
        )
        left = {key: expires - now for key, expires in rows}
        return [left.get(key, 0.0) for key in keys]


@dataclass
class LoginThrottle:
    """Decides whether a sign-in may be tried, and records the ones that failed."""

    store: Store | None = None
    limit: int = 10
    window: int = 60
    block_seconds: int = 60

    def bind(self, store: Store, limit: int, window: int, block_seconds: int) -> None:
        self.store, self.limit, self.window = store, limit, window
        self.block_seconds = block_seconds

    def retry_after(self, address: str, username: str | None) -> int:
        """Seconds this caller must wait before trying (0: go ahead and check)."""
        if self.store is None:
            return 0
        keys = [_key("block:addr", address)]
        if username:
            keys += [_key("block:user", username.lower()), _pair("fail:pair", username, address)]
        try:
            left = self.store.remaining(keys)
        except STORE_ERRORS:
            logger.warning("Sign-in throttle store unavailable; not throttling", exc_info=True)
            return 0
        wait = left[0]
        if username and left[1] > 0 and left[2] > 0:
            wait = max(wait, left[1])
        return int(wait + 0.999) if wait > 0 else 0

    def failed(self, address: str, username: str | None, how: str) -> None:
        """Log one failed sign-in (never the secret) and count it."""
        logger.warning(
            "Authentication failed (%s) for user %r from %s", how, (username or "")[:150], address
        )
        if self.store is None:
            return
        try:
            if self.store.hit(_key("fail:addr", address), self.window) >= self.limit:
                self._block(_key("block:addr", address), f"address {address}")
            if username:
                pair_ttl = self.window + self.block_seconds  # outlives any block it is part of
                self.store.hit(_pair("fail:pair", username, address), pair_ttl)
                if self.store.hit(_key("fail:user", username.lower()), self.window) >= self.limit:
                    self._block(_key("block:user", username.lower()), f"user {username[:150]!r}")
        except STORE_ERRORS:
            logger.warning("Sign-in throttle store unavailable; failure not counted", exc_info=True)

    def _block(self, key: str, what: str) -> None:
        assert self.store is not None
        self.store.block(key, self.block_seconds)
        logger.warning(
            "Too many failed sign-ins for %s: refused for %d s", what, self.block_seconds
        )


def store_for(broker_url: str, data_dir: Path) -> Store:
    """Redis when the broker is Redis (shared by every node), else a file under DATA_DIR."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(broker_url)
    return SqliteStore(data_dir / "throttle.sqlite")


def _key(kind: str, value: str) -> str:
    # Hashed: bounded length, and no caller-chosen bytes in the store's key names.
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def _pair(kind: str, username: str, address: str) -> str:
    return _key(kind, f"{username.lower()}\n{address}")


# Failed sign-ins, counted where every web process sees them; bound in create_app.
login_throttle = LoginThrottle()
