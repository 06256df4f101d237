"""Every setting, read from the environment in one place, with safe defaults.

Nothing else in the code base reads ``os.environ``; it reads ``app.config`` or a
:class:`Settings` built here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MAX_FILE_BYTES = 3 * 1024 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
# The names Python's logging knows; the first is the default.
LOG_LEVELS = ("INFO", "DEBUG", "WARNING", "WARN", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message names the variable and the value.
    Every process stops on one at start-up with that one line (:func:`app.load_settings`)."""

    def __init__(self, name: str, raw: str | None, why: str) -> None:
        # A value that may hold a password (DATABASE_URL) is not repeated: raw is None.
        super().__init__(f"{name}: {why}" if raw is None else f"{name}={raw!r}: {why}")
        self.name = name


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(name, raw, "must be a whole number") from exc


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return _int(env, name, 0)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(name, raw, "must be a number") from exc


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case-insensitive); the first when unset."""
    raw = env.get(name) or ""
    value = raw.strip().lower()
    if not value:
        return choices[0]
    if value not in choices:
        raise SettingsError(name, raw, f"must be one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    """The service's configuration; ``from_env`` is the only reader of the environment."""

    data_dir: Path = Path("instance")
    database_url: str = ""
    broker_url: str = ""
    secret_key: str = ""
    host_name: str = field(default_factory=socket.gethostname)
    chunk_size: int = 1000
    lease_seconds: int = 30
    sweep_seconds: float = 5.0
    redispatch_seconds: int = 20
    db_retry_seconds: int = 60
    maintenance_windows: str = ""
    # A job whose runs died this many times in a row before committing a chunk is failed.
    max_attempts: int = 5
    template_limit: int = 12000
    max_file_bytes: int = MAX_FILE_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    log_level: str = "INFO"
    # "text", or "json": one JSON object a line, plus a line per HTTP request.
    log_format: str = "text"
    # SCIM 2.0: the peripheral of users created without one; None: the lowest peripheral id.
    scim_default_peripheral: int | None = None
    # Failed sign-ins: this many within the window (s) refuse the address or name for block (s).
    auth_failure_limit: int = 10
    auth_failure_window: int = 60
    auth_block_seconds: int = 60
    # Reverse proxies in front that set X-Forwarded-For/-Proto (0: trust no such header).
    proxy_hops: int = 0
    # Notifications when a job ends: the hosts (host or host:port) a notifyURL may name (none:
    # every notifyURL is refused), the HMAC key signing each delivery, and its retries (tries
    # in all; the first retry after backoff seconds, each next one after twice the previous).
    notify_hosts: str = ""
    notify_secret: str = ""
    notify_tries: int = 6
    notify_backoff_seconds: float = 30.0
    notify_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("DATA_DIR") or "instance").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'bulkjob.sqlite'}"
        # Heroku-style URLs say postgres://; SQLAlchemy wants a driver name.
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        try:
            make_url(database_url)
        except ArgumentError:
            raise SettingsError(
                "DATABASE_URL", None, "is not a database URL (dialect+driver://user@host/name)"
            ) from None
        broker_url = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "filesystem://"
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            broker_url=broker_url,
            secret_key=env.get("SECRET_KEY") or "",
            host_name=env.get("BULKJOB_HOST_NAME") or socket.gethostname(),
            chunk_size=max(1, _int(env, "BULKJOB_CHUNK_SIZE", 1000)),
            lease_seconds=max(2, _int(env, "BULKJOB_LEASE_SECONDS", 30)),
            sweep_seconds=max(0.2, _float(env, "BULKJOB_SWEEP_SECONDS", 5.0)),
            redispatch_seconds=max(1, _int(env, "BULKJOB_REDISPATCH_SECONDS", 20)),
            db_retry_seconds=max(0, _int(env, "BULKJOB_DB_RETRY_SECONDS", 60)),
            maintenance_windows=env.get("BULKJOB_MAINTENANCE_WINDOWS") or "",
            max_attempts=max(1, _int(env, "BULKJOB_MAX_ATTEMPTS", 5)),
            template_limit=max(1, _int(env, "BULKJOB_TEMPLATE_LIMIT", 12000)),
            log_level=_choice(env, "LOG_LEVEL", tuple(n.lower() for n in LOG_LEVELS)).upper(),
            log_format=_choice(env, "LOG_FORMAT", ("text", "json")),
            scim_default_peripheral=_optional_int(env, "SCIM_DEFAULT_PERIPHERAL"),
            auth_failure_limit=max(1, _int(env, "BULKJOB_AUTH_FAILURE_LIMIT", 10)),
            auth_failure_window=max(1, _int(env, "BULKJOB_AUTH_FAILURE_WINDOW", 60)),
            auth_block_seconds=max(1, _int(env, "BULKJOB_AUTH_BLOCK_SECONDS", 60)),
            proxy_hops=max(0, _int(env, "BULKJOB_PROXY_HOPS", 0)),
            notify_hosts=env.get("BULKJOB_NOTIFY_HOSTS") or "",
            notify_secret=env.get("BULKJOB_NOTIFY_SECRET") or "",
            notify_tries=max(1, _int(env, "BULKJOB_NOTIFY_TRIES", 6)),
            notify_backoff_seconds=max(0.01, _float(env, "BULKJOB_NOTIFY_BACKOFF_SECONDS", 30.0)),
            notify_timeout_seconds=max(0.1, _float(env, "BULKJOB_NOTIFY_TIMEOUT_SECONDS", 10.0)),
        )

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)

    def secret(self) -> str:
        """The SECRET_KEY, or one generated once and kept under DATA_DIR."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(os.urandom(32).hex())
            path.chmod(0o600)
        return path.read_text().strip()
