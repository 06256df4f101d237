"""A notification when a job ends (docs/concepts.md, "Notification when a job ends").

When a job reaches a final state, the transaction that says so also writes a row in
``job_notifications`` (``store.record_notification``): nothing is lost if the broker is down
then, because the sweep sends every due row again. A delivery is a Celery task of its own: it
never delays or fails the job. Each try first moves the row's ``next_ms`` on (a conditional
UPDATE), so two messages for one delivery cannot both send at once; a receiver may still get a
delivery twice (at least once) and dedupes on ``deliveryId``.

Each delivery is signed: ``X-Bulkjob-Timestamp`` (seconds since the epoch) and
``X-Bulkjob-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body">`` under
BULKJOB_NOTIFY_SECRET. Only the hosts of BULKJOB_NOTIFY_HOSTS may be named, and the address the
URL's host resolves to when sending must be one of theirs (names in the list are resolved once
per process): the request goes to that very address, so a name that later points elsewhere is
refused. Redirects are not followed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import func, or_, select, update

from app.config import Settings
from app.db import Database
from app.db.models import Job, JobLine, JobNotification, table
from app.db.sql import now_ms
from app.exceptions import InvalidInput
from app.jobs.store import add_event

if TYPE_CHECKING:
    from flask import Flask

NOTIFY = "worker.tasks.notify"
EVENT = "job.finished"
MAX_URL = 2048

jobs = table(Job)
lines = table(JobLine)
notifications = table(JobNotification)
log = logging.getLogger(__name__)


class Refused(Exception):
    """The URL may not be sent to (not allowed, or resolves to an address not allowed)."""


def _entries(hosts: str) -> list[tuple[str, int | None]]:
    """BULKJOB_NOTIFY_HOSTS as (host, port or None) pairs, hosts lower-cased."""
    found = []
    for item in hosts.split(","):
        item = item.strip().lower()
        if not item:
            continue
        parts = urlsplit(f"//{item}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname:
            found.append((parts.hostname, port))
    return found


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or InvalidInput."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("notifyURL has an invalid port", "notifyURL") from None
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("notifyURL must be an absolute http or https URL", "notifyURL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("notifyURL must not hold credentials", "notifyURL")
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def _named(entries: list[tuple[str, int | None]], host: str, port: int) -> bool:
    return any(host == h and p in (None, port) for h, p in entries)


def check_url(settings: Settings, url: str | None) -> str | None:
    """The notifyURL to store (None when none was given), or InvalidInput naming it."""
    if url is None or url.strip() == "":
        return None
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"notifyURL must be at most {MAX_URL} characters", "notifyURL")
    _scheme, host, port = _split(url)
    entries = _entries(settings.notify_hosts)
    if not entries or not settings.notify_secret:
        raise InvalidInput(
            "notifyURL is not allowed: the operator allows no notification hosts "
            "(BULKJOB_NOTIFY_HOSTS and BULKJOB_NOTIFY_SECRET)",
            "notifyURL",
        )
    if not _named(entries, host, port):
        raise InvalidInput(
            f"notifyURL's host {host}:{port} is not one the operator allows", "notifyURL"
        )
    return url


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} does not resolve: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.lru_cache(maxsize=8)
def _allowed_addresses(hosts: str) -> frozenset[tuple[str, int | None]]:
    """The allowed (address, port or None), the list's names resolved once per process."""
    found: set[tuple[str, int | None]] = set()
    for host, port in _entries(hosts):
        if _is_address(host):
            found.add((host, port))
            continue
        try:
            found.update((address, port) for address in resolve(host, port or 0))
        except Refused:
            log.warning("notification host %s does not resolve", host)
    return frozenset(found)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def pinned(settings: Settings, url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by an allowed address it resolves to now, the Host
    header to send, and httpx's extensions (the TLS name); Refused otherwise."""
    scheme, host, port = _split(url)
    if not settings.notify_secret:
        raise Refused("BULKJOB_NOTIFY_SECRET is not set: nothing is sent unsigned")
    if not _named(_entries(settings.notify_hosts), host, port):
        raise Refused(f"{host}:{port} is no longer an allowed notification host")
    allowed = _allowed_addresses(settings.notify_hosts)
    addresses = resolve(host, port)
    good = [a for a in addresses if (a, port) in allowed or (a, None) in allowed]
    if not good:
        raise Refused(f"{host} resolves to {', '.join(addresses)}, not an allowed address")
    address = f"[{good[0]}]" if ":" in good[0] else good[0]
    parts = urlsplit(url)
    target = urlunsplit((scheme, f"{address}:{port}", parts.path or "/", parts.query, ""))
    return target, {"Host": parts.netloc.rsplit("@", 1)[-1]}, {"sni_hostname": host}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(settings: Settings, url: str, body: bytes) -> int:
    target, headers, extensions = pinned(settings, url)
    timestamp = str(int(time.time()))
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": "bulkjob-notify",
            "X-Bulkjob-Timestamp": timestamp,
            "X-Bulkjob-Signature": signature(settings.notify_secret, timestamp, body),
        }
    )
    with httpx.Client(
        follow_redirects=False, timeout=settings.notify_timeout_seconds, trust_env=False
    ) as client:
        response = client.post(target, content=body, headers=headers, extensions=extensions)
    return response.status_code


