"""Retrying a job (docs/concepts.md, "Retry"): which lines may run again, the retry's file, and
the retry job.

A retry is a job of the original's type, made through :func:`app.jobs.submit.submit` like every
job, from the original's failed lines and the lines it did not process (a cancel, an early stop
or a job that failed as a whole left them), in file order. Its file is the type's header and
those lines, each on the line number it had in the original (the lines between are blank, which
every reader skips): the retry's log, failed rows and results name each line as the original's
did. A corrected file (the type's columns plus ``lineNumber``) replaces the cells of the lines it
names, and only those run again; a cell left as the downloads show it (an agent file's password,
``~``) keeps what the stored file holds. ``jobs.retry_of`` is unique: of two requests at once,
one wins and the other is refused as for a job already retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, false, select
from sqlalchemy.exc import IntegrityError

from app.db import db
from app.db.models import JobLine, JobState, table
from app.exceptions import Conflict, FieldRequired, InvalidInput, JobActive
from app.jobs import store
from app.jobs import types as jobtypes
from app.jobs.check import MAX_DESCRIPTION
from app.jobs.submit import submit
from app.jobs.types.base import JobType
from app.jobs.types.csvfile import CsvFile, csv_rows, decode

if TYPE_CHECKING:
    from flask import Flask

lines = table(JobLine)

NOT_PROCESSED = "not processed"
LINE_NUMBER = "lineNumber"
# Columns of the failed-rows and results downloads a corrected file may keep; they are ignored.
IGNORED_COLUMNS = ("error", "outcome", "refURL")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class RetryLine:
    """A line that may run again: its cells as stored (``values``) and as the downloads show
    them (``shown``: nothing sealed), and why it is retried (its error, or not processed)."""

    line_number: int
    values: tuple[str, ...]
    shown: tuple[str, ...]
    error: str


def plan(conn: Connection, job_id: int) -> Any:
    """The job ``job_id`` if it may be retried now (its row); raises saying why not."""
    job = store.get_job(conn, job_id)
    job_type = jobtypes.get(job.job_type)
    if not job_type.uploadable:
        raise InvalidInput(
            f"Job {job_id} is a {job_type.name} job; only jobs made from a CSV upload can be "
            "retried",
            str(job_id),
        )
    if job.job_state in JobState.ACTIVE:
        raise JobActive(
            f"Job {job_id} is {JobState.NAMES[job.job_state]}; only a finished job can be retried",
            str(job_id),
        )
    if job.retried_by is not None:
        raise _already_retried(conn, job_id, job.retried_by)
    if job.failed_records == 0 and job.processed_records >= job.total_records:
        raise Conflict(
            f"Job {job_id} has no failed or unprocessed lines: there is nothing to retry",
            str(job_id),
        )
    return job


def _already_retried(conn: Connection, job_id: int, retry_id: int) -> Conflict:
    state = store.get_job(conn, retry_id).job_state
    return Conflict(
        f"Job {job_id} is already retried by job {retry_id} ({JobState.NAMES[state]})",
        str(retry_id),
    )


def retryable(conn: Connection, job_id: int, job_type: JobType) -> dict[int, RetryLine]:
    """The lines of job ``job_id`` that failed or were not processed, by line number, in file
    order."""
    done = set(conn.execute(select(lines.c.line_number).where(lines.c.job_id == job_id)).scalars())
    failed = dict(
        conn.execute(
            select(lines.c.line_number, lines.c.message).where(
                lines.c.job_id == job_id, lines.c.ok == false()
            )
        ).all()
    )
    found = {}
    for record in job_type.read(store.job_file(conn, job_id)):
        number = record.line_number
        if number in done and number not in failed:
            continue
        error = failed.get(number, NOT_PROCESSED)
        shown = job_type.record_values(record)
        found[number] = RetryLine(number, record.values, shown, error)
    return found


def corrected_lines(
    job_type: JobType, job_id: int, content: bytes, retryable: dict[int, RetryLine]
) -> list[tuple[int, tuple[str, ...]]]:
    """The lines a corrected file names, with their new cells, in file order; raises (400)
    naming the first line that is not a failed or unprocessed line of the job, or is named
    twice."""
    text, _encoding = decode(content)
    file = CsvFile(text)
    header = file.header()
    columns = [c.lower() for c in job_type.columns]
    required = {*columns, LINE_NUMBER.lower()} - {c.lower() for c in job_type.optional_columns}
    allowed = {*columns, LINE_NUMBER.lower(), *(c.lower() for c in IGNORED_COLUMNS)}
    if len(set(header)) != len(header) or not required <= set(header) <= allowed:
        raise InvalidInput(
            f"The corrected file's header must hold job {job_id}'s columns and lineNumber "
            f"(each once): {','.join(job_type.columns)},{LINE_NUMBER}",
            "fileContent",
        )
    present = [column in header for column in columns]
    first_seen: dict[int, int] = {}
    found = []
    for record in file.records((*job_type.columns, LINE_NUMBER), job_type.missing_cell):
        *cells, number = record.values
        at = record.line_number
        original = retryable.get(int(number)) if number.isascii() and number.isdigit() else None
        if original is None:
            raise InvalidInput(
                f"Line {at}: lineNumber {number[:20]!r} is not a failed or unprocessed line of "
                f"job {job_id}",
                "fileContent",
            )
        if original.line_number in first_seen:
            raise InvalidInput(
                f"Line {at}: lineNumber {original.line_number} is named twice (first on line "
                f"{first_seen[original.line_number]})",
                "fileContent",
            )
        first_seen[original.line_number] = at
        # A cell left as the downloads show it keeps what is stored (a sealed password).
        values = tuple(
            cell if present[i] and cell != original.shown[i] else original.values[i]
            for i, cell in enumerate(cells)
        )
        found.append((original.line_number, values))
    if not found:
        raise FieldRequired("The corrected file has a header but no lines", "fileContent")
    return sorted(found)


def retry_file(job_type: JobType, chosen: Iterable[tuple[int, tuple[str, ...]]]) -> bytes:
    """The retry's file: the type's header, then each line on its original line number."""
    chosen = list(chosen)
    texts = csv_rows([job_type.columns, *(values for _number, values in chosen)])
    parts = [next(texts)]
    line = 2
    for (number, _values), text in zip(chosen, texts, strict=True):
        if number < line:
            raise InvalidInput(
                f"lineNumber {number}: its corrected cells hold more line breaks than the line "
                "had room for",
                "fileContent",
            )
        parts.append("\r\n" * (number - line))
        parts.append(text)
        line = number + len(_LINE_BREAK.findall(text))
    return "".join(parts).encode("utf-8")


def retry(
    app: Flask,
    job_id: int,
    *,
    corrected: bytes | None = None,
    description: str | None = None,
    created_by: str,
) -> int:
    """Create and queue the retry of ``job_id`` (of the lines ``corrected`` names, with its
    cells, when given); the new job's id."""
    with db.read() as conn:
        job = plan(conn, job_id)
        job_type = jobtypes.get(job.job_type)
        found = retryable(conn, job_id, job_type)
        stored_bytes = len(store.job_file(conn, job_id))
    if corrected is None:
        chosen = [(number, line.values) for number, line in found.items()]
    else:
        chosen = corrected_lines(job_type, job_id, corrected, found)
    content = retry_file(job_type, chosen)
    if description is None:
        description = f"Retry of job {job_id}: {job.description}"[:MAX_DESCRIPTION]
    try:
        return submit(
            app,
            content,
            description=description,
            created_by=created_by,
            job_type=job.job_type,
            dry_run=job.dry_run,
            retry_of=job_id,
            stop_after_failures=job.stop_after_failures,
            # Written by the service from the stored file, whose sealed cells are longer than
            # what was uploaded: it answers to the stored file's size as well.
            max_bytes=max(app.config["SETTINGS"].max_file_bytes, stored_bytes),
        )
    except IntegrityError:
        with db.read() as conn:
            raise _already_retried(conn, job_id, store.get_job(conn, job_id).retried_by) from None
