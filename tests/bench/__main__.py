"""``make bench``: the performance figures docs/performance.md lists, each beside its floor or
target (printed, never asserted in tests). docs/performance.md, "How to read them", says how to
read them.

1. The 3 MB SSO-migration job (as many rows as fit in 3 MB, against 60,000 agents), run by a
   real worker, on SQLite and on PostgreSQL, each beside its bare floor measured in the same
   run on the same directory and file (tests/bench/floors.py, the best of 5); the job first,
   as a user meets it, then its revert, then the dry run of the same file; POST to final
   state; the worker's peak memory.
1a. The 3 MB agent file of CREATE rows (tests/bench/agent_job.py) beside its bare floor on the
   same directory and file, on both databases; what one password costs a row.
2. Polling ``GET /bulkjob/<id>`` under wrk, beside a bare Flask endpoint (tests/bench/polling.py),
   on SQLite and as the Procfile runs the service (PostgreSQL, Redis, a worker beside).
3. 100,000 jobs stored: the jobs list, a search, a filter and a /metrics scrape, on both
   databases (tests/bench/scale.py).
4. The SSO-migration template: 12,000 rows out of 100,000 agents, through the API.
5. SCIM /Bulk: 1,000 user creates, ours beside scim2-server (tests/bench/scim_bulk.py), and
   asynchronous beside synchronous (tests/bench/scim_async.py).

``python -m tests.bench polling`` runs part 2 alone.

PostgreSQL is ``BULKJOB_BENCH_PG`` (default: database ``bench`` on 127.0.0.1, made if missing);
Redis, the broker as the Procfile runs it, is ``BULKJOB_BENCH_REDIS`` (default db 15 on
127.0.0.1). Without them those parts say so and are skipped.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.accounts import users
from app.db import db
from tests import factories
from tests.bench import agent_job, job, polling, scale, scim_async, scim_bulk
from tests.live import Worker

BENCH_PG = os.environ.get("BULKJOB_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
BENCH_REDIS = os.environ.get("BULKJOB_BENCH_REDIS", "redis://127.0.0.1:6379/15")
TEMPLATE_DIRECTORY = 100_000
SCIM_DIRECTORY = 20_000


def _postgres() -> str | None:
    """The bench's PostgreSQL URL, its database made if missing; None if unreachable."""
    try:
        import psycopg

        dsn = BENCH_PG.replace("postgresql+psycopg://", "postgresql://")
        base, _, name = dsn.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"  (PostgreSQL at {BENCH_PG} unavailable: {exc}; its parts are skipped)")
        return None
    return BENCH_PG


def _redis() -> str:
    """Redis as the broker if it answers, else the embedded broker (said in the output)."""
    try:
        import redis

        redis.Redis.from_url(BENCH_REDIS, socket_connect_timeout=2).ping()
    except Exception:
        print(f"  (Redis at {BENCH_REDIS} unavailable: the embedded broker is used)")
        return "filesystem://"
    return BENCH_REDIS


def template_benchmark(work: Path) -> dict[str, float]:
    app = job.build_app(work, f"sqlite:///{work}/t.sqlite", "filesystem://", TEMPLATE_DIRECTORY)
    client = app.test_client()
    url = "/unifiedconfig/config/bulkjob/templates/ssomigration"
    times = []
    lines = 0
    for _ in range(7):
        started = time.perf_counter()
        response = client.get(url, headers=job.basic_auth())
        body = response.get_data()
        times.append(time.perf_counter() - started)
        lines = body.count(b"\n") - 1
    db.dispose()
    return {"rows": lines, "best": min(times), "median": statistics.median(times)}


def polling_run(work: Path, database_url: str | None, broker: str) -> dict[str, Any]:
    """Polling on SQLite (``database_url`` None), or as the Procfile runs the service: on
    PostgreSQL, with a worker (and its sweep) running beside the web process."""
    if database_url is None:
        database_url = f"sqlite:///{work}/p.sqlite"
    else:
        from tests.conftest import reset_postgres

        reset_postgres(database_url)
    app = job.build_app(work, database_url, broker, 1000)
    with db.write() as conn:
        job_id = factories.stored_job(conn, factories.csv_text([["a", "", "", ""]]), "poll")
        token = users.create_token(conn, "bench")
    db.dispose()
    settings = app.config["SETTINGS"]
    worker = None if database_url.startswith("sqlite") else Worker(settings, "bench-worker", work)
    try:
        if worker is not None:
            worker.wait_ready(60)
        figures = polling.polling_benchmark(settings, token, job_id, work)
    finally:
        if worker is not None:
            worker.stop()
    figures["round_trips"] = polling.round_trips_a_poll(app, token, job_id)
    db.dispose()
    return figures


