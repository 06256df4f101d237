"""Listing and scraping with 100,000 jobs stored (``flask demo-data --jobs``), on SQLite and
PostgreSQL: the first page of ``GET /bulkjob``, a description search, a ``jobState:`` filter
and a ``/metrics`` scrape, each timed in process (median of 7 after one warm-up), so the
figure is the server's own work.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from app.accounts import users
from app.db import db
from app.jobs import history

JOBS = 100_000
RUNS = 7
API = "/unifiedconfig/config/bulkjob"
QUERIES = {
    "first page": API,
    "description search": f"{API}?q=Retention%20North",
    "jobState filter": f"{API}?q=jobState:4",
}


def scale_benchmark(app: Any) -> dict[str, float]:
    """``app``: migrated, empty of jobs. Loads the history, then times each request (ms)."""
    with db.write() as conn:
        history.load_history(conn, JOBS, seed=11)
        token = users.create_token(conn, "bench")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    figures = {}
    for name, url in [*QUERIES.items(), ("metrics scrape", "/metrics")]:
        times = []
        for _ in range(RUNS + 1):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        figures[name] = statistics.median(times[1:])
    db.dispose()
    return figures
