"""Safe re-submission (docs/api.md, "Safe re-submission"): a create sent with an
``Idempotency-Key`` makes at most one job, however often it is repeated within 24 hours.

A key is remembered per user, with a SHA-256 of what defines the request (never the request
itself) and the job it made, in the transaction that creates the job: a refused request leaves
nothing behind. The primary key (owner, key) is what makes two requests racing with one key make
one job: on PostgreSQL the second's insert waits for the first's transaction and, once it has
committed, finds its row; on SQLite writers take turns (BEGIN IMMEDIATE), so the second begins
after the first has committed. Either way the second answers as the first did.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Insert, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.db import Database
from app.db.models import IdempotencyKey, table
from app.db.sql import db_now_ms, is_postgres
from app.exceptions import Conflict, IdempotencyKeyReused, InvalidInput

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME_HOURS = 24
LIFETIME_MS = LIFETIME_HOURS * 3600 * 1000
MAX_KEY_LENGTH = 255
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}")

keys = table(IdempotencyKey)


@dataclass
class Keyed:
    """A create sent with an Idempotency-Key: who sent it, the key and the request's hash.

    :func:`app.jobs.submit.submit` sets ``replayed`` when it answered from the key (the job is
    the one the first request made; nothing new was created)."""

    owner: str
    key: str
    request_hash: str
    replayed: bool = False


def check_key(value: str | None) -> str | None:
    """The key of a request's ``Idempotency-Key`` header (none: None); a key that is not 1 to
    255 printable ASCII characters is refused."""
    if value is None:
        return None
    if _KEY.fullmatch(value) is None:
        if not value:
            found = "is empty"
        elif len(value) > MAX_KEY_LENGTH:
            found = f"has {len(value)}"
        else:
            found = "holds others"
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID will "
            f"do); the one sent {found}",
            HEADER,
        )
    return value


def request_hash(*parts: str | bytes) -> str:
    """A SHA-256 of ``parts`` (each length-prefixed, so no two lists of parts share one)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def find(conn: Connection, keyed: Keyed) -> int | None:
    """The job the key already made (None: the key is new, or older than 24 hours); the key
    sent with another request is refused."""
    now = db_now_ms(conn)
    row = conn.execute(
        select(keys.c.request_hash, keys.c.job_id).where(
            keys.c.owner == keyed.owner,
            keys.c.idempotency_key == keyed.key,
            keys.c.create_ms > now - LIFETIME_MS,
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != keyed.request_hash:
        raise IdempotencyKeyReused(
            f"{HEADER} {keyed.key!r} was sent with another request (another body, content type "
            f"or path) in the last {LIFETIME_HOURS} hours; a new request needs a new key",
            HEADER,
        )
    if row.job_id is None:  # a row is committed with its job: this would be a bug, not a race
        raise Conflict(f"A request with {HEADER} {keyed.key!r} is still in progress", HEADER)
    return int(row.job_id)


def claim(conn: Connection, keyed: Keyed) -> int | None:
    """In the transaction that is to create the job: take the key (None: taken, create the job
    and :func:`bind` it), or the job it already made, if another request took it first."""
    now = db_now_ms(conn)
    expired = keys.c.create_ms <= now - LIFETIME_MS
    conn.execute(
        delete(keys).where(
            keys.c.owner == keyed.owner, keys.c.idempotency_key == keyed.key, expired
        )
    )
    values = {
        "owner": keyed.owner,
        "idempotency_key": keyed.key,
        "request_hash": keyed.request_hash,
        "job_id": None,
        "create_ms": now,
    }
    # Waits on PostgreSQL for a transaction holding the same key, then inserts nothing.
    inserted = conn.execute(_insert_new(conn).values(values).returning(keys.c.owner)).first()
    if inserted is not None:
        return None
    return find(conn, keyed)


def _insert_new(conn: Connection) -> Insert:
    dialect = postgresql if is_postgres(conn) else sqlite
    return dialect.insert(keys).on_conflict_do_nothing(
        index_elements=[keys.c.owner, keys.c.idempotency_key]
    )


def bind(conn: Connection, keyed: Keyed, job_id: int) -> None:
    """Record the job the key made (same transaction as :func:`claim`)."""
    conn.execute(
        update(keys)
        .where(keys.c.owner == keyed.owner, keys.c.idempotency_key == keyed.key)
        .values(job_id=job_id)
    )


def forget_expired(db: Database) -> int:
    """Remove keys older than 24 hours (the workers' sweep); how many went."""
    with db.write() as conn:
        cutoff = db_now_ms(conn) - LIFETIME_MS
        return int(conn.execute(delete(keys).where(keys.c.create_ms <= cutoff)).rowcount)
