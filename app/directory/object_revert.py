"""The reverts of the directory's object jobs (docs/concepts.md, "Revert"): jobType 103 puts
back a Call Type job, 104 a Skill Group job, 105 a Dialed Number job. Not made by upload: the
file lists the original's lines that changed something, last first; each line's record
(``job_lines.detail``, app/directory/object_job.py) says what to put back.

Each line is applied in a savepoint of its own, and only to an object still as the original
line left it (its change stamp): a created object is deleted (unless something uses it now), an
updated one gets back every value it had, a deleted one comes back with its old id. Call types
the line created are removed when nothing uses them any more.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from app.db.models import Job, JobLine, table
from app.db.sql import now_ms
from app.directory import call_type_job, dialed_number_job, objects, skill_group_job
from app.directory.object_job import ObjectJob
from app.directory.object_state import (
    View,
)
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import RevertCsvType

jobs = table(Job)
lines = table(JobLine)

COLUMNS = ("lineNumber", "operation", "id")


class _Changed(Exception):
    """The object is not as the original line left it."""


class ObjectRevert(RevertCsvType):
    columns = COLUMNS
    logged_columns = COLUMNS
    original_label = "the lines to put back (CSV)"

    def __init__(self, code: int, original: ObjectJob) -> None:
        self.code = code
        self.original = original
        self.name = f"{original.name} revert"
        self.reverts = original.code

    def revert_content(self, conn: Connection, job_id: int) -> bytes:
        rows = conn.execute(
            select(lines.c.line_number, lines.c.detail)
            .where(lines.c.job_id == job_id, lines.c.ok == true(), lines.c.detail.is_not(None))
            .order_by(lines.c.line_number.desc())
        )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for line_number, detail in rows:
            record = json.loads(detail)
            writer.writerow((line_number, record["operation"], record["id"]))
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
        view = View(conn, run)
        return [self._revert(view, record, original, details) for record in records]

    def _revert(
        self, view: View, record: Record, original: int, details: dict[int, str | None]
    ) -> Outcome:
        line = int(record.values[0])
        detail = details.get(line)
        segment = self.original.spec.kind.segment
        if detail is None:
            message = f"{segment}: job {original} no longer has line {line} (the job was deleted)"
            return Outcome(record.line_number, False, message)
        done = json.loads(detail)
        savepoint = view.conn.begin_nested()
        try:
            said = self._put_back(view, done)
            said += _remove_created(view, done.get("created", {}))
        except _Changed as exc:
            savepoint.rollback()
            return Outcome(
                record.line_number, False, f"{segment}: changed since job {original}: {exc}"
            )
        except IntegrityError:
            savepoint.rollback()
            message = (
                f"{segment}: changed since job {original}: another {self.original.spec.label} "
                "holds its name now, or what it referred to is gone"
            )
            return Outcome(record.line_number, False, message)
        savepoint.commit()
        return Outcome(record.line_number, True, "\n".join(said))

    def _put_back(self, view: View, done: dict[str, Any]) -> list[str]:
        spec, conn, now = self.original.spec, view.conn, now_ms()
        t, object_id, operation = spec.kind.table, int(done["id"]), done["operation"]
        path = spec.kind.path(object_id)
        current = view.get(spec, object_id)
        before = done.get("before")
        if operation == "delete":
            if current is not None:
                raise _Changed(f"a {spec.label} with id {object_id} exists")
            assert before is not None
            values = {c: before[c] for c in spec.columns}
            stamp = before["change_stamp"] + 1
            conn.execute(
                insert(t).values(
                    id=object_id, **values, change_stamp=stamp, created_ms=now, modified_ms=now
                )
            )
            return [f"Reverted {path} (created again)"]
        if current is None:
            raise _Changed(f"the {spec.label} was deleted: {path}")
        if current.change_stamp != done["stamp"]:
            raise _Changed(
                f"its change stamp is {current.change_stamp}, job left {done['stamp']}: {path}"
            )
        if operation == "create":
            refused = self.original.in_use(view, current)
            if refused is not None:
                raise _Changed(refused)
            conn.execute(delete(t).where(t.c.id == object_id))
            return [f"Reverted {path} (deleted)"]
        assert before is not None
        values = {c: before[c] for c in spec.columns}
        conn.execute(
            update(t)
            .where(t.c.id == object_id, t.c.change_stamp == current.change_stamp)
            .values(**values, change_stamp=current.change_stamp + 1, modified_ms=now)
        )
        return [f"Reverted {path} (its previous values)"]


def _remove_created(view: View, created: dict[str, list[int]]) -> list[str]:
    """The call types the line created that nothing uses any more: removed."""
    said = []
    spec = call_type_job.SPEC
    for object_id in created.get(spec.kind.segment, []):
        found = view.get(spec, object_id)
        if found is None or call_type_job.JOB_TYPE.in_use(view, found) is not None:
            continue
        view.conn.execute(delete(spec.kind.table).where(spec.kind.table.c.id == object_id))
        said.append(f"Removed {objects.CALL_TYPE.path(object_id)}")
    return said


JOB_TYPES = [
    ObjectRevert(103, call_type_job.JOB_TYPE),
    ObjectRevert(104, skill_group_job.JOB_TYPE),
    ObjectRevert(105, dialed_number_job.JOB_TYPE),
]
