"""A 1,000-operation SCIM Bulk of user creates: our ``POST /scim/v2/Bulk`` beside scim2-server.

Both servers run as real processes on loopback: ours under gunicorn (one sync worker) over an
SQLite file with the WAL default, scim2-server 0.8.3 in memory (``scim2-server --port N``, its
default RFC 7643 schemas, User and Group resource types and a ServiceProviderConfig with Bulk
supported). Each gets the same BulkRequest, with fresh user names per run; the runs alternate
between the two servers so that noise falls on both. Only the HTTP round trip is timed. Every
operation must answer 201 with its ``bulkId`` and a ``location``, and afterwards our users must
be in the database file, read by a separate ``sqlite3`` connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.live import ROOT, service_env, stop_group

OPERATIONS = 1000
RUNS = 5
BIN = Path(sys.executable).parent
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SCIM_JSON = "application/scim+json"


def bulk_request(tag: str, operations: int = OPERATIONS) -> bytes:
    """A BulkRequest of ``operations`` user creates; ``tag`` makes the names unique per run."""
    ops = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{n}",
            "data": {
                "schemas": [USER],
                "userName": f"bench.{tag}.user{n}",
                "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
                "externalId": f"ext-{tag}-{n}",
                "emails": [
                    {"value": f"bench.{tag}.user{n}@example.com", "type": "work", "primary": True}
                ],
            },
        }
        for n in range(1, operations + 1)
    ]
    return json.dumps({"schemas": [BULK_REQUEST], "Operations": ops}).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A server process in a process group of its own, and the URL of its /Bulk."""

    name: str
    process: subprocess.Popen[bytes]
    bulk_url: str
    headers: dict[str, str]
    log_path: Path

    def wait_ready(self, client: httpx.Client, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                client.get(self.bulk_url.rsplit("/", 1)[0] + "/ServiceProviderConfig")
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        stop_group(self.process)


def _spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Any:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_ours(settings: Any, token: str, work: Path) -> Server:
    """gunicorn with one sync worker, as the Procfile runs the web process."""
    port = free_port()
    log_path = work / "gunicorn.log"
    process = _spawn(
        [str(BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "app:create_app()"],
        log_path,
        service_env(settings, BULKJOB_HOST_NAME="bench-web"),
    )
    return Server(
        "bulkjob",
        process,
        f"http://127.0.0.1:{port}/scim/v2/Bulk",
        {"Authorization": f"Bearer {token}"},
        log_path,
    )


def start_scim2_server(work: Path) -> Server:
    """``scim2-server --port N``: in memory, its defaults (User, Group, Bulk supported)."""
    port = free_port()
    log_path = work / "scim2-server.log"
    process = _spawn([str(BIN / "scim2-server"), "--port", str(port)], log_path)
    return Server("scim2-server", process, f"http://127.0.0.1:{port}/v2/Bulk", {}, log_path)


def send(client: httpx.Client, server: Server, tag: str, operations: int = OPERATIONS) -> float:
    """POST one BulkRequest; the round trip in seconds, after checking every operation."""
    body = bulk_request(tag, operations)
    headers = {**server.headers, "Content-Type": SCIM_JSON, "Accept": SCIM_JSON}
    started = time.perf_counter()
    response = client.post(server.bulk_url, content=body, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (server.name, response.status_code, response.text[:500])
    document = response.json()
    assert document["schemas"] == [BULK_RESPONSE], (server.name, document)
    results = document["Operations"]
    assert len(results) == operations, (server.name, len(results))
    for n, result in enumerate(results, 1):
        assert str(result["status"]) == "201", (server.name, result)
        assert result["bulkId"] == f"u{n}", (server.name, result)
        assert "/Users/" in result["location"], (server.name, result)
    return elapsed


def persisted(db_path: Path, tag: str) -> int:
    """How many of a run's users (name, externalId and e-mail all stored) the database holds."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM agents WHERE user_name LIKE ? AND external_id LIKE ?"
            " AND emails LIKE ?",
            (f"bench.{tag}.user%", f"ext-{tag}-%", f"%bench.{tag}.user%@example.com%"),
        ).fetchone()
    return int(count)


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def available(client: httpx.Client, server: Server) -> bool:
    """Whether the server has a /Bulk at all (404: not yet)."""
    response = client.post(server.bulk_url, content=b"{}", headers=server.headers)
    return response.status_code != 404


def bulk_benchmark(app: Any, token: str, work: Path) -> dict[str, Any]:
    """Operations per second of both servers over ``RUNS`` alternating runs (after a warm-up)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = app.config["SETTINGS"]
    db_path = Path(settings.database_url.removeprefix("sqlite:///"))
    ours = start_ours(settings, token, work)
    theirs = start_scim2_server(work)
    servers = [ours, theirs]
    with running(ours, theirs), httpx.Client(timeout=300) as client:
        for server in (ours, theirs):
            server.wait_ready(client)
        if not available(client, ours):
            servers.remove(ours)
        times: dict[str, list[float]] = {server.name: [] for server in servers}
        for server in servers:
            send(client, server, "warmup", operations=10)
        for run in range(RUNS):
            for server in servers:
                times[server.name].append(send(client, server, f"r{run}"))
    stored = [persisted(db_path, f"r{run}") for run in range(RUNS)] if ours in servers else []
    assert stored in ([], [OPERATIONS] * RUNS), stored
    rates = {name: [OPERATIONS / elapsed for elapsed in runs] for name, runs in times.items()}
    return {"rates": rates, "stored": sum(stored)}


def report(figures: dict[str, Any]) -> None:
    print(
        f"  SCIM /Bulk: {OPERATIONS:,} user creates in one request, {RUNS} runs per server "
        f"(fresh userNames each), every operation answered 201"
    )
    rates = {}
    for name, label in (("bulkjob", "our /scim/v2/Bulk"), ("scim2-server", "scim2-server 0.8.3")):
        if name not in figures["rates"]:
            print(f"  {label + ':':<27} not available")
            continue
        runs = figures["rates"][name]
        rates[name] = (max(runs), statistics.median(runs))
        print(
            f"  {label + ':':<27} best {rates[name][0]:,.0f} ops/s, "
            f"median {rates[name][1]:,.0f} ops/s"
        )
    if len(rates) < 2:
        return
    print(f"  users found in our SQLite file afterwards: {figures['stored']:,}")
    ours, theirs = rates["bulkjob"], rates["scim2-server"]
    print(
        f"  ratio (ours / scim2-server): best {ours[0] / theirs[0]:.1f}x, "
        f"median {ours[1] / theirs[1]:.1f}x  (target >= 5x)"
    )