def _polling_report(name: str, poll: dict[str, Any]) -> None:
    if "skipped" in poll:
        print(f"  polling: skipped ({poll['skipped']})")
        return
    print(
        f"  polling GET /bulkjob/<id>, {name} (bearer, JSON; wrk -t2 -c64 -d{polling.DURATION}, "
        f"gunicorn -w {polling.WEB_CONCURRENCY}, median of {polling.ROUNDS}):"
    )
    print(
        f"    ours: {poll['ours_rps']:,.0f} req/s, p99 {poll['ours_p99_ms']:.0f} ms, "
        f"{poll['ours_errors']} errors"
    )
    print(
        f"    bare Flask: {poll['bare_rps']:,.0f} req/s, p99 {poll['bare_p99_ms']:.0f} ms, "
        f"{poll['bare_errors']} errors"
    )
    print(
        f"    CPU per request (gunicorn workers, user + system): ours "
        f"{poll['ours_cpu_us']:.0f} us, bare {poll['bare_cpu_us']:.0f} us"
    )
    print(
        f"    database round trips a poll (in process, {polling.COUNTED} polls): "
        f"{poll['round_trips']:g}"
    )
    rounds = ", ".join(f"{ours:.0f}/{bare:.0f}" for ours, bare in poll["p99_pairs"])
    print(f"    each round's p99, ours/bare: {rounds} ms")
    worst = max(ours / bare for ours, bare in poll["p99_pairs"])
    print(
        f"    ratio: {poll['ours_rps'] / poll['bare_rps']:.2f}x the requests/s "
        f"(target >= 0.5), p99 {poll['ours_p99_ms'] / poll['bare_p99_ms']:.2f}x, "
        f"worst round {worst:.2f}x (target <= 2 in every run)"
    )


def scale_run(work: Path, database_url: str | None) -> dict[str, dict[str, float]]:
    if database_url is None:
        app = job.build_app(work, f"sqlite:///{work}/s.sqlite", "filesystem://", 0)
    else:
        from tests.conftest import reset_postgres

        reset_postgres(database_url)
        app = job.build_app(work, database_url, "filesystem://", 0)
    return scale.scale_benchmark(app, work)


