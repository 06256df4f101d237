"""One page of a job's failed rows, with the values the row had in the uploaded file.

The failed outcomes come from ``job_lines`` (ok is false) in line order; the values are read back
from the stored upload with the same CSV reader the job ran with, as the failed-rows download
does, stopping at the last line the page needs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, false, func, select

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


@dataclass(frozen=True)
class Reason:
    """One kind of failure and how many rows failed so."""

    reason: str
    count: int


def _job_type(conn: Connection, job_id: int) -> int:
    job_type = conn.execute(select(jobs.c.job_type).where(jobs.c.id == job_id)).scalar()
    if job_type is None:
        raise NotFound(f"Bulk job {job_id} does not exist", str(job_id))
    return int(job_type)


def _failed(job_id: int) -> ColumnElement[bool]:
    return (lines.c.job_id == job_id) & (lines.c.ok == false())


def reasons(engine: Engine, job_id: int) -> list[Reason]:
    """The job's failures grouped by what they say (its type's ``reason``), biggest first."""
    with engine.connect() as conn:
        job_type = jobtypes.get(_job_type(conn, job_id))
        counts = Counter(
            job_type.reason(message)
            for message in conn.execute(select(lines.c.message).where(_failed(job_id))).scalars()
        )
    return [Reason(text, count) for text, count in sorted(counts.items(), key=_biggest)]


def _biggest(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def failed_page(
    engine: Engine, job_id: int, page: listing.Page, reason: str | None = None
) -> FailedPage:
    """The failed rows of ``job_id`` on ``page`` (a start past the end gives the last page);
    only those of one ``reason`` (as :func:`reasons` names it) when given."""
    with engine.connect() as conn:
        job_type = _job_type(conn, job_id)
        failed = _failed(job_id)
        if reason is None:
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
        else:
            kind = jobtypes.get(job_type)
            matching = [
                row
                for row in conn.execute(
                    select(lines.c.line_number, lines.c.message)
                    .where(failed)
                    .order_by(lines.c.line_number)
                )
                if kind.reason(row.message) == reason
            ]
            total = len(matching)
            start = listing.clamp_start(page, total)
            outcomes = matching[start : start + page.results_per_page]
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
