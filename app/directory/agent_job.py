"""Job type 2: agents, with their teams, skill groups and attributes (docs/job-types/agent.md).

Each row is CREATE, UPDATE or DELETE and applied atomically: everything it changes and
creates, or nothing. A chunk reads what its rows name (agents, teams, skill groups,
attributes, desk settings, departments) in a few queries, decides each row in memory against
that and settles it there for the rows after it, then writes the chunk's rows together, a few
statements in all. Teams, skill groups and attributes a row names that do not exist are created
with the row; their unique name keys decide between two jobs creating the same name at once.

An agent is updated only if its change stamp is still the one read; if another transaction got
in the way, the chunk is redone a row at a time, each in a savepoint (a row whose agent changed
meanwhile fails, saying so). A dry run decides and settles every row in one view kept for the
whole run and writes nothing: every row is decided exactly as a real run would decide it.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from app.db.models import (
    JobLine,
    table,
)
from app.directory import objects
from app.directory import passwords as pw
from app.directory.agent_decide import decide
from app.directory.agent_plan import planned
from app.directory.agent_state import (
    AT,
    COLUMNS,
    OPTIONAL,
    PASSWORD,
    Chunk,
)
from app.directory.agent_write import Conflict, Settled, flush, settle, would
from app.directory.cells import KEEP, RowError
from app.jobs.store import succeeded_records
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import CsvFile, CsvJobType, decode

lines = table(JobLine)


class AgentJob(CsvJobType):
    code = 2
    name = "Agent"
    columns = COLUMNS
    optional_columns = OPTIONAL
    missing_cell = KEEP  # an older file's UPDATE leaves what it cannot name as it is
    logged_columns = COLUMNS
    dry_runs = True

    # The stored file ------------------------------------------------------------------

    def describe(self, record: Record) -> str:
        values = list(record.values)
        if values[PASSWORD] not in ("", KEEP):
            values[PASSWORD] = pw.MASK
        return ", ".join(f"{c}={v}" for c, v in zip(COLUMNS, values, strict=True))

    def seal(self, content: bytes, secret: str) -> bytes:
        """The file as stored: each password encrypted (docs/job-types/agent.md)."""
        text, encoding = decode(content)
        file = CsvFile(text)
        if "password" not in file.header():
            return content
        sealer = pw.Sealer(secret)

        def seal(cell: str) -> str:
            # A file stored before (run again for real) holds sealed cells already.
            unsealed = cell not in ("", KEEP) and not pw.is_sealed(cell)
            return sealer.seal(cell) if unsealed else cell

        return _rewrite(file, encoding, seal)

    def served(self, content: bytes) -> bytes:
        """The stored file as downloads show it: ``~`` where a password was."""
        text, encoding = decode(content)
        file = CsvFile(text)
        if "password" not in file.header():
            return content
        return _rewrite(file, encoding, lambda cell: KEEP if pw.is_sealed(cell) else cell)

    def record_values(self, record: Record) -> tuple[str, ...]:
        """A record's cells as the failed rows and results show them: no password."""
        values = list(record.values)
        if pw.is_sealed(values[PASSWORD]):
            values[PASSWORD] = KEEP
        return tuple(values)

    # Applying -------------------------------------------------------------------------

    def prepare(self, records: Sequence[Record], run: Run) -> None:
        """Hash the chunk's new passwords before its transaction opens: scrypt is slow on
        purpose (docs/job-types/agent.md, "Passwords"), and no lock is held meanwhile."""
        hashes: dict[int, str | pw.PasswordError] = {}
        run.memo["hashes"] = hashes
        if run.dry_run:
            return
        sealer = pw.Sealer(run.settings.secret())
        for record in records:
            cell = record.values[PASSWORD]
            if cell in ("", KEEP):
                continue
            try:
                hashes[record.line_number] = pw.hashed(pw.readable(sealer, cell))
            except pw.PasswordError as exc:
                hashes[record.line_number] = exc
            run.keep_alive()

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        if not run.dry_run:
            return _apply(conn, run, records)
        # A dry run decides and settles every row in one view kept for the whole run, and
        # writes nothing; a run resumed after a stop first settles the lines committed before.
        view = run.memo.get("view")
        if not isinstance(view, Chunk):
            first = records[0].line_number if records else 0
            earlier = succeeded_records(conn, self, run.job_id, first)
            view = run.memo["view"] = Chunk(conn, run, earlier, dry_run=True)
            for record in earlier:
                # Each succeeded when committed; one the directory now refuses (another job
                # changed it since) is left out of the view rather than failing the run.
                with contextlib.suppress(RowError):
                    settle(view, decide(view, record))
        view.conn = conn
        view.extend(records)
        outcomes = []
        for record in records:
            try:
                settled = settle(view, decide(view, record))
            except RowError as exc:
                outcomes.append(Outcome(record.line_number, False, str(exc)))
                continue
            outcomes.append(
                Outcome(record.line_number, True, would(settled), planned(view, settled))
            )
        return outcomes

    def summary(self, conn: Connection, job_id: int, dry_run: bool) -> str | None:
        return objects.job_summary(conn, job_id, objects.KINDS, dry_run)


