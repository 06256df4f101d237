"""What a job lets you download: its log, its original file, its failed rows; and the template.

Each ``open_*`` function checks that the thing exists (raising before a response starts) and
returns an iterator that streams from its own connection, a chunk of rows at a time.
"""

from __future__ import annotations

import csv
import heapq
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, false, select

from app import jobtypes
from app.errors import InvalidInput, NotFound
from app.jobtypes.csvfile import Record, neutralise
from app.jobtypes.scim_bulk import SCIM_BULK, bulk_response
from app.models import Agent, Job, JobEvent, JobFile, JobLine, table

jobs = table(Job)
files = table(JobFile)
events = table(JobEvent)
lines = table(JobLine)
agents = table(Agent)

STREAM_ROWS = 2000


def timestamp(ms: int) -> str:
    """``2026-11-23T10:00:00.123+00:00``: the log's ISO-8601 time with offset."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def one_line(text: str) -> str:
    """CR and LF written as ``\\r`` and ``\\n`` so one event stays one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _job_and_file(engine: Engine, job_id: int) -> tuple[Any, Any]:
    with engine.connect() as conn:
        job = conn.execute(select(jobs.c.id, jobs.c.job_type).where(jobs.c.id == job_id)).first()
        if job is None:
            raise NotFound(f"Bulk job {job_id} does not exist", str(job_id))
        file = conn.execute(
            select(files.c.content, files.c.encoding).where(files.c.job_id == job_id)
        ).first()
    return job, file


def _records(file: Any, job_type: int) -> Iterator[Record]:
    return jobtypes.get(job_type).read(bytes(file.content))


def open_original(engine: Engine, job_id: int) -> tuple[bytes, str, str]:
    """The original upload, byte for byte, with its media type and file name suffix (a CSV, or
    a SCIM bulk job's BulkRequest)."""
    job, file = _job_and_file(engine, job_id)
    job_type = jobtypes.get(job.job_type)
    return bytes(file.content), job_type.media_type, job_type.suffix


def open_bulk_response(engine: Engine, job_id: int) -> dict[str, Any]:
    """A SCIM bulk job's BulkResponse: the entries of the operations run so far."""
    with engine.connect() as conn:
        code = conn.execute(select(jobs.c.job_type).where(jobs.c.id == job_id)).scalar()
        if code is None:
            raise NotFound(f"Bulk job {job_id} does not exist", str(job_id))
        if code != SCIM_BULK.code:
            raise NotFound(
                f"Bulk job {job_id} is a {jobtypes.get(code).name} job; only SCIM bulk jobs "
                "have a BulkResponse",
                str(job_id),
            )
        details = conn.execute(
            select(lines.c.detail).where(lines.c.job_id == job_id, lines.c.detail.is_not(None))
        ).scalars()
        return bulk_response(iter(details))


def open_log(engine: Engine, job_id: int) -> Iterator[str]:
    job, file = _job_and_file(engine, job_id)
    return _log_lines(engine, job_id, job.job_type, file)


def _log_lines(engine: Engine, job_id: int, job_type: int, file: Any) -> Iterator[str]:
    describe = jobtypes.get(job_type).describe
    unit = jobtypes.get(job_type).unit
    records = _records(file, job_type)
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
                yield f"{stamp} - {one_line(row.message)}\n"
            else:
                error = one_line(row.message)
                yield f"{stamp} - Error processing {unit} {row.line_number}: {error}\n"


class _Echo:
    """A file-like object whose ``write`` returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """Rows as CSV text with formula-looking cells neutralised."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([neutralise(str(cell)) for cell in row])


def open_failed(engine: Engine, job_id: int) -> Iterator[str]:
    """The failed rows: the type's columns, then lineNumber and error."""
    job, file = _job_and_file(engine, job_id)
    columns = jobtypes.get(job.job_type).columns
    return csv_rows(_failed_rows(engine, job_id, columns, _records(file, job.job_type)))


def _failed_rows(
    engine: Engine, job_id: int, columns: Sequence[str], records: Iterator[Record]
) -> Iterator[Sequence[str]]:
    yield [*columns, "lineNumber", "error"]
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
            yield [*record.values, str(row.line_number), row.message]


TEMPLATE_TERM = re.compile(r"\s*(peripheralId|agentTeamId):(\d+)\s*", re.IGNORECASE)


def parse_template_query(q: str | None) -> dict[str, int]:
    """``peripheralId:5000 agentTeamId:12``, with or without the space between terms."""
    found: dict[str, int] = {}
    text = q or ""
    position = 0
    while position < len(text):
        match = TEMPLATE_TERM.match(text, position)
        if match is None:
            if text[position:].strip():
                raise InvalidInput(
                    f"Cannot filter the template by {text[position:].strip()!r}; use "
                    "peripheralId:<id> and/or agentTeamId:<id>",
                    "q",
                )
            break
        name = "peripheralId" if match.group(1).lower() == "peripheralid" else "agentTeamId"
        found[name] = int(match.group(2))
        position = match.end()
    return found


TEMPLATE_COLUMNS = ("userName", "firstName", "lastName", "newUserName")


def open_template(engine: Engine, q: str | None, limit: int) -> Iterator[str]:
    """The SSO-migration template: the first ``limit`` non-SSO agents by id."""
    filters = parse_template_query(q)
    statement = (
        select(agents.c.user_name, agents.c.first_name, agents.c.last_name)
        .where(agents.c.sso_enabled == false())
        .order_by(agents.c.id)
        .limit(limit)
    )
    if "peripheralId" in filters:
        statement = statement.where(agents.c.peripheral_id == filters["peripheralId"])
    if "agentTeamId" in filters:
        statement = statement.where(agents.c.agent_team_id == filters["agentTeamId"])
    return csv_rows(_template_rows(engine, statement))


def _template_rows(engine: Engine, statement: Any) -> Iterator[Sequence[str]]:
    yield TEMPLATE_COLUMNS
    with engine.connect() as conn:
        for user_name, first_name, last_name in conn.execution_options(
            yield_per=STREAM_ROWS
        ).execute(statement):
            yield (user_name, first_name, last_name, "")


def as_bytes(chunks: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Join small text pieces into UTF-8 blocks of about ``size`` bytes for the response."""
    buffer = io.StringIO()
    length = 0
    for chunk in chunks:
        buffer.write(chunk)
        length += len(chunk)
        if length >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer = io.StringIO()
            length = 0
    if length:
        yield buffer.getvalue().encode("utf-8")
