"""What every SCIM resource type shares: attribute names matched case-insensitively (RFC 7643
§2.1), unknown attributes dropped, PATCH operations applied to a document, and the
``attributes`` / ``excludedAttributes`` projection. Plain data in, plain data out."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Row, Table, func, select

from app.scim.exceptions import InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from app.scim.filters import value as scim_valuefilter
from app.scim.filters.value import ValueFilter

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
    """A filterable, sortable SCIM attribute: its column and how values compare with it."""

    column: ColumnElement[Any]
    kind: Kind
    nullable: bool = False
    within: ColumnElement[bool] | None = None


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


@dataclass(frozen=True)
class Target:
    """Where a PATCH path points: the attribute at ``keys``; for a path with a value filter,
    the elements of that multi-valued attribute it ``selects``, and the sub-attribute ``sub`` of
    them when the path names one (``emails[type eq "work"].value``)."""

    keys: Path
    selects: ValueFilter | None = None
    sub: str | None = None


def resolve_path(path: str, shape: Shape, core_urn: str) -> Target | None:
    """A PATCH path as canonical keys, or None when it names nothing this resource holds.

    A multi-valued complex attribute is written in ``shape`` as a one-item list of the shape of
    its elements; only those take value filters.
    """
    selection: str | None = None
    sub_name: str | None = None
    if "[" in path:
        opening, closing = path.index("["), path.rfind("]")
        after = path[closing + 1 :]
        if closing < opening or (after and not after.startswith(".")):
            raise InvalidPath(f"Cannot read the path {path!r}")
        selection = path[opening + 1 : closing]
        sub_name = after[1:] or None
        path = path[:opening]
    keys = _attribute_keys(path, shape, core_urn)
    if keys is None:
        return None
    if selection is None:
        return Target(keys)
    element = _sub_shape(shape, keys)
    if not (isinstance(element, list) and element and isinstance(element[0], Mapping)):
        raise InvalidPath(f"{'.'.join(keys)} is not multi-valued; it takes no value filter")
    names: Mapping[str, Any] = element[0]
    sub = None
    if sub_name is not None:
        sub = {name.lower(): name for name in names}.get(sub_name.lower())
        if sub is None:
            return None
    return Target(keys, scim_valuefilter.parse(selection, list(names)), sub)


def _attribute_keys(path: str, shape: Shape, core_urn: str) -> Path | None:
    rest = path
    keys: list[str] = []
    lowered = path.lower()
    for name, sub in shape.items():
        if isinstance(sub, Mapping) and name.lower().startswith("urn:"):
            urn = name.lower()
            if lowered == urn:
                return (name,)
            if lowered.startswith(urn + ":"):
                keys.append(name)
                rest = path[len(urn) + 1 :]
                shape = sub
                break
    else:
        if lowered.startswith(core_urn.lower() + ":"):
            rest = path[len(core_urn) + 1 :]
    for part in rest.split("."):
        spelled = {name.lower(): name for name in shape}.get(part.lower())
        if spelled is None:
            return None
        keys.append(spelled)
        sub = shape[spelled]
        shape = sub if isinstance(sub, Mapping) else {}
    return tuple(keys)


def patched(
    resource: Mapping[str, Any],
    body: Any,
    shape: Shape,
    core_urn: str,
    required: Collection[Path] = (),
) -> dict[str, Any]:
    """A resource as a PatchOp ``body`` leaves it: its canonical document with the body's
    ``Operations`` (any spelling) applied."""
    fields = {str(k).lower(): v for k, v in body.items()} if isinstance(body, Mapping) else {}
    document = canonical(resource, shape)
    return apply_patch(document, fields.get("operations"), shape, core_urn, required)


def apply_patch(
    document: dict[str, Any],
    operations: Any,
    shape: Shape,
    core_urn: str,
    required: Collection[Path] = (),
) -> dict[str, Any]:
    """``document`` changed by a PatchOp's ``Operations`` (RFC 7644 §3.5.2), in order.

    ``required``: the attributes a resource always has; an operation that would leave one
    without a value (``remove``, or ``replace`` with null) is refused.
    """
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("A PatchOp needs a non-empty Operations list")
    for operation in operations:
        if not isinstance(operation, Mapping):
            raise InvalidSyntax("Each PATCH operation must be a JSON object")
        fields = {str(key).lower(): value for key, value in operation.items()}
        op = str(fields.get("op", "")).lower()
        if op not in ("add", "remove", "replace"):
            raise InvalidSyntax(f"Unknown PATCH op {fields.get('op')!r}")
        path = fields.get("path")
        value = fields.get("value")
        if path is None or path == "":
            if op == "remove":
                raise NoTarget("remove needs a path")
            if not isinstance(value, Mapping):
                raise InvalidValue(f"{op} without a path needs an object value")
            for name, item in canonical(value, shape).items():
                _set(document, (name,), item, op, shape)
        elif not isinstance(path, str):
            raise InvalidSyntax("A PATCH path must be a string")
        else:
            target = resolve_path(path, shape, core_urn)
            if target is None:
                continue  # an attribute this resource does not hold: ignored, like unknown ones
            if op != "remove" and "value" not in fields:
                raise InvalidValue(f"{op} of {path} needs a value")
            if target.selects is not None:
                _apply_selected(document, target, op, value, shape, path)
            elif op == "remove":
                _remove(document, target.keys)
            else:
                _set(document, target.keys, value, op, shape)
        for keys in required:
            if _get(document, keys) is None:
                raise InvalidValue(f"{'.'.join(keys)} is required; it cannot be removed")
    return document


def _get(document: Mapping[str, Any], keys: Path) -> Any:
    current: Any = document
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current


def _sub_shape(shape: Shape, keys: Path) -> Any:
    current: Any = shape
    for key in keys:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current


def _set(document: dict[str, Any], keys: Path, value: Any, op: str, shape: Shape) -> None:
    sub = _sub_shape(shape, keys)
    target = document
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    last = keys[-1]
    if isinstance(sub, Mapping):
        if not isinstance(value, Mapping):
            raise InvalidValue(f"{'.'.join(keys)} is complex; its value must be an object")
        existing = target.get(last)
        merged: dict[str, Any] = existing if isinstance(existing, dict) else {}
        target[last] = {**merged, **canonical(value, sub)}
    elif isinstance(sub, list) and isinstance(value, Mapping):
        # One element given where a list is expected.
        _set(document, keys, [value], op, shape)
    elif op == "add" and isinstance(target.get(last), list):
        extra = value if isinstance(value, list) else [value]
        current = target[last]
        # A value already there is not added again (RFC 7644 §3.5.2.1).
        target[last] = [*current, *(item for item in extra if item not in current)]
    else:
        target[last] = value


def _apply_selected(
    document: dict[str, Any], target: Target, op: str, value: Any, shape: Shape, path: str
) -> None:
    """An operation on the elements a value filter selects (RFC 7644 §3.5.2.1-3).

    ``add``/``replace`` of ``attr[filter].sub`` sets ``sub`` of each selected element, and of
    ``attr[filter]`` merges ``value`` into each; when none is selected, an element is made from
    the filter's ``eq`` values (Microsoft Entra sets a user's work email with ``replace``
    ``emails[type eq "work"].value``), or, for a filter that pins no values down, noTarget.
    ``remove`` drops the selected elements, or their ``sub``; an element left without its
    ``value`` goes too (an email without an address is no email).
    """
    assert target.selects is not None
    element_shape: Mapping[str, Any] = _sub_shape(shape, target.keys)[0]
    existing = _get(document, target.keys)
    elements = [
        canonical(item, element_shape)
        for item in (existing if isinstance(existing, list) else [])
        if isinstance(item, Mapping)
    ]
    selected = [target.selects.matches(element) for element in elements]
    if op == "remove":
        if target.sub is None:
            kept = [e for e, hit in zip(elements, selected, strict=True) if not hit]
        else:
            for element, hit in zip(elements, selected, strict=True):
                if hit:
                    element.pop(target.sub, None)
            kept = [e for e in elements if "value" not in element_shape or "value" in e]
        _put(document, target.keys, kept)
        return
    if target.sub is None:
        if not isinstance(value, Mapping):
            raise InvalidValue(f"{op} of {path} needs an object value")
        change = canonical(value, element_shape)
    else:
        change = {target.sub: value}
    if not any(selected):
        if target.selects.equalities is None:
            raise NoTarget(f"No value matches {path}")
        elements.append({**target.selects.equalities, **change})
    else:
        for element, hit in zip(elements, selected, strict=True):
            if hit:
                element.update(change)
    _put(document, target.keys, elements)


def _put(document: dict[str, Any], keys: Path, value: Any) -> None:
    target = document
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[keys[-1]] = value


def _remove(document: dict[str, Any], keys: Path) -> None:
    target: Any = document
    for key in keys[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(keys[-1], None)


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
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if children and depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
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
        if attribute is None or attribute.kind == "member":
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
