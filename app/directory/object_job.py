"""What the jobs of the directory's own objects share: skill groups (jobType 4), call types (3)
and dialed numbers (1) (docs/directory.md, "Files"; a page each under docs/job-types/).

A type says which object a row names and what the row makes of it (:meth:`ObjectJob.decide`,
against a :class:`View` of the directory); the rest is written here once. Each row is applied
in a savepoint of its own: the objects it creates implicitly (a dialed number's call type), then
its own object, inserted, or updated or deleted only if its change stamp is still the one read
(else the row fails: another job changed it meanwhile). A unique key another transaction took
first fails the row, so two jobs creating the same name end with one object.

A dry run decides every row against the same view, kept for the whole run, with what each
earlier row would have done laid over the directory, and writes nothing. A file changes only
objects of its own kind (and creates call types), so nothing else a later row reads can differ
from a real run.
"""

from __future__ import annotations

import contextlib
import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.db.sql import now_ms
from app.directory import cells, near, objects
from app.directory.cells import KEEP, RowError
from app.directory.names import name_key
from app.directory.object_state import (
    Change,
    Conflict,
    Implicit,
    NameOf,
    Obj,
    Spec,
    View,
    description,
    kept,
    obj_of,
    outcome_of_change,
)
from app.directory.template import start_index
from app.jobs.downloads import CSV_TYPE, Download
from app.jobs.store import succeeded_records
from app.jobs.types.base import Outcome, Record, Run
from app.jobs.types.csvfile import CsvJobType, as_bytes, csv_rows


