"""``make soak``: the load across nodes at full size (docs/operations.md, "Many nodes: load and faults"); prints the figures.

PostgreSQL: ``BULKJOB_SOAK_PG`` (default: database ``soak`` on 127.0.0.1:5432, created if missing,
emptied first). Redis: a private ``redis-server`` on a free port. Stops by itself: the load has a
deadline of 210 s, and setting up and stopping the nodes take well under a minute.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tests.conftest import reset_postgres
from tests.soak import Plan, run

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/soak"


def soak_database(url: str) -> str:
    """Create the soak database if it does not exist, and empty it."""
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()
    reset_postgres(url)
    return url


def main() -> int:
    url = soak_database(os.environ.get("BULKJOB_SOAK_PG") or DEFAULT_URL)
    plan = Plan()
    print(
        f"soak: {plan.web_nodes} web nodes, {plan.workers} workers, {plan.directory} agents; "
        f"{plan.clients} clients x {plan.jobs_per_client} jobs of {plan.rows} rows "
        f"({plan.shared} shared with another job), {plan.pollers} polling connections",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bulkjob-soak-") as work:
        result = run(plan, url, Path(work), say=lambda line: print(line, flush=True))
    print(result.figures())
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
