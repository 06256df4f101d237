"""What the jobs of the directory's own objects work on (app/directory/object_job.py): the
kinds as a file sees them, objects and what a row does to one, the view of the directory the
rows are decided against, and the cells every type reads the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, Select, select

from app.db.sql import sql
from app.directory import cells, objects
from app.directory.cells import KEEP, RowError
from app.directory.names import name_key
from app.directory.near import did_you_mean
from app.directory.new_agents import default_peripheral, peripheral_exists
from app.exceptions import InvalidInput
from app.jobs.types.base import Run

domains = objects.MEDIA_ROUTING_DOMAIN.table


@dataclass(frozen=True)
class Spec:
    """A kind of object as a file sees it: its table and log words (``kind``), what messages
    call it, the columns that name one (``key``) and the columns a file sets."""

    kind: objects.Kind
    label: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    def select(self) -> Select[Any]:
        """Its objects as :func:`obj_of` reads them: id, change stamp and the file's columns."""
        t = self.kind.table
        return select(t.c.id, t.c.change_stamp, *(t.c[c] for c in self.columns))

    def key_of(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values[column] for column in self.key)


@dataclass
class Obj:
    """An object as the job sees it: its id (negative: one a dry run would create), the values
    of its spec's columns and its change stamp."""

    id: int
    values: dict[str, Any]
    change_stamp: int = 0


@dataclass(frozen=True)
class Implicit:
    """A named object a row creates first if it does not exist (a dialed number's call type);
    its id goes into ``column`` of the row's own object."""

    spec: Spec
    values: dict[str, Any]
    column: str


@dataclass
class Change:
    """What one row does: ``word`` is objects.CREATED, UPDATED, DELETED or UNCHANGED."""

    word: str
    before: Obj | None = None
    after: Obj | None = None
    implicit: list[Implicit] = field(default_factory=list)


# The name of an object of a kind, by its id.
NameOf = Callable[[objects.Kind, int], str]


class Conflict(Exception):
    """The object was changed by another transaction since the row read it."""


class View:
    """The directory as a job's rows see it. A real run reads it as it is (each row's writes
    are seen by the next); a dry run lays what its earlier rows would have done over it."""

    def __init__(self, conn: Connection, run: Run) -> None:
        self.conn = conn
        self.run = run
        self.dry_run = run.dry_run
        self.overlay: dict[tuple[str, tuple[Any, ...]], Obj | None] = {}
        self._provisional = 0
        self._domains: dict[str, int] = {}
        self._peripherals: dict[int, bool] = {}
        self._names: dict[tuple[str, int], str] = {}
        self._provisional_names: dict[int, str] = {}

    def find(self, spec: Spec, key: tuple[Any, ...]) -> Obj | None:
        laid = self.overlay.get((spec.kind.segment, key), self)
        if laid is not self:
            return laid if isinstance(laid, Obj) else None
        t = spec.kind.table
        row = self.conn.execute(
            spec.select().where(*(t.c[c] == value for c, value in zip(spec.key, key, strict=True)))
        ).first()
        return None if row is None else obj_of(spec, row)

    def name_of(self, kind: objects.Kind, object_id: int) -> str:
        """The name of an object, one a dry run would create included."""
        if object_id < 0:
            return self._provisional_names[object_id]
        if (kind.segment, object_id) not in self._names:
            t = kind.table
            self._names[(kind.segment, object_id)] = str(
                self.conn.execute(select(t.c.name).where(t.c.id == object_id)).scalar_one()
            )
        return self._names[(kind.segment, object_id)]

    def get(self, spec: Spec, object_id: int) -> Obj | None:
        """The object with ``object_id`` as the database has it."""
        t = spec.kind.table
        row = self.conn.execute(spec.select().where(t.c.id == object_id)).first()
        return None if row is None else obj_of(spec, row)

    def settle(self, spec: Spec, change: Change) -> None:
        """A dry run's view after ``change`` (a real run wrote it: nothing to keep)."""
        if not self.dry_run:
            return
        for new in change.implicit:
            self._provisional -= 1
            self.overlay[(new.spec.kind.segment, new.spec.key_of(new.values))] = Obj(
                self._provisional, new.values
            )
            self._provisional_names[self._provisional] = str(new.values["name"])
            if change.after is not None:
                change.after.values[new.column] = self._provisional
        if change.before is not None and change.word != objects.UNCHANGED:
            self.overlay[(spec.kind.segment, spec.key_of(change.before.values))] = None
        if change.after is not None and change.word != objects.UNCHANGED:
            if change.after.id == 0:
                self._provisional -= 1
                change.after.id = self._provisional
            self.overlay[(spec.kind.segment, spec.key_of(change.after.values))] = change.after

    def domain(self, field_name: str, value: str) -> int:
        """The id of the media routing domain named ``value`` (empty: ``Cisco_Voice``)."""
        key = name_key(value or "Cisco_Voice")
        if key not in self._domains:
            found = self.conn.exec_driver_sql(
                sql(self.conn, "SELECT id FROM media_routing_domains WHERE name_key = ?"), (key,)
            ).first()
            if found is None:
                known = self.conn.execute(select(domains.c.name)).scalars()
                raise RowError(
                    field_name,
                    f"The media routing domain does not exist: {value}{did_you_mean(value, known)}",
                )
            self._domains[key] = int(found[0])
        return self._domains[key]

    def peripheral(self, field_name: str, value: str) -> int:
        """The peripheral ``value`` names (empty: the default one, docs/configuration.md)."""
        if not value:
            try:
                return default_peripheral(self.conn, self.run.settings.scim_default_peripheral)
            except InvalidInput as exc:  # no peripheral at all
                raise RowError(field_name, exc.message) from None
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise RowError(field_name, f"must be a peripheral's id: {value}")
        number = int(value)
        if number not in self._peripherals:
            self._peripherals[number] = peripheral_exists(self.conn, number)
        if not self._peripherals[number]:
            raise RowError(field_name, f"The peripheral does not exist: {value}")
        return number

    def count(self, statement: str, object_id: int) -> int:
        """How many rows ``statement`` (one ``?``, the object's id) counts; none for an object
        a dry run would create."""
        if object_id < 0:
            return 0
        return int(self.conn.exec_driver_sql(sql(self.conn, statement), (object_id,)).scalar_one())


