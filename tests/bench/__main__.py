"""``make bench``: the performance figures the README lists, printed (never asserted in tests).

1. A 3 MB SSO-migration job (50,000 rows) against a 60,000-agent directory on SQLite, run by a
   real worker process: the job's processing time (startDateTime to endDateTime) beside a bare
   ``sqlite3`` script doing the same parse + conditional updates + result rows with the same
   durability, on a copy of the same database, as a ratio; the time from POST to final state;
   the worker's peak memory (RSS of the worker's process tree, sampled every 10 ms).
2. The SSO-migration template: 12,000 rows out of 100,000 agents, through the API.
3. SCIM /Bulk (issue 7): 1,000 user creates in one request, our server beside scim2-server 0.8.3
   (tests/bench/scim_bulk.py).
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from app.directory import demo as directory
from tests.bench import scim_bulk
from tests.live import Worker

ROWS = 50_000
DIRECTORY = 60_000
TEMPLATE_DIRECTORY = 100_000
SCIM_DIRECTORY = 20_000
CHUNK = 1000
PASSWORD = "bench-password-1"


def build_directory(data_dir: Path, agents: int) -> Any:
    app = create_app(
        overrides={
            "data_dir": data_dir,
            "database_url": f"sqlite:///{data_dir}/bulkjob.sqlite",
            "broker_url": "filesystem://",
            "secret_key": "bench",
            "host_name": "bench-web",
        }
    )
    schema.upgrade(app.config["SETTINGS"].database_url)
    with db.write() as conn:
        directory.load_demo(conn, agents=agents, seed=7)
        users.create_user(conn, "bench", "admin", PASSWORD)
    return app


def sso_file(db_path: Path) -> bytes:
    """50,000 rows naming non-SSO agents (a few unknown, to exercise failures), ~3 MB."""
    with sqlite3.connect(db_path) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT user_name FROM agents WHERE sso_enabled = 0 ORDER BY id LIMIT ?", (ROWS,)
            )
        ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["userName", "firstName", "lastName", "newUserName"])
    for i in range(ROWS):
        name = names[i] if i < len(names) and i % 500 else f"missing{i}"
        writer.writerow([name, "Firstname", "Lastname", f"{name}@sso.example.com"])
    data = out.getvalue().encode()
    assert len(data) <= 3 * 1024 * 1024, len(data)
    return data


def bare_sqlite_floor(db_path: Path, content: bytes) -> float:
    """The same work in a bare sqlite3 script: parse, decide per chunk, update, record, commit."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    next(reader)
    rows = [(i + 2, [c.strip() for c in row]) for i, row in enumerate(reader)]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        conn.execute("BEGIN IMMEDIATE")
        now = int(time.time() * 1000)
        keys = {r[0].lower() for _, r in chunk} | {r[3].lower() for _, r in chunk if r[3]}
        marks = ",".join("?" * len(keys))
        found = {
            row[2]: list(row)
            for row in conn.execute(
                "SELECT id, user_name, user_name_key, sso_enabled, change_stamp FROM agents "
                f"WHERE user_name_key IN ({marks})",
                tuple(keys),
            )
        }
        updates, results = [], []
        for line, (user, _f, _l, new) in chunk:
            agent = found.get(user.lower())
            if agent is None or agent[3]:
                results.append((1, line, 0, 0, "userName: does not exist"))
                continue
            holder = found.get(new.lower()) if new else None
            if holder is not None and holder is not agent:
                results.append((1, line, 0, 0, "newUserName: in use"))
                continue
            name = new or agent[1]
            updates.append((name, name.lower(), now, agent[0], agent[4]))
            agent[3] = 1
            results.append((1, line, 0, 1, f"Updated /unifiedconfig/config/agent/{agent[0]}"))
        conn.executemany(
            "UPDATE agents SET user_name=?, user_name_key=?, sso_enabled=1, "
            "change_stamp=change_stamp+1, modified_ms=? "
            "WHERE id=? AND sso_enabled=0 AND change_stamp=?",
            updates,
        )
        conn.executemany(
            "INSERT INTO job_lines (job_id, line_number, at_ms, ok, message) VALUES (?,?,?,?,?)",
            results,
        )
        conn.execute("UPDATE jobs SET processed_records = ? WHERE id = 1", (start + len(chunk),))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


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


def basic_auth() -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"bench:{PASSWORD}".encode()).decode()}


