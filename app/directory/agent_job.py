"""Job type 2: agents, with their teams, skill groups and attributes (docs/job-types/agent.md).

Each row is CREATE, UPDATE or DELETE and applied atomically in a savepoint of the chunk's
transaction: everything it changes and creates, or nothing. A chunk reads what its rows name
(agents, teams, skill groups, attributes, desk settings, departments) in a few queries, decides
each row in memory against that, writes it, and keeps what it wrote in memory for the rows
after it. Teams, skill groups and attributes a row names that do not exist are created with
the row; their unique name keys decide between two jobs creating the same name at once.

An agent is updated only if its change stamp is still the one read (else the row fails: another
job changed it meanwhile). A dry run applies each chunk, after replaying the job's earlier
succeeded lines, inside a savepoint it then rolls back: every row is decided exactly as a real
run would decide it, and nothing stays.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, select, true
from sqlalchemy.exc import IntegrityError

from app.db.models import (
    JobLine,
    table,
)
from app.directory import objects
from app.directory import passwords as pw
from app.directory.agent_decide import decide
from app.directory.agent_state import (
    AT,
    COLUMNS,
    OPTIONAL,
    PASSWORD,
    Chunk,
    Named,
    bare,
)
from app.directory.agent_write import write
from app.directory.cells import KEEP, RowError
from app.directory.names import name_key
from app.jobs.store import job_file
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import CsvFile, CsvJobType, decode

lines = table(JobLine)


class AgentJob(CsvJobType):
    code = 2
    name = "Agent"
    columns = COLUMNS
    optional_columns = OPTIONAL
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
        if run.dry_run:
            return self._dry_run(conn, records, run)
        chunk = Chunk(conn, run, records)
        return [self._apply(chunk, record, dry_run=False) for record in records]

    def _apply(self, chunk: Chunk, record: Record, *, dry_run: bool) -> Outcome:
        line = record.line_number
        savepoint = chunk.conn.begin_nested()
        try:
            plan = decide(chunk, record)
            messages, detail = write(chunk, plan, dry_run)
        except RowError as exc:
            savepoint.rollback()
            _reread(chunk, record)
            return Outcome(line, False, str(exc))
        except IntegrityError:
            # Another transaction took a name this row meant to take, after the chunk read.
            savepoint.rollback()
            _reread(chunk, record)
            user_name = record.values[AT["userName"]]
            return Outcome(line, False, f"userName: The userName is already in use: {user_name}")
        savepoint.commit()
        return Outcome(line, True, "\n".join(messages), detail)

    def _dry_run(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        """Replay the job's earlier succeeded lines, decide this chunk's, roll all back."""
        earlier = _earlier(conn, self, run, records[0].line_number if records else 0)
        savepoint = conn.begin_nested()
        try:
            if earlier:
                replay = Chunk(conn, run, earlier)
                for record in earlier:
                    self._apply(replay, record, dry_run=True)
            chunk = Chunk(conn, run, records)
            outcomes = [self._apply(chunk, record, dry_run=True) for record in records]
        finally:
            savepoint.rollback()
        run.memo.setdefault("succeeded", []).extend(
            record for record, o in zip(records, outcomes, strict=True) if o.ok
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


def _earlier(conn: Connection, job_type: AgentJob, run: Run, first_line: int) -> list[Record]:
    """The records of the dry run's earlier succeeded lines (kept by the run; read from the
    job's file and committed lines when the run resumed after a stop)."""
    kept = run.memo.get("succeeded")
    if kept is not None:
        return list(kept)
    ok = set(
        conn.execute(
            select(lines.c.line_number).where(
                lines.c.job_id == run.job_id, lines.c.ok == true(), lines.c.line_number < first_line
            )
        ).scalars()
    )
    records = [r for r in job_type.read(job_file(conn, run.job_id)) if r.line_number in ok]
    run.memo["succeeded"] = records
    return list(records)


def _reread(chunk: Chunk, record: Record) -> None:
    """After a row rolled back: what it named is read again (objects it created are gone)."""
    fresh = Chunk(chunk.conn, chunk.run, [record])
    for name in ("teams", "groups", "attributes"):
        mine: dict[str, Named] = getattr(chunk, name)
        theirs: dict[str, Named] = getattr(fresh, name)
        for key in _record_keys(record, name):
            mine.pop(key, None)
            if key in theirs:
                mine[key] = theirs[key]


def _record_keys(record: Record, kind: str) -> set[str]:
    v = record.values
    if kind == "teams":
        names = [v[AT["agentTeamName"]], *v[AT["supervisorTeams"]].split(";")]
    elif kind == "groups":
        names = [*v[AT["skillGroups"]].split(";"), v[AT["defaultSkillGroup"]]]
    else:
        names = [item.split("=", 1)[0] for item in v[AT["attributes"]].split(";")]
    return {name_key(bare(n)) for n in names if bare(n) not in ("", KEEP)}


JOB_TYPE = AgentJob()
