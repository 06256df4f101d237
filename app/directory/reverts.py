"""What the reverts of directory jobs share (docs/concepts.md, "Revert"): the revert's file lists
the original's lines that changed something, last first (``lineNumber``, ``operation`` and the
object), and each line's record in the original (``job_lines.detail``) says what to put back.
Each line is put back in a savepoint of its own; one whose object changed since fails, saying
what changed."""

from __future__ import annotations

import csv
import io
import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, true
from sqlalchemy.exc import IntegrityError

from app.db.models import Job, JobLine, table
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import RevertCsvType

jobs = table(Job)
lines = table(JobLine)


class Changed(Exception):
    """The object is not as the original line left it: the message says how."""


class RecordedRevert(RevertCsvType):
    """A revert of a directory job; ``columns[2]`` is the field of a line's record naming its
    object, ``field`` what its failures name."""

    original_label = "the lines to put back (CSV)"
    field: str

    @abstractmethod
    def put_back(self, conn: Connection, done: dict[str, Any], run: Run) -> list[str]:
        """Put back what one line of the original did (its record, ``done``); its log lines.
        Raises :class:`Changed` for an object changed since."""

    @abstractmethod
    def taken(self, done: dict[str, Any], original: int) -> str:
        """A line's error when putting it back broke a unique key or a reference."""

    def revert_content(self, conn: Connection, job_id: int) -> bytes:
        rows = conn.execute(
            select(lines.c.line_number, lines.c.detail)
            .where(lines.c.job_id == job_id, lines.c.ok == true(), lines.c.detail.is_not(None))
            .order_by(lines.c.line_number.desc())
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.columns)
        for line_number, detail in rows:
            record = json.loads(detail)
            writer.writerow((line_number, record["operation"], record[self.columns[2]]))
        return buffer.getvalue().encode("utf-8")

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        if "original" not in run.memo:
            run.memo["original"] = conn.execute(
                select(jobs.c.revert_of).where(jobs.c.id == run.job_id)
            ).scalar_one()
        original = int(run.memo["original"])
        details = dict(
            conn.execute(
                select(lines.c.line_number, lines.c.detail).where(
                    lines.c.job_id == original,
                    lines.c.line_number.in_([int(r.values[0]) for r in records]),
                )
            ).all()
        )
        return [self._revert(conn, run, record, original, details) for record in records]

    def _revert(
        self,
        conn: Connection,
        run: Run,
        record: Record,
        original: int,
        details: dict[int, str | None],
    ) -> Outcome:
        line = int(record.values[0])
        detail = details.get(line)
        if detail is None:
            message = (
                f"{self.field}: job {original} no longer has line {line} (the job was deleted)"
            )
            return Outcome(record.line_number, False, message)
        done = json.loads(detail)
        savepoint = conn.begin_nested()
        try:
            said = self.put_back(conn, done, run)
        except Changed as exc:
            savepoint.rollback()
            message = f"{self.field}: changed since job {original}: {exc}"
            return Outcome(record.line_number, False, message)
        except IntegrityError:
            savepoint.rollback()
            return Outcome(record.line_number, False, self.taken(done, original))
        savepoint.commit()
        return Outcome(record.line_number, True, "\n".join(said))
