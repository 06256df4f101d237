"""Real processes for end-to-end tests: Celery workers and gunicorn web nodes started and killed
by process group, a private redis-server, a private PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
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
        SECRET_KEY=settings.secret(),  # every node shares it (agent passwords, sessions)
        BULKJOB_CHUNK_SIZE=str(settings.chunk_size),
        BULKJOB_LEASE_SECONDS=str(settings.lease_seconds),
        BULKJOB_SWEEP_SECONDS=str(settings.sweep_seconds),
        BULKJOB_REDISPATCH_SECONDS=str(settings.redispatch_seconds),
        BULKJOB_DB_RETRY_SECONDS=str(settings.db_retry_seconds),
        BULKJOB_MAINTENANCE_WINDOWS=settings.maintenance_windows,
        BULKJOB_MAX_ATTEMPTS=str(settings.max_attempts),
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

    def __init__(
        self,
        settings: Any,
        name: str,
        log_dir: Path,
        concurrency: int = 1,
        clock: str | None = None,
    ) -> None:
        """``clock``: run the worker under Debian's ``faketime -f CLOCK`` (e.g. ``+120``: its
        clock two minutes ahead of everyone else's)."""
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._ready_before = (
            self.log_path.read_bytes().count(b"ready.") if self.log_path.exists() else 0
        )
        self._log = self.log_path.open("ab")
        env = service_env(settings, BULKJOB_HOST_NAME=name)
        prefix = ["faketime", "-f", clock] if clock else []
        if clock:
            # The wall clock is off, as on a machine whose NTP is broken; the monotonic clock is
            # not (faked, it would put every timed wait's deadline out of the kernel's reach).
            env["DONT_FAKE_MONOTONIC"] = "1"
        self.process = subprocess.Popen(
            [
                *prefix,
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
            if self.log_path.read_bytes().count(b"ready.") > self._ready_before:
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class WebNode:
    """One gunicorn web node (``-w workers``) on a free port, in a process group of its own."""

    def __init__(self, settings: Any, name: str, log_dir: Path, workers: int = 2) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--timeout",
                "60",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=service_env(settings, BULKJOB_HOST_NAME=name),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        wait_for_port(self.port, timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_group(self.process)
        self._log.close()


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian's layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/"))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """A private, throwaway PostgreSQL cluster (trust auth, a free port) that a test may stop and
    start again without touching anyone else's server. Run as the ``postgres`` user when we are
    root (initdb refuses root)."""

    def __init__(self, bin_dir: Path) -> None:
        import tempfile

        self.bin_dir = bin_dir
        # Not under pytest's tmp_path: its parents are private to root, out of postgres's reach.
        self.root = Path(tempfile.mkdtemp(prefix="bulkjob-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin_dir / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off -c max_connections=200"
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        wait_for_port(self.port)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
