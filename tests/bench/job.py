"""The 3 MB SSO-migration job, run by a real worker process, on SQLite and on PostgreSQL.

The service gets a 60,000-agent demo directory and a file of ~3 MB naming non-SSO agents (one
row in 500 names an agent that does not exist). The job's processing time (startDateTime to
endDateTime) is set beside the bare floor (tests/bench/floors.py) run on the same agents in the
same run; also the time from POST to the final state and the worker's peak memory.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from app.directory import demo as directory
from tests.bench import floors
from tests.live import Worker

DIRECTORY = 60_000
MAX_BYTES = 3 * 1024 * 1024
CHUNK = 1000
PASSWORD = "bench-password-1"


def build_app(data_dir: Path, database_url: str, broker_url: str, agents: int) -> Any:
    app = create_app(
        overrides={
            "data_dir": data_dir,
            "database_url": database_url,
            "broker_url": broker_url,
            "secret_key": "bench",
            "host_name": "bench-web",
            "chunk_size": CHUNK,
        }
    )
    schema.upgrade(database_url)
    with db.write() as conn:
        directory.load_demo(conn, agents=agents, seed=7)
        users.create_user(conn, "bench", "admin", PASSWORD)
    return app


def basic_auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"bench:{PASSWORD}".encode()).decode()}


def agent_rows() -> list[floors.AgentRow]:
    """The directory's agents in the floor's minimal shape."""
    with db.read() as conn:
        rows = conn.execute(
            text(
                "SELECT id, peripheral_id, coalesce(agent_team_id, 0), user_name, first_name, "
                "last_name, sso_enabled, change_stamp FROM agents ORDER BY id"
            )
        ).all()
    return [(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7]) for r in rows]


def sso_file(agents: list[floors.AgentRow]) -> tuple[bytes, int]:
    """As many rows as fit in 3 MB, naming non-SSO agents (1 in 500 unknown); and the count."""
    names = [a[3] for a in agents if not a[6]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["userName", "firstName", "lastName", "newUserName"])
    size = len(out.getvalue())
    rows = 0
    for i, name in enumerate(names):
        name = name if i % 500 else f"missing{i}"
        line = f"{name},Firstname,Lastname,{name}@sso.example.com\r\n"
        if size + len(line) > MAX_BYTES:
            break
        writer.writerow([name, "Firstname", "Lastname", f"{name}@sso.example.com"])
        size += len(line)
        rows += 1
    return out.getvalue().encode(), rows


class PeakRss:
    """Samples the RSS of a process tree; ``peak`` is the largest single process seen."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    self.peak = max(self.peak, proc.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _post_and_wait(client: Any, content: bytes, query: str) -> tuple[dict[str, Any], float]:
    """POST the file as a job and poll it (every 10 ms) to its end: its JSON and the seconds
    from the POST."""
    posted = time.perf_counter()
    response = client.post(
        f"/unifiedconfig/config/bulkjob?description=bench{query}",
        data=content,
        content_type="text/csv",
        headers=basic_auth(),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = _wait(client, response.headers["Location"])
    return body, time.perf_counter() - posted


def _wait(client: Any, location: str) -> dict[str, Any]:
    """Poll the job (every 10 ms) to its end; its JSON."""
    location = location.replace("http://localhost", "")
    while True:
        job = client.get(location, headers={**basic_auth(), "Accept": "application/json"})
        body: dict[str, Any] = job.get_json()
        if body["jobState"] not in (1, 2):
            return body
        time.sleep(0.01)


def _processing(body: dict[str, Any]) -> float:
    return float(body["endDateTime"] - body["startDateTime"]) / 1000


def run_jobs(app: Any, work: Path, content: bytes) -> dict[str, Any]:
    """The file as a user meets it: the real job first, on a worker just started and a
    directory nothing has read yet; then its revert (which gives the directory back as it was),
    then the dry run of the same file against that directory. The figures of all three."""
    worker = Worker(app.config["SETTINGS"], "bench-worker", work)
    try:
        worker.wait_ready(60)
        client = app.test_client()
        with PeakRss(worker.process.pid) as rss:
            body, post_to_final = _post_and_wait(client, content, "")
        revert = _revert_and_wait(client, int(body["refURL"].rsplit("/", 1)[1]))
        dry, _ = _post_and_wait(client, content, "&dryRun=true")
    finally:
        worker.stop()
    return {
        "state": body["jobState"],
        "succeeded": body["succeededRecords"],
        "failed": body["failedRecords"],
        "processing": _processing(body),
        "post_to_final": post_to_final,
        "peak_rss_mb": rss.peak / 1024 / 1024,
        "revert": _processing(revert),
        "reverted": revert["succeededRecords"],
        "dry_run": _processing(dry),
        "dry_run_same": (dry["succeededRecords"], dry["failedRecords"])
        == (body["succeededRecords"], body["failedRecords"]),
    }


def _revert_and_wait(client: Any, job_id: int) -> dict[str, Any]:
    response = client.post(f"/unifiedconfig/config/bulkjob/{job_id}/revert", headers=basic_auth())
    assert response.status_code == 201, response.get_data(as_text=True)
    return _wait(client, response.headers["Location"])


def measure(
    work: Path,
    database_url: str | None,
    broker_url: str,
    make_file: Callable[[], tuple[Any, bytes, int]],
    floor: Callable[[Any, bytes], dict[str, Any]],
    run: Callable[[Any, Path, bytes], dict[str, Any]],
) -> dict[str, Any]:
    """A job type's 3 MB file against its floor: the service on SQLite under ``work`` (no
    ``database_url``) or on PostgreSQL, with the demo directory; ``make_file`` reads it and
    gives the floor's data, the file and its row count; ``floor`` times the bare script on the
    same data and file; ``run`` runs the jobs."""
    from tests.conftest import reset_postgres

    if database_url is None:
        database_url, broker_url = f"sqlite:///{work}/bulkjob.sqlite", "filesystem://"
    else:
        reset_postgres(database_url)
    app = build_app(work, database_url, broker_url, DIRECTORY)
    data, content, rows = make_file()
    floor_figures = floor(data, content)
    figures = run(app, work, content)
    db.dispose()
    if not database_url.startswith("sqlite"):
        reset_postgres(database_url)
    return {"rows": rows, "bytes": len(content), **floor_figures, **figures}


def _sso_file() -> tuple[list[floors.AgentRow], bytes, int]:
    agents = agent_rows()
    return (agents, *sso_file(agents))


def sqlite_benchmark(work: Path) -> dict[str, Any]:
    return measure(
        work,
        None,
        "filesystem://",
        _sso_file,
        lambda agents, content: {"floor": floors.sqlite_floor(work, agents, content)},
        run_jobs,
    )


def postgres_benchmark(work: Path, database_url: str, broker_url: str) -> dict[str, Any]:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    return measure(
        work,
        database_url,
        broker_url,
        _sso_file,
        # The floor's own schema, in its own database so it shares no table with the service.
        lambda agents, content: floors.postgres_floor(floor_database(dsn), agents, content),
        run_jobs,
    )


def floor_database(dsn: str) -> str:
    import psycopg

    base, _, _name = dsn.rpartition("/")
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_floor'").fetchone()
        if not exists:
            conn.execute("CREATE DATABASE bench_floor")
    return f"{base}/bench_floor"