class _Names:
    """Names by id, each kind read whole the first time it is asked for (a template)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[str, dict[int, str]] = {}

    def __call__(self, kind: objects.Kind, object_id: int) -> str:
        if kind.segment not in self.known:
            t = kind.table
            self.known[kind.segment] = dict(self.conn.execute(select(t.c.id, t.c.name)).all())
        return self.known[kind.segment][object_id]


# The job ----------------------------------------------------------------------------------


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_OPERATIONS = {objects.CREATED: "create", objects.UPDATED: "update", objects.DELETED: "delete"}


class ObjectJob(CsvJobType):
    """A directory file of one kind of object (docs/directory.md, "Files")."""

    spec: Spec
    dry_runs = True

    @property
    def touches(self) -> str:  # type: ignore[override]
        return self.spec.label

    @abstractmethod
    def decide(self, view: View, row: dict[str, str]) -> Change:
        """What the row (its cells by column) does, against ``view``; raises RowError."""

    @abstractmethod
    def named(self, values: dict[str, Any]) -> str:
        """How a dry run names an object that does not exist yet: its name."""

    @abstractmethod
    def taken(self, row: dict[str, str]) -> str:
        """The row's error when another transaction took its object's key first."""

    def changed(self, row: dict[str, str]) -> str:
        """The row's error when another transaction changed its object meanwhile."""
        named = self.columns[1]
        label = self.spec.label
        return f"{named}: The {label} was changed by another job at the same time: {row[named]}"

    def in_use(self, view: View, before: Obj) -> str | None:
        """Why the object cannot be deleted (what still uses it), or None."""
        return None

    @abstractmethod
    def cells_of(self, obj: Obj, name_of: NameOf, implicit: Sequence[Implicit]) -> dict[str, str]:
        """The object as its file's cells (every column but ``operation`` and a rename's
        ``newName``), what it refers to by name (``implicit``: objects the row would create
        first, not known to ``name_of`` yet)."""

    def template(self, conn: Connection, start: int, limit: int) -> Iterator[Sequence[str]]:
        """The rows of the type's template (docs/directory.md, "Templates")."""
        name_of = _Names(conn)
        for found in template_objects(conn, self.spec, start, limit):
            cells_ = self.cells_of(found, name_of, [])
            yield tuple(
                cells.UPDATE if c == "operation" else cells_.get(c, "") for c in self.columns
            )

    def insert_values(self, view: View, values: dict[str, Any]) -> dict[str, Any]:
        """The columns a new object gets besides the file's (a skill group's number)."""
        return values

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        view = run.memo.get("view") if run.dry_run else None
        if not isinstance(view, View):
            view = View(conn, run)
            if run.dry_run:
                run.memo["view"] = view
                first = records[0].line_number if records else 0
                for record in succeeded_records(conn, self, run.job_id, first):
                    # Succeeded when committed; one refused now is left out of the view.
                    with contextlib.suppress(RowError):
                        view.settle(self.spec, self.decide(view, self._row(record)))
        view.conn = conn
        return [self._one(view, record) for record in records]

    def _row(self, record: Record) -> dict[str, str]:
        return dict(zip(self.columns, record.values, strict=True))

    def _one(self, view: View, record: Record) -> Outcome:
        line, row = record.line_number, self._row(record)
        if view.dry_run:
            try:
                change = self.decide(view, row)
            except RowError as exc:
                return Outcome(line, False, str(exc))
            said = self._would(view, change)
            planned = self._planned(view, change)
            view.settle(self.spec, change)
            return Outcome(line, True, said, planned)
        savepoint = view.conn.begin_nested()
        try:
            change = self.decide(view, row)
            said, detail = self._write(view, change)
        except RowError as exc:
            savepoint.rollback()
            return Outcome(line, False, str(exc))
        except Conflict:
            savepoint.rollback()
            return Outcome(line, False, self.changed(row))
        except IntegrityError:
            savepoint.rollback()
            return Outcome(line, False, self.taken(row))
        savepoint.commit()
        return Outcome(line, True, said, detail)

    def _own_close(self, view: View, change: Change) -> list[str]:
        """:func:`_warned` for the named object a CREATE row makes (logged before it)."""
        if change.word != objects.CREATED or "name" not in self.spec.columns:
            return []
        assert change.after is not None
        return _warned(view, self.spec.kind, str(change.after.values["name"]))

    def _would(self, view: View, change: Change) -> str:
        said = []
        for new in change.implicit:
            said.append(objects.said_named(objects.CREATED, new.spec.kind, str(new.values["name"])))
            said += _warned(view, new.spec.kind, str(new.values["name"]))
        said += self._own_close(view, change)
        target = change.after if change.after is not None else change.before
        assert target is not None
        if target.id <= 0:
            said.append(objects.said_named(change.word, self.spec.kind, self.named(target.values)))
        else:
            said.append(objects.said(change.word, self.spec.kind, target.id, dry_run=True))
        return "\n".join(said)

    def _planned(self, view: View, change: Change) -> str | None:
        """A dry run's record of the fields the row would change (docs/concepts.md, "Plan")."""
        if change.word in (objects.UNCHANGED, objects.DELETED) or change.after is None:
            return None
        after = self.cells_of(change.after, view.name_of, change.implicit)
        before = (
            dict.fromkeys(after, "")
            if change.before is None
            else self.cells_of(change.before, view.name_of, [])
        )
        changes = [[c, before[c], after[c]] for c in after if before[c] != after[c]]
        return _ENCODE({"changes": changes})

    def _write(self, view: View, change: Change) -> tuple[str, str | None]:
        conn, kind, now = view.conn, self.spec.kind, now_ms()
        said: list[str] = []
        created: dict[str, list[int]] = {}
        for new in change.implicit:
            values = {**new.values, "created_ms": now, "modified_ms": now}
            new_id = objects.create(conn, new.spec.kind, values)
            if new_id is None:  # another transaction made it after this row read
                found = view.find(new.spec, new.spec.key_of(new.values))
                assert found is not None
                new_id = found.id
            else:
                said.append(objects.said(objects.CREATED, new.spec.kind, new_id))
                said += _warned(view, new.spec.kind, str(new.values["name"]))
                created.setdefault(new.spec.kind.segment, []).append(new_id)
            assert change.after is not None
            change.after.values[new.column] = new_id
        before, after, t = change.before, change.after, kind.table
        if change.word == objects.CREATED:
            assert after is not None
            values = self.insert_values(view, dict(after.values))
            statement = insert(t).values(**values, change_stamp=0, created_ms=now, modified_ms=now)
            after.id = int(conn.execute(statement.returning(t.c.id)).scalar_one())
        elif change.word in (objects.UPDATED, objects.DELETED):
            assert before is not None
            where = (t.c.id == before.id, t.c.change_stamp == before.change_stamp)
            if change.word == objects.UPDATED:
                assert after is not None
                values = {**after.values, "change_stamp": after.change_stamp, "modified_ms": now}
                done = conn.execute(update(t).where(*where).values(**values)).rowcount
            else:
                done = conn.execute(delete(t).where(*where)).rowcount
            if done != 1:
                raise Conflict
        said += self._own_close(view, change)
        target = after if after is not None else before
        assert target is not None
        said.append(objects.said(change.word, kind, target.id))
        if change.word == objects.UNCHANGED:
            return "\n".join(said), None
        # What a revert needs (app/directory/object_revert.py).
        record: dict[str, Any] = {"operation": _OPERATIONS[change.word], "id": target.id}
        if before is not None:
            record["before"] = {**before.values, "change_stamp": before.change_stamp}
        if after is not None:
            record["stamp"] = after.change_stamp
        if created:
            record["created"] = created
        return "\n".join(said), _ENCODE(record)

    def summary(self, conn: Connection, job_id: int, dry_run: bool) -> str | None:
        return objects.job_summary(conn, job_id, objects.KINDS, dry_run)