def scim_runs(work: Path, broker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = job.build_app(work, f"sqlite:///{work}/bulkjob.sqlite", broker, SCIM_DIRECTORY)
    with db.write() as conn:
        token = users.create_token(conn, "bench")
    db.dispose()
    sync = scim_bulk.bulk_benchmark(app, token, work)
    asynchronous = scim_async.async_benchmark(app, token, work)
    return sync, asynchronous


def _job_report(name: str, figures: dict[str, Any], floor: float, target: float) -> None:
    ratio = figures["processing"] / floor
    print(
        f"  {name}: {figures['rows']:,} rows, {figures['bytes'] / 1024 / 1024:.2f} MB, "
        f"{job.DIRECTORY:,} agents; state {figures['state']}, "
        f"{figures['succeeded']:,} succeeded, {figures['failed']:,} failed"
    )
    print(f"    job processing (start->end):  {figures['processing']:.3f} s")
    print(f"    ratio to the floor:            {ratio:.2f}  (target <= {target})")
    margin = figures["post_to_final"] - figures["processing"]
    print(
        f"    POST -> final state:           {figures['post_to_final']:.3f} s  "
        f"(processing + {margin:.2f} s; target + 0.5 s at most)"
    )
    print(
        f"    its revert (start->end):       {figures['revert']:.3f} s  "
        f"({figures['reverted']:,} agents given back their names)"
    )
    same = "same outcomes" if figures["dry_run_same"] else "OUTCOMES DIFFER"
    print(
        f"    dry run (start->end):          {figures['dry_run']:.3f} s  "
        f"({same}; target: no slower than the job)"
    )
    print(f"    worker peak RSS:               {figures['peak_rss_mb']:.0f} MB  (target < 200 MB)")


def polling_only() -> int:
    """``python -m tests.bench polling``: the polling part alone (SQLite, then as the Procfile
    runs the service), about 3 minutes."""
    print("bulkjob benchmark: polling")
    database_url = _postgres()
    broker = _redis()
    with tempfile.TemporaryDirectory(prefix="bulkjob-bench-") as tmp:
        root = Path(tmp)
        (root / "poll").mkdir()
        polls = {"SQLite": polling_run(root / "poll", None, broker)}
        if database_url is not None:
            (root / "poll-pg").mkdir()
            polls["PostgreSQL, Redis and a worker beside (the Procfile)"] = polling_run(
                root / "poll-pg", database_url, broker
            )
    for name, figures in polls.items():
        _polling_report(name, figures)
    return 0


def main() -> int:
    if sys.argv[1:] == ["polling"]:
        return polling_only()
    if sys.argv[1:]:
        print("usage: python -m tests.bench [polling]", file=sys.stderr)
        return 2
    print("bulkjob benchmark")
    database_url = _postgres()
    broker = _redis()
    with tempfile.TemporaryDirectory(prefix="bulkjob-bench-") as tmp:
        root = Path(tmp)
        parts = (
            "sqlite",
            "pg",
            "agents-sqlite",
            "agents-pg",
            "poll",
            "poll-pg",
            "scale-sqlite",
            "scale-pg",
            "template",
            "scim",
        )
        for name in parts:
            (root / name).mkdir()
        on_sqlite = job.sqlite_benchmark(root / "sqlite")
        on_pg = None
        if database_url is not None:
            on_pg = job.postgres_benchmark(root / "pg", database_url, broker)
        agents = {"SQLite": agent_job.sqlite_benchmark(root / "agents-sqlite")}
        if database_url is not None:
            agents["PostgreSQL"] = agent_job.postgres_benchmark(
                root / "agents-pg", database_url, broker
            )
        polls = {"SQLite": polling_run(root / "poll", None, broker)}
        if database_url is not None:
            polls["PostgreSQL, Redis and a worker beside (the Procfile)"] = polling_run(
                root / "poll-pg", database_url, broker
            )
        scales = {"SQLite": scale_run(root / "scale-sqlite", None)}
        if database_url is not None:
            scales["PostgreSQL"] = scale_run(root / "scale-pg", database_url)
        template = template_benchmark(root / "template")
        bulk, bulk_async = scim_runs(root / "scim", broker)

    print("  3 MB SSO job (bare floors: tests/bench/floors.py, best of 5, same run)")
    print(f"    SQLite floor (sqlite3, per-row UPDATE):  {on_sqlite['floor']:.3f} s")
    _job_report("SQLite", on_sqlite, on_sqlite["floor"], 2.5)
    if on_pg is not None:
        print(
            f"    PostgreSQL floor: per-row executemany {on_pg['per_row']:.3f} s, "
            f"COPY + UPDATE ... FROM {on_pg['set_based']:.3f} s; the faster: {on_pg['floor']:.3f} s"
        )
        _job_report("PostgreSQL", on_pg, on_pg["floor"], 2)

    for name, figures in agents.items():
        agent_job.report(name, figures)
    for name, figures in polls.items():
        _polling_report(name, figures)

    print(
        f"  with {scale.JOBS:,} jobs stored (median of {scale.RUNS}; "
        "targets: lists < 50 ms, scrape < 100 ms):"
    )
    for database, ways in scales.items():
        for way, figures in ways.items():
            shown = ", ".join(f"{name} {ms:.1f} ms" for name, ms in figures.items())
            print(f"    {database}, {way}: {shown}")

    print(
        f"  template: {template['rows']:,} rows of {TEMPLATE_DIRECTORY:,} agents: "
        f"best {template['best']:.3f} s, median {template['median']:.3f} s  (target < 0.2 s)"
    )
    scim_bulk.report(bulk)
    ratio = bulk_async["async"] / bulk_async["sync"]
    print(
        f"  SCIM /Bulk async (Prefer: respond-async, POST to final state, real worker): "
        f"{bulk_async['async']:.3f} s against sync {bulk_async['sync']:.3f} s: "
        f"{ratio:.2f}x  (target <= 2)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
