"""The conventions every directory file shares (agents today; skill groups, call types and
dialed numbers follow them), written once (docs/directory.md, "Files"):

- ``operation`` is CREATE, UPDATE or DELETE, in any case;
- in an UPDATE a cell ``~`` leaves its field as it is, an empty cell sets it empty or to its
  default (in a CREATE ``~`` is the same as an empty cell: nothing is there to keep);
- a list cell (``a;b``) replaces the list, unless every item starts with ``+`` or ``-``: then
  those items are added and removed and the rest kept (names cannot start with either);
- booleans are ``true`` or ``false`` in any case.

A cell that breaks a rule raises :class:`RowError` naming the column; the row fails with
``column: message`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.directory.names import name_problem

KEEP = "~"
CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"
OPERATIONS = (CREATE, UPDATE, DELETE)


class RowError(Exception):
    """A row that cannot be applied: ``field: message`` in the log and the failed rows."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def operation(value: str) -> str:
    found = value.strip().upper()
    if found not in OPERATIONS:
        if not found:
            raise RowError("operation", "operation is required (CREATE, UPDATE or DELETE)")
        raise RowError("operation", f"must be CREATE, UPDATE or DELETE: {value}")
    return found


def given(value: str) -> bool:
    """Whether a cell says anything: not ``~`` (and in a CREATE, not empty either)."""
    return value != KEEP


def boolean(field: str, value: str, default: bool) -> bool:
    """``true``/``false`` in any case; an empty cell (or ``~``) is ``default``."""
    if value in ("", KEEP):
        return default
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise RowError(field, f"must be true or false: {value}")


def text(field: str, value: str, limit: int, *, required: bool = False) -> str:
    if required and not value:
        raise RowError(field, f"{field} is required")
    if len(value) > limit:
        raise RowError(field, f"must be at most {limit} characters ({len(value)} given)")
    return value


def enterprise_name(field: str, value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise RowError(field, f"{value} is not a valid name: it {problem}")
    return value


@dataclass(frozen=True)
class ListEdit:
    """A list cell: ``items`` replace the list, or (``relative``) ``add`` and ``remove`` edit
    it. Items keep their text as written."""

    relative: bool
    items: tuple[str, ...] = ()
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every item named (set or added; removed ones too)."""
        return (*self.items, *self.add, *self.remove)

    def apply(self, current: list[str]) -> list[str]:
        """The list after the edit, items compared by their lower-cased text."""
        if not self.relative:
            return list(self.items)
        removed = {item.lower() for item in self.remove}
        kept = [item for item in current if item.lower() not in removed]
        have = {item.lower() for item in kept}
        for item in self.add:
            if item.lower() not in have:
                kept.append(item)
                have.add(item.lower())
        return kept


_EMPTY = ListEdit(relative=False)


def list_cell(field: str, value: str) -> ListEdit:
    """``a;b`` (a whole list), ``+a;-b`` (an edit), or empty (no items)."""
    if not value:
        return _EMPTY
    items = [item.strip() for item in value.split(";")]
    items = [item for item in items if item]
    marked = [item for item in items if item[0] in "+-"]
    if not marked:
        return ListEdit(relative=False, items=_unique(field, items))
    if len(marked) != len(items):
        raise RowError(field, "either every item starts with + or -, or none does (a whole list)")
    add = _unique(field, [item[1:].strip() for item in items if item[0] == "+"])
    remove = _unique(field, [item[1:].strip() for item in items if item[0] == "-"])
    both = {a.lower() for a in add} & {r.lower() for r in remove}
    if both:
        raise RowError(field, f"added and removed at once: {sorted(both)[0]}")
    return ListEdit(relative=True, add=add, remove=remove)


def _unique(field: str, items: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    for item in items:
        if not item:
            raise RowError(field, "an item is empty")
        if item.lower() in seen:
            raise RowError(field, f"named twice: {item}")
        seen.add(item.lower())
    return tuple(items)
