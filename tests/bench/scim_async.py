"""Asynchronous SCIM Bulk (``Prefer: respond-async``) beside the synchronous one: the same 1,000
user creates, through gunicorn, with a real Celery worker running the bulk job. The
asynchronous time runs from the POST to the job's final state as a poller sees it (every
5 ms), then the BulkResponse is fetched and every operation checked (201).
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from tests.bench.scim_bulk import (
    OPERATIONS,
    RUNS,
    SCIM_JSON,
    bulk_request,
    running,
    send,
    start_ours,
)
from tests.live import Worker

FINAL = (3, 4, 5, 6)


def send_async(client: httpx.Client, bulk_url: str, headers: dict[str, str], tag: str) -> float:
    """POST one BulkRequest as a job; seconds until its final state, after checking it."""
    body = bulk_request(tag)
    started = time.perf_counter()
    response = client.post(
        bulk_url,
        content=body,
        headers={
            **headers,
            "Content-Type": SCIM_JSON,
            "Accept": SCIM_JSON,
            "Prefer": "respond-async",
        },
    )
    assert response.status_code == 202, response.text[:500]
    location = response.headers["Location"]
    json_headers = {**headers, "Accept": "application/json"}
    while True:
        job = client.get(location, headers=json_headers).json()
        if job["jobState"] in FINAL:
            break
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    assert job["succeededRecords"] == OPERATIONS, job
    document = client.get(f"{location}/response", headers=headers).json()
    assert [str(op["status"]) for op in document["Operations"]] == ["201"] * OPERATIONS
    return elapsed


def async_benchmark(app: Any, token: str, work: Path) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = app.config["SETTINGS"]
    ours = start_ours(settings, token, work)
    worker = Worker(settings, "bench-scim-worker", work)
    sync_times: list[float] = []
    async_times: list[float] = []
    with running(ours), httpx.Client(timeout=300) as client:
        try:
            ours.wait_ready(client)
            worker.wait_ready(60)
            send(client, ours, "warm-sync", operations=10)
            send_async(client, ours.bulk_url, ours.headers, "warm-async")
            for run in range(RUNS):
                sync_times.append(send(client, ours, f"s{run}"))
                async_times.append(send_async(client, ours.bulk_url, ours.headers, f"a{run}"))
        finally:
            worker.stop()
    return {
        "sync": statistics.median(sync_times),
        "async": statistics.median(async_times),
    }
