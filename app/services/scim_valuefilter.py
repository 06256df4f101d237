"""Value filters in PATCH paths (RFC 7644 §3.5.2: ``emails[type eq "work"].value``,
``members[value eq "12"]``): which elements of a multi-valued attribute an operation targets.

The same grammar as list filters (``eq ne co sw ew gt ge lt le pr``, ``and``/``or``/``not``,
parentheses), evaluated in memory over the few elements of one resource's attribute. Names
and string comparisons are case-insensitive (the sub-attributes that take filters here are not
caseExact).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.services.scim_errors import InvalidPath

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()])|(?P<word>[^\s()"]+))')
_COMPARE = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})
MAX_DEPTH = 16


@dataclass(frozen=True)
class ValueFilter:
    """A parsed value filter: ``matches`` an element; ``equalities`` are the sub-attribute values
    a filter made only of ``eq`` joined by ``and`` pins down (None otherwise), from which an
    element can be made when none matches."""

    matches: Predicate
    equalities: dict[str, Any] | None


def parse(text: str, names: Collection[str]) -> ValueFilter:
    """``text`` (between the brackets) over elements whose sub-attributes are ``names``."""
    tokens = [match for match in _TOKEN.finditer(text) if match.group().strip()]
    if "".join(match.group() for match in tokens).strip() != text.strip() or not tokens:
        raise InvalidPath(f"Cannot read the value filter [{text}]")
    parser = _Parser([(m.lastgroup or "", m.group(m.lastgroup or 0)) for m in tokens], names)
    predicate, equalities = parser.parse_or(0)
    if parser.pos < len(parser.tokens):
        raise InvalidPath(f"Unexpected {parser.tokens[parser.pos][1]!r} in [{text}]")
    return ValueFilter(predicate, equalities)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], names: Collection[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.names = {name.lower(): name for name in names}

    def _word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return self.tokens[self.pos][1].lower()
        return None

    def _take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise InvalidPath("The value filter ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self, depth: int) -> tuple[Predicate, dict[str, Any] | None]:
        terms = [self.parse_and(depth)]
        while self._word() == "or":
            self.pos += 1
            terms.append(self.parse_and(depth))
        if len(terms) == 1:
            return terms[0]
        predicates = [predicate for predicate, _ in terms]
        return (lambda element: any(p(element) for p in predicates)), None

    def parse_and(self, depth: int) -> tuple[Predicate, dict[str, Any] | None]:
        terms = [self.parse_unary(depth)]
        while self._word() == "and":
            self.pos += 1
            terms.append(self.parse_unary(depth))
        if len(terms) == 1:
            return terms[0]
        predicates = [predicate for predicate, _ in terms]
        equalities: dict[str, Any] | None = {}
        for _, pinned in terms:
            equalities = None if pinned is None or equalities is None else {**equalities, **pinned}
        return (lambda element: all(p(element) for p in predicates)), equalities

    def parse_unary(self, depth: int) -> tuple[Predicate, dict[str, Any] | None]:
        if depth > MAX_DEPTH:
            raise InvalidPath(f"The value filter nests deeper than {MAX_DEPTH} levels")
        if self._word() == "not":
            self.pos += 1
            inner, _ = self.parse_unary(depth + 1)
            return (lambda element: not inner(element)), None
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("punct", "("):
            self.pos += 1
            result = self.parse_or(depth + 1)
            if self._take() != ("punct", ")"):
                raise InvalidPath("A '(' in the value filter is not closed")
            return result
        return self.parse_comparison()

    def parse_comparison(self) -> tuple[Predicate, dict[str, Any] | None]:
        kind, text = self._take()
        name = self.names.get(text.lower()) if kind == "word" else None
        if name is None:
            raise InvalidPath(f"{text!r} is not a sub-attribute this value filter can compare")
        kind, operator = self._take()
        operator = operator.lower()
        if kind != "word" or (operator != "pr" and operator not in _COMPARE):
            raise InvalidPath(f"Unknown operator {operator!r} in the value filter")
        if operator == "pr":
            return (lambda element: element.get(name) not in (None, "", [])), None
        expected = _literal(self._take())

        def predicate(element: Mapping[str, Any]) -> bool:
            return _compare(element.get(name), operator, expected)

        return predicate, ({name: expected} if operator == "eq" else None)


def _literal(token: tuple[str, str]) -> Any:
    kind, text = token
    if kind == "string":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidPath(f"Invalid string {text} in the value filter") from exc
    if kind == "word":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return json.loads(text)
        except ValueError:
            pass
    raise InvalidPath(f"Expected a value but found {text!r} in the value filter")


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
