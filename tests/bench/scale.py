"""Listing and scraping with 100,000 jobs stored (``flask demo-data --jobs``), on SQLite and
PostgreSQL: the first page of ``GET /bulkjob``, a description search, a ``jobState:`` filter
and a ``/metrics`` scrape, each timed in process (median of 7 after one warm-up), so the
figure is the server's own work; then the same requests over HTTP to gunicorn as the Procfile
runs it (one client, keep-alive), where users meet them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.accounts import users
from app.db import db
from app.jobs import history
from tests.bench.polling import gunicorn
from tests.live import service_env

JOBS = 100_000
RUNS = 7
API = "/unifiedconfig/config/bulkjob"
QUERIES = {
    "first page": API,
    "description search": f"{API}?q=Retention%20North",
    "jobState filter": f"{API}?q=jobState:4",
}


def scale_benchmark(app: Any, work: Path) -> dict[str, dict[str, float]]:
    """``app``: migrated, empty of jobs. Loads the history, then times each request (ms) in
    process and over HTTP."""
    with db.write() as conn:
        history.load_history(conn, JOBS, seed=11)
        token = users.create_token(conn, "bench")
    db.dispose()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    client = app.test_client()
    in_process = _timed(lambda url: client.get(url, headers=headers).status_code)
    db.dispose()
    env = service_env(app.config["SETTINGS"], BULKJOB_HOST_NAME="bench-web")
    with gunicorn("app:create_app()", env, work / "scale-web.log") as (port, _pid):
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers)
        try:
            over_http = _timed(lambda url: http.get(url).status_code)
        finally:
            http.close()
    return {"in process": in_process, "over HTTP": over_http}


def _timed(get: Callable[[str], int]) -> dict[str, float]:
    """Each request's median time (ms) over ``RUNS``, after one warm-up."""
    figures = {}
    for name, url in [*QUERIES.items(), ("metrics scrape", "/metrics")]:
        times = []
        for _ in range(RUNS + 1):
            started = time.perf_counter()
            status = get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, f"{url}: {status}"
        figures[name] = statistics.median(times[1:])
    return figures