def job_benchmark(work: Path) -> dict[str, Any]:
    app = build_directory(work, DIRECTORY)
    db_path = work / "bulkjob.sqlite"
    content = sso_file(db_path)
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobs (id, change_stamp, description, job_type, job_state, job_host_name,"
            " created_by, create_ms, total_records, processed_records, succeeded_records,"
            " failed_records, cancel_requested) VALUES (1, 0, 'floor', 5, 4, 'x', 'x', 0, 0, 0,"
            " 0, 0, 0)"
        )
    floor_copy = work / "floor.sqlite"
    db.dispose()
    shutil.copy(db_path, floor_copy)
    floor = min(bare_sqlite_floor(_fresh_copy(floor_copy, work, i), content) for i in range(3))

    worker = Worker(app.config["SETTINGS"].replace(chunk_size=CHUNK), "bench-worker", work)
    try:
        worker.wait_ready(60)
        client = app.test_client()
        # The dry run first, so that it meets the directory the real job then changes.
        dry, _ = _post_and_wait(client, content, "&dryRun=true")
        with PeakRss(worker.process.pid) as rss:
            body, post_to_final = _post_and_wait(client, content, "")
    finally:
        worker.stop()
    processing = (body["endDateTime"] - body["startDateTime"]) / 1000
    return {
        "dry_run": (dry["endDateTime"] - dry["startDateTime"]) / 1000,
        "dry_run_same": (dry["succeededRecords"], dry["failedRecords"])
        == (body["succeededRecords"], body["failedRecords"]),
        "bytes": len(content),
        "rows": ROWS,
        "state": body["jobState"],
        "succeeded": body["succeededRecords"],
        "failed": body["failedRecords"],
        "floor": floor,
        "processing": processing,
        "post_to_final": post_to_final,
        "peak_rss_mb": rss.peak / 1024 / 1024,
    }


def _post_and_wait(client: Any, content: bytes, query: str) -> tuple[dict[str, Any], float]:
    """POST the file as a job and poll it to its end: its JSON and the seconds it took."""
    posted = time.perf_counter()
    response = client.post(
        f"/unifiedconfig/config/bulkjob?description=bench{query}",
        data=content,
        content_type="text/csv",
        headers=basic_auth(),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    location = response.headers["Location"].replace("http://localhost", "")
    while True:
        job = client.get(location, headers={**basic_auth(), "Accept": "application/json"})
        body: dict[str, Any] = job.get_json()
        if body["jobState"] not in (1, 2):
            return body, time.perf_counter() - posted
        time.sleep(0.02)


def _fresh_copy(source: Path, work: Path, i: int) -> Path:
    target = work / f"floor-{i}.sqlite"
    shutil.copy(source, target)
    return target


def template_benchmark(work: Path) -> dict[str, float]:
    app = build_directory(work, TEMPLATE_DIRECTORY)
    client = app.test_client()
    url = "/unifiedconfig/config/bulkjob/templates/ssomigration"
    times = []
    lines = 0
    for _ in range(7):
        started = time.perf_counter()
        response = client.get(url, headers=basic_auth())
        body = response.get_data()
        times.append(time.perf_counter() - started)
        lines = body.count(b"\n") - 1
    db.dispose()
    return {"rows": lines, "best": min(times), "median": statistics.median(times)}


def scim_bulk_benchmark(work: Path) -> dict[str, Any]:
    app = build_directory(work, SCIM_DIRECTORY)
    with db.write() as conn:
        token = users.create_token(conn, "bench")
    db.dispose()
    return scim_bulk.bulk_benchmark(app, token, work)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bulkjob-bench-") as tmp:
        root = Path(tmp)
        (root / "job").mkdir()
        (root / "template").mkdir()
        (root / "scim").mkdir()
        job = job_benchmark(root / "job")
        template = template_benchmark(root / "template")
        bulk = scim_bulk_benchmark(root / "scim")
    ratio = job["processing"] / job["floor"]
    print("bulkjob benchmark")
    print(
        f"  3 MB SSO job: {job['rows']:,} rows, {job['bytes'] / 1024 / 1024:.2f} MB, "
        f"{DIRECTORY:,} agents; state {job['state']}, "
        f"{job['succeeded']:,} succeeded, {job['failed']:,} failed"
    )
    print(f"  bare sqlite3 floor:         {job['floor']:.3f} s")
    print(f"  job processing (start->end): {job['processing']:.3f} s")
    print(f"  ratio to floor:             {ratio:.2f}  (target <= 3)")
    same = "same outcomes" if job["dry_run_same"] else "OUTCOMES DIFFER"
    print(
        f"  dry run (start->end):       {job['dry_run']:.3f} s  "
        f"(target <= the job's; {same} as the job)"
    )
    print(f"  POST -> final state:        {job['post_to_final']:.3f} s  (target well under 3 s)")
    print(f"  worker peak RSS:            {job['peak_rss_mb']:.0f} MB  (target < 200 MB)")
    print(
        f"  template: {template['rows']:,} rows of {TEMPLATE_DIRECTORY:,} agents: "
        f"best {template['best']:.3f} s, median {template['median']:.3f} s  (target < 0.2 s)"
    )
    scim_bulk.report(bulk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
