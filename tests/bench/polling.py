"""Polling: ``GET /bulkjob/<id>`` with a bearer token, JSON, under wrk ``-t2 -c64``, beside a
bare Flask JSON endpoint (tests/bench/bare_flask.py) under the same gunicorn settings
(``WEB_CONCURRENCY`` workers, as the Procfile runs the web process), alternating, in one run.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.db import db
from tests.bench.scim_bulk import BIN, _spawn, free_port
from tests.db.round_trips import round_trips
from tests.live import service_env, stop_group

WEB_CONCURRENCY = 4
DURATION = "10s"
ROUNDS = 3
COUNTED = 100  # polls whose round trips to the database are counted

_REQUESTS = re.compile(r"Requests/sec:\s+([\d.]+)")
_P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_DONE = re.compile(r"(\d+) requests in ")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


@contextlib.contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str] | None, log_path: Path
) -> Iterator[tuple[int, int]]:
    """gunicorn serving ``app_spec``: (its port, its master's pid)."""
    port = free_port()
    process = _spawn(
        [str(BIN / "gunicorn"), "-w", str(WEB_CONCURRENCY), "-b", f"127.0.0.1:{port}", app_spec],
        log_path,
        env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            if time.monotonic() > deadline:
                raise TimeoutError(log_path.read_text())
            time.sleep(0.1)
        yield port, process.pid
    finally:
        stop_group(process)


def _cpu_seconds(master_pid: int) -> float:
    """User + system CPU seconds the gunicorn master's workers have used so far."""
    total = 0.0
    for child in psutil.Process(master_pid).children():
        times = child.cpu_times()
        total += times.user + times.system
    return total


def wrk(url: str, headers: dict[str, str], master_pid: int) -> dict[str, Any]:
    """One wrk run: requests/s, p99 in ms, errors (non-2xx answers or socket errors), and the
    CPU time the server's workers spent per request, in microseconds."""
    args = ["wrk", "-t2", "-c64", f"-d{DURATION}", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    cpu_before = _cpu_seconds(master_pid)
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(master_pid) - cpu_before
    rate = _REQUESTS.search(out)
    done = _DONE.search(out)
    p99 = _P99.search(out)
    if rate is None or p99 is None or done is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = sum(int(m.group(1)) if m.group(1) else 1 for m in _ERRORS.finditer(out))
    return {
        "rps": float(rate.group(1)),
        "p99_ms": float(p99.group(1)) * scale,
        "errors": errors,
        "cpu_us": cpu / max(int(done.group(1)), 1) * 1e6,
    }


def polling_benchmark(settings: Any, token: str, job_id: int, work: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    path = f"/unifiedconfig/config/bulkjob/{job_id}"
    ours_env = service_env(settings, BULKJOB_HOST_NAME="bench-web")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with (
        gunicorn("app:create_app()", ours_env, work / "ours.log") as (ours_port, ours_pid),
        gunicorn("tests.bench.bare_flask:app", None, work / "bare.log") as (bare_port, bare_pid),
    ):
        check = httpx.get(f"http://127.0.0.1:{ours_port}{path}", headers=headers)
        check.raise_for_status()
        bare_headers = {"Accept": "application/json"}
        for _ in range(ROUNDS):
            ours.append(wrk(f"http://127.0.0.1:{ours_port}{path}", headers, ours_pid))
            bare.append(wrk(f"http://127.0.0.1:{bare_port}{path}", bare_headers, bare_pid))
    return {
        "ours_rps": statistics.median(r["rps"] for r in ours),
        "ours_p99_ms": statistics.median(r["p99_ms"] for r in ours),
        "ours_errors": sum(r["errors"] for r in ours),
        "bare_rps": statistics.median(r["rps"] for r in bare),
        "bare_p99_ms": statistics.median(r["p99_ms"] for r in bare),
        "bare_errors": sum(r["errors"] for r in bare),
        "ours_cpu_us": statistics.median(r["cpu_us"] for r in ours),
        "bare_cpu_us": statistics.median(r["cpu_us"] for r in bare),
        # Each round's p99, ours beside the bare endpoint's right after it.
        "p99_pairs": [(o["p99_ms"], b["p99_ms"]) for o, b in zip(ours, bare, strict=True)],
    }


def round_trips_a_poll(app: Any, token: str, job_id: int) -> float:
    """The database round trips a poll makes (the same request, through the app in this
    process: a figure that does not depend on the machine's load)."""
    client = app.test_client()
    path = f"/unifiedconfig/config/bulkjob/{job_id}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for _ in range(10):  # opens the reader; psycopg prepares a statement on its 6th run
        assert client.get(path, headers=headers).status_code == 200
    with round_trips(db.engine) as sent:
        for _ in range(COUNTED):
            assert client.get(path, headers=headers).status_code == 200
    return len(sent) / COUNTED