def _rewrite(file: CsvFile, encoding: str, change: Callable[[str], str]) -> bytes:
    """The file again with ``change`` applied to each row's password cell; every record stays
    on the line it started on (blank lines are kept), so line numbers do not move."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=file.delimiter, lineterminator="\r\n")
    position = file.header().index("password")
    line = 1
    for number, (start, row) in enumerate(file.rows()):
        out.write("\r\n" * (start - line))
        if number and len(row) > position:
            row[position] = change(row[position].strip())
        writer.writerow(row)
        line = start + 1 + sum(cell.count("\n") for cell in row)
    return out.getvalue().encode(encoding)


def _apply(conn: Connection, run: Run, records: Sequence[Record]) -> list[Outcome]:
    """Every row decided and settled in memory, then written together; if another transaction
    got in the way (an agent changed, a name taken meanwhile), the rows again one at a time,
    each in a savepoint of its own."""
    savepoint = conn.begin_nested()
    try:
        outcomes = _together(Chunk(conn, run, records), records)
    except (Conflict, IntegrityError):
        savepoint.rollback()
        return _one_at_a_time(conn, run, records)
    savepoint.commit()
    return outcomes


def _together(chunk: Chunk, records: Sequence[Record]) -> list[Outcome]:
    outcomes: list[Outcome | None] = []
    settled: list[Settled] = []
    for record in records:
        try:
            settled.append(settle(chunk, decide(chunk, record)))
            outcomes.append(None)
        except RowError as exc:
            outcomes.append(Outcome(record.line_number, False, str(exc)))
    said = iter(flush(chunk, settled))
    return [
        outcome or Outcome(record.line_number, True, *next(said))
        for record, outcome in zip(records, outcomes, strict=True)
    ]


def _one_at_a_time(conn: Connection, run: Run, records: Sequence[Record]) -> list[Outcome]:
    outcomes = []
    chunk = Chunk(conn, run, records)
    for position, record in enumerate(records):
        line = record.line_number
        try:
            plan = decide(chunk, record)
        except RowError as exc:  # decided in memory: nothing to undo
            outcomes.append(Outcome(line, False, str(exc)))
            continue
        savepoint = conn.begin_nested()
        try:
            ((messages, detail),) = flush(chunk, [settle(chunk, plan)])
        except (RowError, Conflict, IntegrityError) as exc:
            savepoint.rollback()
            outcomes.append(Outcome(line, False, _refused(exc, record)))
            # What the chunk holds in memory may be off now: read again for the rest.
            chunk = Chunk(conn, run, records[position + 1 :])
            continue
        savepoint.commit()
        outcomes.append(Outcome(line, True, messages, detail))
    return outcomes


def _refused(exc: Exception, record: Record) -> str:
    if isinstance(exc, RowError):
        return str(exc)
    user_name = record.values[AT["userName"]]
    if isinstance(exc, Conflict):
        return f"agentId: The agent was changed by another job at the same time: {user_name}"
    # Another transaction took a name this row meant to take, after the chunk read.
    return f"userName: The userName is already in use: {user_name}"


JOB_TYPE = AgentJob()