def _last_line(conn: Any, job_id: int) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.max(lines.c.line_number), 0)).where(lines.c.job_id == job_id)
        ).scalar_one()
    )


def deliver(
    db: Database,
    settings: Settings,
    notification_id: int,
    represent: Callable[[Any], Mapping[str, Any]],
) -> float | None:
    """One try of one delivery; the seconds until the next try, or None when there is none."""
    now = now_ms()
    hold = int((settings.notify_timeout_seconds + 30) * 1000)
    with db.write() as conn:
        row = conn.execute(
            select(notifications).where(notifications.c.id == notification_id)
        ).first()
        if row is None or row.done_ms is not None:
            return None
        claimed = conn.execute(
            update(notifications)
            .where(
                notifications.c.id == notification_id,
                notifications.c.done_ms.is_(None),
                notifications.c.next_ms <= now,
            )
            .values(attempts=notifications.c.attempts + 1, next_ms=now + hold)
        )
        if claimed.rowcount != 1:
            return None  # another message is trying it, or it is not due yet
        job = conn.execute(select(jobs).where(jobs.c.id == row.job_id)).first()
        if job is None:
            return None
        payload = {**represent(job), "event": EVENT, "deliveryId": row.delivery_id}
    attempt = row.attempts + 1
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        status = _post(settings, row.url, body)
        problem = None if 200 <= status < 300 else f"answered {status}"
    except Refused as exc:
        status, problem = 0, f"refused: {exc}"
    except httpx.HTTPError as exc:
        status, problem = 0, f"{type(exc).__name__}: {exc}"
    delay = settings.notify_backoff_seconds * 2 ** (attempt - 1)
    finished = problem is None or attempt >= settings.notify_tries
    with db.write() as conn:
        done = now_ms()
        values: dict[str, Any] = {"done_ms": done} if finished else {"next_ms": done + delay * 1000}
        conn.execute(
            update(notifications).where(notifications.c.id == notification_id).values(**values)
        )
        if problem is None:
            message = f"Notification sent to {row.url} ({status})"
        elif finished:
            message = f"Notification to {row.url} failed after {attempt} tries: {problem}"
        else:
            message = ""
            log.info("notification %s to %s: try %s %s", notification_id, row.url, attempt, problem)
        if message:
            add_event(conn, row.job_id, message, after_line=_last_line(conn, row.job_id), now=done)
    return None if finished else delay


def dispatch(app: Flask, notification_id: int, countdown: float | None = None) -> bool:
    """Send "deliver notification N" to a worker; False when the broker refused it."""
    try:
        app.extensions["celery"].send_task(NOTIFY, args=[notification_id], countdown=countdown)
    except Exception:  # the broker is down: the sweep sends it later
        log.warning("could not queue notification %s", notification_id, exc_info=True)
        return False
    return True


def mark_dispatched(db: Database, notification_id: int, dispatched: bool = True) -> None:
    """Record that a message was (or, when the broker refused it, was not) sent."""
    with db.write() as conn:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id)
            .values(dispatched_ms=now_ms() if dispatched else None)
        )


def unmark_dispatched(db: Database, notification_id: int) -> None:
    mark_dispatched(db, notification_id, dispatched=False)


def send_pending(app: Flask, db: Database, job_id: int) -> None:
    """After a job's final state committed: send its deliveries not sent yet."""
    with db.read() as conn:
        ids = conn.execute(
            select(notifications.c.id).where(
                notifications.c.job_id == job_id,
                notifications.c.done_ms.is_(None),
                notifications.c.dispatched_ms.is_(None),
            )
        ).scalars()
        pending = list(ids)
    for notification_id in pending:
        if dispatch(app, notification_id):
            mark_dispatched(db, notification_id)


def due(db: Database, settings: Settings, limit: int = 100) -> list[int]:
    """Deliveries to send again (the broker lost them, or was down), each marked as sent now."""
    now = now_ms()
    stale = now - settings.redispatch_seconds * 1000
    not_recent = or_(notifications.c.dispatched_ms.is_(None), notifications.c.dispatched_ms < stale)
    chosen = []
    with db.write() as conn:
        candidates = conn.execute(
            select(notifications.c.id)
            .where(notifications.c.done_ms.is_(None), notifications.c.next_ms <= now, not_recent)
            .order_by(notifications.c.next_ms)
            .limit(limit)
        ).scalars()
        for notification_id in list(candidates):
            result = conn.execute(
                update(notifications)
                .where(notifications.c.id == notification_id, not_recent)
                .values(dispatched_ms=now)
            )
            if result.rowcount == 1:
                chosen.append(notification_id)
    return chosen