class NamedJob(ObjectJob):
    """A file of named objects (skill groups, call types): ``name`` names the object, an
    UPDATE's ``newName`` renames it, ``description`` describes it; :meth:`settings` reads the
    rest of the row."""

    @abstractmethod
    def settings(
        self, view: View, operation: str, before: Obj | None, row: dict[str, str]
    ) -> dict[str, Any]:
        """The values of the row's other columns."""

    def decide(self, view: View, row: dict[str, str]) -> Change:
        operation = cells.operation(row["operation"])
        name = cells.enterprise_name("name", cells.text("name", row["name"], 32, required=True))
        label = self.spec.label
        before = view.find(self.spec, (name_key(name),))
        if operation == cells.CREATE and before is not None:
            raise RowError("name", f"The {label} already exists: {name}")
        if operation != cells.CREATE and before is None:
            raise RowError("name", f"The {label} does not exist: {name}")
        if operation == cells.DELETE:
            assert before is not None
            refused = self.in_use(view, before)
            if refused is not None:
                raise RowError("name", refused)
            return Change(objects.DELETED, before)
        new_name = row["newName"]
        if new_name not in ("", KEEP):
            if before is None:
                raise RowError("newName", "only an UPDATE renames: leave newName empty")
            cells.enterprise_name("newName", new_name)
            holder = view.find(self.spec, (name_key(new_name),))
            if holder is not None and holder.id != before.id:
                raise RowError("newName", f"The {label} name is already in use: {new_name}")
            name = new_name
        elif before is not None:
            name = before.values["name"]  # the cell names it; the spelling stays
        values = {
            "name": name,
            "name_key": name_key(name),
            "description": kept(operation, before, "description", row["description"], description),
            **self.settings(view, operation, before, row),
        }
        return outcome_of_change(operation, before, values)

    def named(self, values: dict[str, Any]) -> str:
        return str(values["name"])

    def taken(self, row: dict[str, str]) -> str:
        name = row["newName"] if row["newName"] not in ("", KEEP) else row["name"]
        return f"name: The {self.spec.label} name is already in use: {name}"


def _warned(view: View, kind: objects.Kind, name: str) -> list[str]:
    """``Warning: ...`` if ``name`` is a small edit away from an existing name of ``kind``
    (app/directory/near.py); the run remembers it either way."""
    close = near.near(name, near.existing(view.conn, view.run.memo, kind))
    near.made(view.run.memo, kind, name)
    return [near.warning(name, close)] if close else []


def template_objects(conn: Connection, spec: Spec, start: int, limit: int) -> Iterator[Obj]:
    """The objects from the ``start``-th by id on, at most ``limit``."""
    t = spec.kind.table
    statement = spec.select().order_by(t.c.id).offset(start).limit(limit)
    for found in conn.execution_options(yield_per=1000).execute(statement):
        yield obj_of(spec, found)


def download(engine: Engine, job_type: ObjectJob, start: str | None, limit: int) -> Download:
    """The type's template (docs/directory.md, "Templates"): its objects from ``start`` on, by
    id, at most ``limit``, as rows of its file (``operation`` UPDATE)."""
    offset = start_index(start)

    def rows() -> Iterator[Sequence[str]]:
        yield job_type.columns
        with engine.connect() as conn:
            yield from job_type.template(conn, offset, limit)

    slug = job_type.name.lower().replace(" ", "")
    return Download(as_bytes(csv_rows(rows())), CSV_TYPE, f"{slug}.csv")
