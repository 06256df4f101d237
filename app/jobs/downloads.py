"""What a job lets you download: its log, its original file, its failed rows, the results of
every line, and the extras its type offers (a SCIM bulk job's BulkResponse).

Each function checks that the thing exists (raising before a response starts) and returns a
:class:`Download` whose body streams from its own connection, a chunk of rows at a time. Its
file name and media type are decided here, once, for the API and the console alike.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, false, select

from app.db.models import Job, JobEvent, JobFile, JobLine, JobState, table
from app.exceptions import JobActive, NotFound
from app.jobs import types as jobtypes
from app.jobs.types.base import JobType, Record
from app.jobs.types.csvfile import as_bytes, csv_rows

jobs = table(Job)
files = table(JobFile)
events = table(JobEvent)
lines = table(JobLine)

STREAM_ROWS = 2000
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Download:
    """A file to send: its body (bytes, or blocks of bytes to stream), media type and name."""

    body: bytes | Iterator[bytes]
    media_type: str
    filename: str


def timestamp(ms: int) -> str:
    """``2026-11-23T10:00:00.123+00:00``: the log's ISO-8601 time with offset."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def one_line(text: str) -> str:
    """CR and LF written as ``\\r`` and ``\\n`` so one event stays one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _job_type(conn: Connection, job_id: int) -> JobType:
    """The type of job ``job_id``; NotFound when there is no such job."""
    code = conn.execute(select(jobs.c.job_type).where(jobs.c.id == job_id)).scalar()
    if code is None:
        raise NotFound(f"Bulk job {job_id} does not exist", str(job_id))
    return jobtypes.get(code)


def _job_and_file(engine: Engine, job_id: int) -> tuple[JobType, Any]:
    with engine.connect() as conn:
        job_type = _job_type(conn, job_id)
        file = conn.execute(
            select(files.c.content, files.c.encoding).where(files.c.job_id == job_id)
        ).first()
    return job_type, file


def original(engine: Engine, job_id: int) -> Download:
    """The original upload, byte for byte, as its type stores it (a CSV, or a SCIM bulk job's
    BulkRequest)."""
    job_type, file = _job_and_file(engine, job_id)
    body = job_type.served(bytes(file.content))
    return Download(body, job_type.media_type, f"bulkjob-{job_id}.{job_type.suffix}")


def extra(engine: Engine, job_id: int, name: str) -> Download:
    """A download the job's type offers beyond the rest (``name``: the extra's path segment)."""
    with engine.connect() as conn:
        job_type = _job_type(conn, job_id)
        found = job_type.extra(name)
        if found is None:
            offering = {t.name: e for t in jobtypes.registry().values() if (e := t.extra(name))}
            label = next(iter(offering.values())).label if offering else name
            names = " and ".join(offering) or "no"
            raise NotFound(
                f"Bulk job {job_id} is a {job_type.name} job; only {names} jobs have {label}",
                str(job_id),
            )
        details = conn.execute(
            select(lines.c.detail)
            .where(lines.c.job_id == job_id, lines.c.detail.is_not(None))
            .order_by(lines.c.line_number)
        ).scalars()
        body = found.render(iter(details))
    return Download(body, found.media_type, f"bulkjob-{job_id}-{name}.{found.suffix}")


def log(engine: Engine, job_id: int) -> Download:
    """The job's log, assembled from its events and line outcomes."""
    job_type, file = _job_and_file(engine, job_id)
    body = as_bytes(_log_lines(engine, job_id, job_type, file))
    return Download(body, "text/plain; charset=utf-8", f"bulkjob-{job_id}.log")


def _log_lines(engine: Engine, job_id: int, job_type: JobType, file: Any) -> Iterator[str]:
    describe, unit = job_type.describe, job_type.unit
    records = job_type.read(bytes(file.content))
    with engine.connect() as conn:
        conn = conn.execution_options(yield_per=STREAM_ROWS)
        event_rows = conn.execute(
            select(events.c.after_line, events.c.id, events.c.at_ms, events.c.message)
            .where(events.c.job_id == job_id)
            .order_by(events.c.after_line, events.c.id)
        ).all()
        line_rows = conn.execute(
            select(lines.c.line_number, lines.c.at_ms, lines.c.ok, lines.c.message)
            .where(lines.c.job_id == job_id)
            .order_by(lines.c.line_number)
        )
        # An event placed after line N sorts after line N's outcome: key (N, 1) vs (N, 0).
        keyed_events = (((e.after_line, 1, e.id), ("event", e)) for e in event_rows)
        keyed_lines = (((r.line_number, 0, 0), ("line", r)) for r in line_rows)
        for _key, (kind, row) in heapq.merge(keyed_events, keyed_lines, key=lambda x: x[0]):
            if kind == "event":
                yield f"{timestamp(row.at_ms)} - {one_line(row.message)}\n"
                continue
            record = next(records)
            while record.line_number < row.line_number:
                record = next(records)
            stamp = timestamp(row.at_ms)
            yield f"{stamp} - Processing {unit} {row.line_number}: {one_line(describe(record))}\n"
            if row.ok:
                # A line that made several objects says so on a log line each.
                for said in row.message.split("\n"):
                    yield f"{stamp} - {one_line(said)}\n"
            else:
                error = one_line(row.message)
                yield f"{stamp} - Error processing {unit} {row.line_number}: {error}\n"


