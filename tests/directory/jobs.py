"""Running a directory file's job in process, as the API stores it and a worker runs it, and
reading what it said (shared by the directory's job tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from flask import Flask

from app.db import db
from app.jobs import downloads, engine, revert, store
from app.jobs.check import check_file
from app.jobs.types import get
from app.jobs.types.csvfile import csv_rows


def csv_line(columns: Sequence[str], cells: dict[str, str]) -> str:
    """One line of a file with ``columns``: the named cells, the rest empty."""
    return next(csv_rows([[cells.get(column, "") for column in columns]])).rstrip("\r\n")


def submitted(app: Flask, text: str, dry_run: bool = False) -> int:
    """Stored as the API stores it (sealed), not run."""
    settings = app.config["SETTINGS"]
    checked = check_file(text.encode(), None, settings.max_file_bytes)
    job_type = get(checked.job_type)
    sealed = job_type.seal(checked.content, settings.secret())

    with db.write() as conn:
        return store.create_job(
            conn, replace(checked, content=sealed), "agents", "admin", "web", dry_run=dry_run
        )


def run(app: Flask, text: str, dry_run: bool = False, chunk_size: int = 3) -> int:
    job_id = submitted(app, text, dry_run)
    settings = app.config["SETTINGS"].replace(chunk_size=chunk_size)
    engine.run_job(db, settings, job_id)
    return job_id


def log(job_id: int) -> list[str]:
    body = downloads.log(db.engine, job_id).body
    text = b"".join(body if not isinstance(body, bytes) else [body]).decode()
    return [line.split(" - ", 1)[1] for line in text.splitlines()]


def state(job_id: int) -> int:
    with db.read() as conn:
        return int(store.get_job(conn, job_id).job_state)


def reverted(app: Flask, job_id: int) -> int:
    revert_id = revert.revert(app, job_id, description=None, created_by="admin")
    engine.run_job(db, app.config["SETTINGS"].replace(chunk_size=2), revert_id)
    return revert_id
