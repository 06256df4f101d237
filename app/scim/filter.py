"""SCIM filters (RFC 7644 §3.4.2.2) parsed by recursive descent into SQLAlchemy conditions.

    filter  := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" or ")" | attrExp
    attrExp := attrPath "pr" | attrPath compareOp value

Operators and keywords are case-insensitive, as are attribute names. Only attributes that map to
a column are accepted; the result is a condition for a WHERE clause, so filtering happens in SQL.
Value filters on multi-valued attributes (``emails[type eq "work"]``) are refused as
invalidFilter in this version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, and_, false, func, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.services.scim_errors import InvalidFilter
from app.services.scim_resources import Attribute

MAX_LENGTH = 4096
MAX_DEPTH = 32
COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))'
)
_ATTR_PATH = re.compile(r"^(?:urn:[^\s]+:)?[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


class _Position(FunctionElement[int]):
    """1-based position of a substring (0: absent), case-sensitive on every database."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _position(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "sqlite")
def _position_sqlite(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class _Token:
    kind: Literal["string", "punct", "word"]
    text: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise InvalidFilter(f"Cannot read the filter at character {pos + 1}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))  # type: ignore[arg-type]
        pos = match.end()
    return tokens


def parse(text: str, attributes: Mapping[str, Attribute]) -> ColumnElement[bool]:
    """The condition ``text`` describes; ``attributes`` maps lower-cased attribute paths."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilter(f"The filter is longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text), attributes)
    if not parser.tokens:
        raise InvalidFilter("The filter is empty")
    condition = parser.parse_or(0)
    if parser.pos < len(parser.tokens):
        raise InvalidFilter(f"Unexpected {parser.tokens[parser.pos].text!r} in the filter")
    return condition


class _Parser:
    def __init__(self, tokens: list[_Token], attributes: Mapping[str, Attribute]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.attributes = attributes

    def _peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "word":
            return self.tokens[self.pos].text.lower()
        return None

    def _peek_punct(self, char: str) -> bool:
        return (
            self.pos < len(self.tokens)
            and self.tokens[self.pos].kind == "punct"
            and self.tokens[self.pos].text == char
        )

    def _next(self, expected: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise InvalidFilter(f"The filter ends where {expected} was expected")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise InvalidFilter(f"The filter nests deeper than {MAX_DEPTH} levels")
        terms = [self.parse_and(depth)]
        while self._peek_word() == "or":
            self.pos += 1
            terms.append(self.parse_and(depth))
        return terms[0] if len(terms) == 1 else or_(*terms)

    def parse_and(self, depth: int) -> ColumnElement[bool]:
        terms = [self.parse_unary(depth)]
        while self._peek_word() == "and":
            self.pos += 1
            terms.append(self.parse_unary(depth))
        return terms[0] if len(terms) == 1 else and_(*terms)

    def parse_unary(self, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise InvalidFilter(f"The filter nests deeper than {MAX_DEPTH} levels")
        if self._peek_word() == "not":
            self.pos += 1
            return not_(self.parse_unary(depth + 1))
        if self._peek_punct("("):
            self.pos += 1
            inner = self.parse_or(depth + 1)
            closing = self._next("')'")
            if closing.text != ")":
                raise InvalidFilter(f"Expected ')' but found {closing.text!r} in the filter")
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> ColumnElement[bool]:
        token = self._next("an attribute")
        if token.kind != "word" or not _ATTR_PATH.match(token.text):
            raise InvalidFilter(f"Expected an attribute but found {token.text!r} in the filter")
        if self._peek_punct("["):
            raise InvalidFilter(f"Value filters such as {token.text}[...] are not supported")
        attribute = self.attributes.get(token.text.lower())
        if attribute is None:
            raise InvalidFilter(f"The attribute {token.text!r} cannot be used in a filter")
        operator_token = self._next("an operator")
        operator = operator_token.text.lower()
        if operator_token.kind != "word" or (operator != "pr" and operator not in COMPARE_OPS):
            raise InvalidFilter(f"Unknown operator {operator_token.text!r} in the filter")
        if operator == "pr":
            return _present(attribute)
        value = _value(self._next("a value"))
        return _compare(token.text, attribute, operator, value)


def _value(token: _Token) -> Any:
    if token.kind == "string":
        try:
            return json.loads(token.text)
        except ValueError as exc:
            raise InvalidFilter(f"Invalid string {token.text} in the filter") from exc
    word = token.text.lower()
    if token.kind == "word":
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        if _NUMBER.match(token.text):
            return json.loads(token.text)
    raise InvalidFilter(f"Expected a value but found {token.text!r} in the filter")


def _present(attribute: Attribute) -> ColumnElement[bool]:
    column = attribute.column
    if attribute.kind in ("exact", "text", "key"):
        condition = column != ""
        return and_(column.is_not(None), condition) if attribute.nullable else condition
    return column.is_not(None) if attribute.nullable else true()


def _compare(name: str, attribute: Attribute, operator: str, value: Any) -> ColumnElement[bool]:
    if value is None:
        if operator == "eq":
            return not_(_present(attribute))
        if operator == "ne":
            return _present(attribute)
        raise InvalidFilter(f"{name} {operator} null is not a comparison")
    if attribute.kind == "boolean":
        condition = _compare_boolean(name, attribute, operator, value)
    elif attribute.kind == "integer":
        condition = _compare_integer(name, attribute, operator, value)
    else:
        condition = _compare_string(name, attribute, operator, value)
    if operator == "ne" and attribute.nullable:
        # A resource without the attribute is not equal to the value either.
        return or_(condition, attribute.column.is_(None))
    return condition


def _compare_boolean(
    name: str, attribute: Attribute, operator: str, value: Any
) -> ColumnElement[bool]:
    if not isinstance(value, bool):
        raise InvalidFilter(f"{name} is a boolean; compare it with true or false")
    if operator == "eq":
        return attribute.column == value
    if operator == "ne":
        return attribute.column != value
    raise InvalidFilter(f"{name} is a boolean; only eq, ne and pr apply")


def _compare_integer(
    name: str, attribute: Attribute, operator: str, value: Any
) -> ColumnElement[bool]:
    if operator in ("co", "sw", "ew"):
        raise InvalidFilter(f"{operator} does not apply to {name}")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and operator in ("eq", "ne"):
        # An id that is not a number matches no resource (but is not an error).
        return false() if operator == "eq" else true()
    else:
        raise InvalidFilter(f"{name} cannot be compared with {value!r}")
    return _ordered(attribute.column, operator, number)


def _compare_string(
    name: str, attribute: Attribute, operator: str, value: Any
) -> ColumnElement[bool]:
    if not isinstance(value, str):
        raise InvalidFilter(f"{name} is a string; compare it with a quoted string")
    column = attribute.column
    if attribute.kind == "text":
        column = func.lower(column)
    if attribute.kind in ("text", "key"):
        value = value.lower()
        # Both sides lower-cased, so LIKE's own case rules (which differ between databases)
        # do not matter.
        if operator == "co":
            return column.contains(value, autoescape=True)
        if operator == "sw":
            return column.startswith(value, autoescape=True)
        if operator == "ew":
            return column.endswith(value, autoescape=True)
        return _ordered(column, operator, value)
    if operator == "co":
        return _Position(column, value) > 0
    if operator == "sw":
        return func.substr(column, 1, len(value)) == value
    if operator == "ew":
        return func.substr(column, func.length(column) - len(value) + 1) == value
    return _ordered(column, operator, value)


def _ordered(column: ColumnElement[Any], operator: str, value: Any) -> ColumnElement[bool]:
    if operator == "eq":
        return column == value
    if operator == "ne":
        return column != value
    if operator == "gt":
        return column > value
    if operator == "ge":
        return column >= value
    if operator == "lt":
        return column < value
    return column <= value
