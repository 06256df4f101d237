"""Value filters in PATCH paths (RFC 7644 §3.5.2: ``emails[type eq "work"].value``,
``members[value eq "12"]``): which elements of a multi-valued attribute an operation targets.

The same grammar as list filters (scim_filter_syntax: ``eq ne co sw ew gt ge lt le pr``,
``and``/``or``/``not``, parentheses), its tree evaluated in memory over the few elements of one
resource's attribute. Names and string comparisons are case-insensitive (the sub-attributes
that take filters here are not caseExact).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.scim.exceptions import InvalidPath
from app.scim.filters import syntax

Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class ValueFilter:
    """A parsed value filter: ``matches`` an element; ``equalities`` are the sub-attribute values
    a filter made only of ``eq`` joined by ``and`` pins down (None otherwise), from which an
    element can be made when none matches."""

    matches: Predicate
    equalities: dict[str, Any] | None


def parse(text: str, names: Collection[str]) -> ValueFilter:
    """``text`` (between the brackets) over elements whose sub-attributes are ``names``."""
    spelled = {name.lower(): name for name in names}

    def attribute(path: str) -> str:
        name = spelled.get(path.lower())
        if name is None:
            raise InvalidPath(f"{path!r} is not a sub-attribute this value filter can compare")
        return name

    tree = syntax.parse(text, InvalidPath, attribute, "value filter")
    return ValueFilter(_predicate(tree), _equalities(tree))


def _predicate(node: syntax.Node) -> Predicate:
    if isinstance(node, syntax.Or):
        terms = [_predicate(term) for term in node.terms]
        return lambda element: any(term(element) for term in terms)
    if isinstance(node, syntax.And):
        terms = [_predicate(term) for term in node.terms]
        return lambda element: all(term(element) for term in terms)
    if isinstance(node, syntax.Not):
        inner = _predicate(node.term)
        return lambda element: not inner(element)
    if isinstance(node, syntax.ValuePath):  # not parsed here (value_paths is off)
        raise InvalidPath(f"Value filters such as {node.path}[...] do not nest")
    name, operator, expected = node.key, node.operator, node.value
    if operator == "pr":
        return lambda element: element.get(name) not in (None, "", [])
    return lambda element: _compare(element.get(name), operator, expected)


def _equalities(node: syntax.Node) -> dict[str, Any] | None:
    """The values an ``eq`` (or an ``and`` of them) pins down; None for any other filter."""
    if isinstance(node, syntax.Comparison):
        return {node.key: node.value} if node.operator == "eq" else None
    if isinstance(node, syntax.And):
        found: dict[str, Any] = {}
        for term in node.terms:
            pinned = _equalities(term)
            if pinned is None:
                return None
            found.update(pinned)
        return found
    return None


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    elif (
        isinstance(actual, str)
        and isinstance(expected, int | float)
        and not isinstance(expected, bool)
    ):
        # Ids are strings in a resource but may be written as numbers in a filter.
        expected = str(expected)
    if operator == "eq":
        return bool(actual == expected)
    if operator == "ne":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    if operator in ("co", "sw", "ew"):
        if not (isinstance(actual, str) and isinstance(expected, str)):
            return False
        if operator == "co":
            return expected in actual
        return actual.startswith(expected) if operator == "sw" else actual.endswith(expected)
    try:
        if operator == "gt":
            return bool(actual > expected)
        if operator == "ge":
            return bool(actual >= expected)
        if operator == "lt":
            return bool(actual < expected)
        return bool(actual <= expected)
    except TypeError:
        return False