def failed(engine: Engine, job_id: int) -> Download:
    """The failed rows: the type's columns, then lineNumber and error."""
    job_type, file = _job_and_file(engine, job_id)
    records = job_type.read(bytes(file.content))
    rows = _failed_rows(engine, job_id, job_type, records)
    return Download(as_bytes(csv_rows(rows)), CSV_TYPE, f"bulkjob-{job_id}-failed.csv")


def _failed_rows(
    engine: Engine, job_id: int, job_type: JobType, records: Iterator[Record]
) -> Iterator[Sequence[str]]:
    yield [*job_type.columns, "lineNumber", "error"]
    with engine.connect() as conn:
        failed = conn.execution_options(yield_per=STREAM_ROWS).execute(
            select(lines.c.line_number, lines.c.message)
            .where(lines.c.job_id == job_id, lines.c.ok == false())
            .order_by(lines.c.line_number)
        )
        for row in failed:
            record = next(records)
            while record.line_number < row.line_number:
                record = next(records)
            yield [*job_type.record_values(record), str(row.line_number), row.message]


RESULT_COLUMNS = ("lineNumber", "outcome", "refURL", "error")
NOT_PROCESSED = "not processed"
# A succeeded line's outcome, from the first words of its log line's last part (the words
# every type logs: docs/concepts.md, "Results").
_OUTCOMES = (
    ("Would create ", "would create"),
    ("Would update ", "would update"),
    ("Would delete ", "would delete"),
    ("Created ", "created"),
    ("Updated ", "updated"),
    ("Deleted ", "deleted"),
    ("Unchanged ", "unchanged"),
    ("Reverted ", "reverted"),
)


def results(engine: Engine, job_id: int) -> Download:
    """Every line of a finished job's file with its original columns (nothing sealed), then
    ``lineNumber``, ``outcome``, ``refURL`` of the object it made or changed, and ``error``;
    lines a cancel or a stop left are ``not processed``. Streamed, in file order."""
    with engine.connect() as conn:
        state = conn.execute(select(jobs.c.job_state).where(jobs.c.id == job_id)).scalar()
    if state is not None and state in JobState.ACTIVE:
        raise JobActive(
            f"Bulk job {job_id} is {JobState.NAMES[state]}; its results are ready when it ends",
            str(job_id),
        )
    job_type, file = _job_and_file(engine, job_id)
    records = job_type.read(bytes(file.content))
    rows = _result_rows(engine, job_id, job_type, records)
    return Download(as_bytes(csv_rows(rows)), CSV_TYPE, f"bulkjob-{job_id}-results.csv")


def outcome_of(message: str) -> tuple[str, str]:
    """(outcome, refURL) of a succeeded line: its log's last line names what it did last."""
    said = message.rsplit("\n", 1)[-1]
    for start, outcome in _OUTCOMES:
        if said.startswith(start):
            rest = said[len(start) :].split(" ", 1)[0]
            return outcome, rest if rest.startswith("/") and rest[-1:].isdigit() else ""
    return "succeeded", ""


def _result_rows(
    engine: Engine, job_id: int, job_type: JobType, records: Iterator[Record]
) -> Iterator[Sequence[str]]:
    yield [*job_type.columns, *RESULT_COLUMNS]
    with engine.connect() as conn:
        done = conn.execution_options(yield_per=STREAM_ROWS).execute(
            select(lines.c.line_number, lines.c.ok, lines.c.message)
            .where(lines.c.job_id == job_id)
            .order_by(lines.c.line_number)
        )
        try:
            line = next(done, None)
            for record in records:
                while line is not None and line.line_number < record.line_number:
                    line = next(done, None)
                values = job_type.record_values(record)
                number = str(record.line_number)
                if line is None or line.line_number != record.line_number:
                    yield [*values, number, NOT_PROCESSED, "", ""]
                elif line.ok:
                    outcome, ref = outcome_of(line.message)
                    yield [*values, number, outcome, ref, ""]
                else:
                    yield [*values, number, "failed", "", line.message]
        finally:
            done.close()  # a server-side cursor on PostgreSQL, maybe not read to its end
