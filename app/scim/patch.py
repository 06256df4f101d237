"""PATCH (RFC 7644 §3.5.2): a PatchOp's operations applied, in order, to a resource's canonical
document; the resource services then check and write the result as they would a PUT.

What identity providers send is taken as they send it: ops in any case (``Replace``), a
path-less value whose keys are attribute paths (``"name.givenName"``, an extension attribute
with its URN), booleans as strings (checked later, with the rest of the values), and ``remove``
of a multi-valued attribute with a value list removing just the listed elements.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.scim.exceptions import InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from app.scim.filters import value as scim_valuefilter
from app.scim.filters.value import ValueFilter
from app.scim.resources import Path, Shape, canonical, describe, element_noun


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
                raise InvalidValue(
                    f"{op} without a path needs an object value, got {describe(value)}"
                )
            # The value holds the attributes to add or replace (RFC 7644 §3.5.2.1, §3.5.2.3),
            # each key an attribute path: Microsoft Entra writes sub-attributes and extension
            # attributes so ("name.givenName", "urn:...:enterprise:2.0:User:employeeNumber").
            for key, item in value.items():
                _operate(document, str(key), op, item, True, shape, core_urn)
        elif not isinstance(path, str):
            raise InvalidSyntax("A PATCH path must be a string")
        else:
            _operate(document, path, op, value, "value" in fields, shape, core_urn)
        for keys in required:
            if _get(document, keys) is None:
                raise InvalidValue(f"{'.'.join(keys)} is required; it cannot be removed")
    return document


def _operate(
    document: dict[str, Any],
    path: str,
    op: str,
    value: Any,
    has_value: bool,
    shape: Shape,
    core_urn: str,
) -> None:
    """One operation on the attribute at ``path``."""
    target = resolve_path(path, shape, core_urn)
    if target is None:
        return  # an attribute this resource does not hold: ignored, like unknown ones
    if op != "remove" and not has_value:
        raise InvalidValue(f"{op} of {path} needs a value")
    if target.selects is not None:
        _apply_selected(document, target, op, value, shape, path)
    elif op != "remove":
        _set(document, target.keys, value, op, shape)
    elif value is not None and isinstance(_sub_shape(shape, target.keys), list):
        _remove_listed(document, target.keys, value, shape)
    else:
        _remove(document, target.keys)


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
            raise InvalidValue(f"{op} of {path} needs an object value, got {describe(value)}")
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


def _remove_listed(document: dict[str, Any], keys: Path, value: Any, shape: Shape) -> None:
    """``remove`` of a multi-valued attribute with a value: only the elements listed go (Entra
    removes one member so: ``{"op": "Remove", "path": "members", "value": [{"value": "7"}]}``).
    An element is listed when its ``value`` is one given (compared ignoring case), or, for an
    entry without ``value``, when it has every sub-attribute the entry gives."""
    element_shape: Mapping[str, Any] = _sub_shape(shape, keys)[0]
    noun = element_noun(keys[-1]).capitalize()
    listed = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, Mapping):
            got = describe(item)
            raise InvalidValue(f"{noun} to remove must be an object with a value, got {got}")
        given = {k: v for k, v in canonical(item, element_shape).items() if v is not None}
        if not given:
            raise InvalidValue(f"{noun} to remove needs a value")
        listed.append({"value": given["value"]} if "value" in given else given)
    existing = _get(document, keys)
    kept = [
        element
        for element in (existing if isinstance(existing, list) else [])
        if not (
            isinstance(element, Mapping)
            and any(_has_all(canonical(element, element_shape), entry) for entry in listed)
        )
    ]
    _put(document, keys, kept)


def _has_all(element: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    return all(_same(element.get(name), wanted) for name, wanted in entry.items())


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return actual is wanted
    if actual is None:
        return False
    return str(actual).lower() == str(wanted).lower()


def _remove(document: dict[str, Any], keys: Path) -> None:
    target: Any = document
    for key in keys[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(keys[-1], None)
