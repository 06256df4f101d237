"""Real processes for end-to-end tests: Celery workers started and killed by process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")


def service_env(settings: Any, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        CELERY_BROKER_URL=settings.broker_url,
        DATA_DIR=str(settings.data_dir),
        SECRET_KEY="test-secret",
        BULKJOB_CHUNK_SIZE=str(settings.chunk_size),
        BULKJOB_LEASE_SECONDS=str(settings.lease_seconds),
        BULKJOB_SWEEP_SECONDS=str(settings.sweep_seconds),
        BULKJOB_REDISPATCH_SECONDS=str(settings.redispatch_seconds),
        BULKJOB_DB_RETRY_SECONDS=str(settings.db_retry_seconds),
        BULKJOB_MAINTENANCE_WINDOWS=settings.maintenance_windows,
        BULKJOB_NOTIFY_HOSTS=settings.notify_hosts,
        BULKJOB_NOTIFY_SECRET=settings.notify_secret,
        BULKJOB_NOTIFY_TRIES=str(settings.notify_tries),
        BULKJOB_NOTIFY_BACKOFF_SECONDS=str(settings.notify_backoff_seconds),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Worker:
    """One ``celery worker`` process (and its pool children) in a process group of its own."""

    def __init__(self, settings: Any, name: str, log_dir: Path, concurrency: int = 1) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        env = service_env(settings, BULKJOB_HOST_NAME=name)
        self.process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "worker:celery_app",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.output()}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} not ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_group(self.process)
        self._log.close()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a process started in a session of its own, and its children; SIGKILL after 10 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_final(
    client: FlaskClient, headers: dict[str, str], location: str, timeout: float = 60
) -> dict[str, Any]:
    """Poll a job (JSON) until it is no longer Queued or Processing."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(location, headers={**headers, "Accept": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        job = response.get_json()
        if job["jobState"] not in (1, 2):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job did not finish: {job}")


class RedisServer:
    """A private redis-server on a free port, so a test can kill and restart its broker."""

    def __init__(self, log_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.log_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
