"""What every SCIM resource type shares: attribute names matched case-insensitively (RFC 7643
§2.1), unknown attributes dropped, the ``attributes`` / ``excludedAttributes`` projection, and a
page of rows. Plain data in, plain data out (PATCH operations: app.scim.patch)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Row, Table, func, select

from app.scim.exceptions import InvalidSyntax, InvalidValue

# A shape names a resource's writable attributes in their canonical spelling; a nested mapping
# is a complex attribute (or an extension schema) with its own sub-attributes, and a one-item
# list a multi-valued complex attribute, the item being its elements' shape.
Shape = Mapping[str, Any]
Path = tuple[str, ...]

ALWAYS_RETURNED = frozenset({"schemas", "id"})

# How a column compares in filters and sorting: "exact" strings (caseExact), "text"
# (case-insensitive, compared lower-cased), "key" (case-insensitive, the column already holds
# the lower-cased value), "boolean", "integer", "datetime" (milliseconds since the epoch,
# compared with an xsd:dateTime string), "member" (a multi-valued attribute held in other rows:
# ``column`` is their id, ``within`` ties them to the resource; filters only, no sorting).
Kind = Literal["exact", "text", "key", "boolean", "integer", "datetime", "member"]


@dataclass(frozen=True)
class Attribute:
    """A filterable, sortable SCIM attribute: its column and how values compare with it.

    ``element``: the column holds a multi-valued complex attribute as a JSON list of objects
    (a User's ``emails``), and this attribute is the sub-attribute of that name in each of them
    (``kind`` says how it compares); filters only, no sorting.
    """

    column: ColumnElement[Any]
    kind: Kind
    nullable: bool = False
    within: ColumnElement[bool] | None = None
    element: str | None = None


def filterable(source: Table, core_urn: str, own: Mapping[str, Attribute]) -> dict[str, Attribute]:
    """A resource type's filterable attributes, by lower-cased path: what every resource here
    has (``id``, ``externalId``, the meta times) and its ``own``; core attributes may also be
    written with the core schema's URN in front."""
    found = {
        "id": Attribute(source.c.id, "integer"),
        "externalid": Attribute(source.c.external_id, "exact", nullable=True),
        "meta.created": Attribute(source.c.created_ms, "datetime", nullable=True),
        "meta.lastmodified": Attribute(source.c.modified_ms, "datetime", nullable=True),
        **own,
    }
    urn = core_urn.lower()
    return {**found, **{f"{urn}:{name}": a for name, a in found.items() if ":" not in name}}


def meta(resource_type: str, location: str, version: str, row: Row[Any]) -> dict[str, Any]:
    """A resource's ``meta``; ``created``/``lastModified`` where the row knows them."""
    found: dict[str, Any] = {"resourceType": resource_type}
    if row.created_ms is not None:
        found["created"] = datetime_text(row.created_ms)
    if row.modified_ms is not None:
        found["lastModified"] = datetime_text(row.modified_ms)
    found["location"] = location
    found["version"] = version
    return found


def datetime_text(ms: int) -> str:
    """Milliseconds since the epoch as an xsd:dateTime in UTC: ``2026-11-23T10:00:00.123Z``."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC).replace(microsecond=ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(value: Any) -> str:
    """What a client sent, for an error's detail: ``the string 'x'``, ``the number 5``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, Mapping) else f"a {type(value).__name__}"


def element_noun(name: str) -> str:
    """One element of the multi-valued attribute ``name``: ``a member``, ``an email``."""
    noun = name[:-1] if name.endswith("s") else name
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def canonical(raw: Any, shape: Shape) -> dict[str, Any]:
    """``raw`` with keys spelled as in ``shape`` and everything ``shape`` does not name dropped."""
    if not isinstance(raw, Mapping):
        raise InvalidSyntax("A resource must be a JSON object")
    names = {name.lower(): name for name in shape}
    result: dict[str, Any] = {}
    for key, value in raw.items():
        name = names.get(str(key).lower())
        if name is None:
            continue
        sub = shape[name]
        if isinstance(sub, Mapping) and isinstance(value, Mapping):
            result[name] = canonical(value, sub)
        elif isinstance(sub, list) and isinstance(value, list):
            result[name] = [canonical(v, sub[0]) if isinstance(v, Mapping) else v for v in value]
        else:
            result[name] = value
    return result


def parse_paths(values: Iterable[str], schemas: Sequence[str]) -> list[Path]:
    """``attributes``-style names as lower-cased key paths; schema URNs become their own key
    (extensions) or are dropped (the core schema, ``schemas[0]``)."""
    paths: list[Path] = []
    core = schemas[0].lower()
    extensions = [urn.lower() for urn in schemas[1:]]
    for value in values:
        name = value.strip().lower()
        if not name:
            continue
        prefix: Path = ()
        for urn in extensions:
            if name == urn:
                prefix, name = (urn,), ""
                break
            if name.startswith(urn + ":"):
                prefix, name = (urn,), name[len(urn) + 1 :]
                break
        else:
            if name.startswith(core + ":"):
                name = name[len(core) + 1 :]
        paths.append(prefix + (tuple(name.split(".")) if name else ()))
    return paths


def project(
    resource: Mapping[str, Any], attributes: list[Path] | None, excluded: list[Path] | None
) -> dict[str, Any]:
    """``resource`` reduced to ``attributes`` (when given), less ``excluded`` (RFC 7644 §3.9)."""
    result = dict(resource)
    if attributes:
        result = _include(result, attributes, top=True)
    if excluded:
        result = _exclude(result, excluded, top=True)
    return result


def _include(value: Mapping[str, Any], paths: list[Path], top: bool = False) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if top and lowered in ALWAYS_RETURNED:
            kept[key] = item
            continue
        tails = [path[1:] for path in paths if path and path[0] == lowered]
        if not tails:
            continue
        if any(not tail for tail in tails):
            kept[key] = item
        elif isinstance(item, Mapping):
            sub = _include(item, tails)
            if sub:
                kept[key] = sub
        elif isinstance(item, list):
            kept[key] = [_include(x, tails) if isinstance(x, Mapping) else x for x in item]
    return kept


def _exclude(value: Mapping[str, Any], paths: list[Path], top: bool = False) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if top and lowered in ALWAYS_RETURNED:
            kept[key] = item
            continue
        tails = [path[1:] for path in paths if path and path[0] == lowered]
        if any(not tail for tail in tails):
            continue
        if tails and isinstance(item, Mapping):
            kept[key] = _exclude(item, tails)
        elif tails and isinstance(item, list):
            kept[key] = [_exclude(x, tails) if isinstance(x, Mapping) else x for x in item]
        else:
            kept[key] = item
    return kept


# SCIM resources are a few levels deep; a deeper document is refused before anything walks it
# recursively (json itself gives up near 1,000 levels, with RecursionError).
MAX_NESTING = 32


def loads_body(data: bytes | str, what: str = "body") -> Any:
    """A request body (or a Bulk operation's data string) as JSON; invalidSyntax when it is not
    JSON or nests deeper than MAX_NESTING levels."""
    try:
        value = json.loads(data or b"null")
    except ValueError as exc:
        raise InvalidSyntax(f"The {what} is not valid JSON: {exc}") from exc
    except RecursionError:
        value = None
        deep = True
    else:
        deep = _deeper_than(value, MAX_NESTING)
    if deep:
        raise InvalidSyntax(f"The {what} nests deeper than {MAX_NESTING} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a container with something in it sits deeper than ``limit`` levels; walked a
    level at a time, looking only at containers (a 1,000-operation Bulk is mostly strings)."""
    containers = (dict, list)  # a tuple: isinstance is slower with a union type
    level = [value] if isinstance(value, containers) else []
    depth = 1
    while level:
        deeper: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            if children and depth > limit:
                return True
            for child in children:
                if isinstance(child, containers):
                    deeper.append(child)
        level = deeper
        depth += 1
    return False


def page(
    conn: Connection,
    source: Table,
    attributes: Mapping[str, Attribute],
    condition: ColumnElement[bool] | None,
    sort_by: str | None,
    descending: bool,
    start_index: int,
    count: int,
) -> tuple[list[Row[Any]], int]:
    """One page of ``source`` rows matching ``condition``, and how many match in all.

    ``sort_by`` names an attribute (text sorts ignoring case, ties by id); ``start_index`` is
    1-based (RFC 7644 §3.4.2.4); ``count`` 0 asks for the total only.
    """
    conditions = [] if condition is None else [condition]
    total = conn.execute(select(func.count()).select_from(source).where(*conditions)).scalar_one()
    ordering: list[Any] = [source.c.id]
    if sort_by:
        attribute = attributes.get(sort_by.lower())
        if attribute is None or attribute.kind == "member" or attribute.element is not None:
            raise InvalidValue(f"Cannot sort by {sort_by!r}")
        column = func.lower(attribute.column) if attribute.kind == "text" else attribute.column
        # Resources without the attribute come last either way, on every database.
        first = column.desc() if descending else column.asc()
        if attribute.nullable:
            first = first.nulls_last()
        ordering = [first, source.c.id.desc() if descending else source.c.id]
    rows: list[Row[Any]] = []
    if count > 0:
        statement = (
            select(source)
            .where(*conditions)
            .order_by(*ordering)
            .offset(max(start_index, 1) - 1)
            .limit(count)
        )
        rows = list(conn.execute(statement).all())
    return rows, int(total)
