"""One page of a job's failed rows, with the values the row had in the uploaded file.

The failed outcomes come from ``job_lines`` (ok is false) in line order; the values are read back
from the stored upload with the same CSV reader the job ran with, as the failed-rows download
does, stopping at the last line the page needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, false, func, select

from app.db import listing
from app.db.models import Job, JobFile, JobLine, table
from app.exceptions import NotFound
from app.jobs import types as jobtypes

jobs = table(Job)
files = table(JobFile)
lines = table(JobLine)


@dataclass(frozen=True)
class FailedRow:
    line_number: int
    values: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class FailedPage:
    """Rows ``start`` .. ``start + len(rows)`` of ``total`` failed rows, in line order."""

    columns: tuple[str, ...]
    rows: list[FailedRow]
    total: int
    start: int


def failed_page(engine: Engine, job_id: int, page: listing.Page) -> FailedPage:
    """The failed rows of ``job_id`` on ``page`` (a start past the end gives the last page)."""
    with engine.connect() as conn:
        job_type = conn.execute(select(jobs.c.job_type).where(jobs.c.id == job_id)).scalar()
        if job_type is None:
            raise NotFound(f"Bulk job {job_id} does not exist", str(job_id))
        failed = (lines.c.job_id == job_id) & (lines.c.ok == false())
        total = int(
            conn.execute(select(func.count()).select_from(lines).where(failed)).scalar_one()
        )
        start = listing.clamp_start(page, total)
        outcomes = conn.execute(
            select(lines.c.line_number, lines.c.message)
            .where(failed)
            .order_by(lines.c.line_number)
            .offset(start)
            .limit(page.results_per_page)
        ).all()
        file = None
        if outcomes:
            file = conn.execute(
                select(files.c.content).where(files.c.job_id == job_id)
            ).scalar_one_or_none()
    columns = tuple(jobtypes.get(job_type).columns)
    values: dict[int, tuple[str, ...]] = {}
    if outcomes and file is not None:
        wanted = {row.line_number for row in outcomes}
        last = max(wanted)
        for record in jobtypes.get(job_type).read(bytes(file)):
            if record.line_number > last:
                break
            if record.line_number in wanted:
                values[record.line_number] = record.values
    empty = tuple("" for _ in columns)
    rows = [
        FailedRow(row.line_number, values.get(row.line_number, empty), row.message)
        for row in outcomes
    ]
    return FailedPage(columns, rows, total, start)