def obj_of(spec: Spec, row: Row[Any]) -> Obj:
    mapping = row._mapping
    return Obj(int(mapping["id"]), {c: mapping[c] for c in spec.columns}, mapping["change_stamp"])


# The cells every type reads the same way ---------------------------------------------------


def kept(
    operation: str, before: Obj | None, column: str, value: str, parse: Callable[[str], Any]
) -> Any:
    """A cell's value for ``column``: in an UPDATE, ``~`` keeps what the object has; else the
    parsed cell (``~`` in a CREATE reads as empty)."""
    if value == KEEP:
        if operation == cells.UPDATE and before is not None:
            return before.values[column]
        value = ""
    return parse(value)


def whole_number(field_name: str, limit: int = 2**31 - 1) -> Callable[[str], int | None]:
    """A whole number from 0 to ``limit``, or empty (None)."""

    def parse(value: str) -> int | None:
        if not value:
            return None
        if not (value.isascii() and value.isdigit()) or int(value) > limit:
            raise RowError(
                field_name, f"must be a whole number from 0 to {limit} or empty: {value}"
            )
        return int(value)

    return parse


_threshold = whole_number("serviceLevelThreshold")

SERVICE_LEVEL_TYPES = {
    1: "Ignore abandoned calls",
    2: "Abandoned calls have negative impact",
    3: "Abandoned calls have positive impact",
}


def service_level_type(value: str) -> int | None:
    """1, 2 or 3 (docs/directory.md), or empty (None: the default)."""
    if not value:
        return None
    if value in ("1", "2", "3"):
        return int(value)
    choices = ", ".join(f"{n} ({label})" for n, label in SERVICE_LEVEL_TYPES.items())
    raise RowError("serviceLevelType", f"must be {choices} or empty: {value}")


def service_levels(operation: str, before: Obj | None, row: dict[str, str]) -> dict[str, Any]:
    """A skill group's or a call type's ``serviceLevelThreshold`` and ``serviceLevelType``."""
    return {
        "service_level_threshold": kept(
            operation,
            before,
            "service_level_threshold",
            row["serviceLevelThreshold"],
            _threshold,
        ),
        "service_level_type": kept(
            operation, before, "service_level_type", row["serviceLevelType"], service_level_type
        ),
    }


def description(value: str) -> str:
    return cells.text("description", value, 255)


def outcome_of_change(operation: str, before: Obj | None, values: dict[str, Any]) -> Change:
    """CREATE: a new object of ``values``; UPDATE: ``before`` changed to ``values``, or
    Unchanged if they are the same."""
    if operation == cells.CREATE:
        return Change(objects.CREATED, None, Obj(0, values))
    assert before is not None
    if values == before.values:
        return Change(objects.UNCHANGED, before, before)
    return Change(objects.UPDATED, before, Obj(before.id, values, before.change_stamp + 1))
