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

from typing import Any

from sqlalchemy import Connection, delete, insert, update

from app.db.sql import now_ms
from app.directory import call_type_job, dialed_number_job, objects, skill_group_job
from app.directory.object_job import ObjectJob
from app.directory.object_state import View
from app.directory.reverts import Changed, RecordedRevert
from app.jobs.types.base import Run

COLUMNS = ("lineNumber", "operation", "id")


class ObjectRevert(RecordedRevert):
    columns = COLUMNS
    logged_columns = COLUMNS

    def __init__(self, code: int, original: ObjectJob) -> None:
        self.code = code
        self.original = original
        self.name = f"{original.name} revert"
        self.reverts = original.code
        self.field = original.spec.kind.segment

    def put_back(self, conn: Connection, done: dict[str, Any], run: Run) -> list[str]:
        view = View(conn, run)
        return self._put_back(view, done) + _remove_created(view, done.get("created", {}))

    def taken(self, done: dict[str, Any], original: int) -> str:
        return (
            f"{self.field}: changed since job {original}: another {self.original.spec.label} "
            "holds its name now, or what it referred to is gone"
        )

    def _put_back(self, view: View, done: dict[str, Any]) -> list[str]:
        spec, conn, now = self.original.spec, view.conn, now_ms()
        t, object_id, operation = spec.kind.table, int(done["id"]), done["operation"]
        path = spec.kind.path(object_id)
        current = view.get(spec, object_id)
        before = done.get("before")
        if operation == "delete":
            if current is not None:
                raise Changed(f"a {spec.label} with id {object_id} exists")
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
            raise Changed(f"the {spec.label} was deleted: {path}")
        if current.change_stamp != done["stamp"]:
            raise Changed(
                f"its change stamp is {current.change_stamp}, job left {done['stamp']}: {path}"
            )
        if operation == "create":
            refused = self.original.in_use(view, current)
            if refused is not None:
                raise Changed(refused)
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
