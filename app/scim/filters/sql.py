"""SCIM list filters (RFC 7644 §3.4.2.2) as SQLAlchemy conditions, so filtering happens in SQL.

The grammar is app.scim.filters.syntax's; here its tree becomes a WHERE clause. Only
attributes that map to a column are accepted. A multi-valued attribute held as a JSON list in
a column (a User's ``emails``) is looked into element by element (``json_each`` on SQLite,
``jsonb_array_elements`` on PostgreSQL): ``emails.value eq "x"`` and ``emails[type eq "work"
and value eq "x"]`` ask for some element matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.scim.exceptions import InvalidFilter
from app.scim.filters import syntax
from app.scim.resources import Attribute


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


class _Elements(FunctionElement[Any]):
    """The elements of a JSON list held in a text column, as rows with a ``value`` column."""

    inherit_cache = True


@compiles(_Elements)
def _elements_postgresql(element: _Elements, compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_array_elements(CAST({compiler.process(element.clauses, **kw)} AS jsonb))"


@compiles(_Elements, "sqlite")
def _elements_sqlite(element: _Elements, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


class _Field(ColumnElement[str]):
    """The text of the member ``name`` of a JSON object (an element of ``_Elements``)."""

    type = String()
    inherit_cache = True

    def __init__(self, element: ColumnElement[Any], name: str) -> None:
        if not name.isidentifier():  # our own attribute names only: rendered as a literal
            raise ValueError(f"not a sub-attribute name: {name!r}")
        self.element = element
        self.name = name


@compiles(_Field)
def _field_postgresql(element: _Field, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.element, **kw)} ->> '{element.name}')"


@compiles(_Field, "sqlite")
def _field_sqlite(element: _Field, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.element, **kw)}, '$.{element.name}')"


def parse(text: str, attributes: Mapping[str, Attribute]) -> ColumnElement[bool]:
    """The condition ``text`` describes; ``attributes`` maps lower-cased attribute paths."""

    def attribute(path: str) -> str:
        if path.lower() not in attributes:
            raise InvalidFilter(f"The attribute {path!r} cannot be used in a filter")
        return path.lower()

    tree = syntax.parse(text, InvalidFilter, attribute, value_paths=True)
    return _condition(tree, attributes, None)


def _condition(
    node: syntax.Node, attributes: Mapping[str, Attribute], element: Any
) -> ColumnElement[bool]:
    """``node`` as a condition; ``element``: inside a value path, the JSON element rows that
    its comparisons are about."""
    if isinstance(node, syntax.Or):
        return or_(*(_condition(term, attributes, element) for term in node.terms))
    if isinstance(node, syntax.And):
        return and_(*(_condition(term, attributes, element) for term in node.terms))
    if isinstance(node, syntax.Not):
        return not_(_condition(node.term, attributes, element))
    if isinstance(node, syntax.ValuePath):
        container = attributes[node.key]
        if container.element is None:
            raise InvalidFilter(f"{node.path}[...] is not supported: filter on its sub-attributes")
        return _some_element(container, lambda rows: _condition(node.filter, attributes, rows))
    attribute = attributes[node.key]
    if attribute.element is not None:
        if element is None:
            # emails.value eq "x": some element's value is.
            return _some_element(attribute, lambda rows: _condition(node, attributes, rows))
        field = _Field(element.c.value, attribute.element)
        attribute = replace(attribute, column=field, nullable=True, element=None)
    if node.operator == "pr":
        return _present(attribute)
    return _compare(node.path, attribute, node.operator, node.value)


def _some_element(attribute: Attribute, condition: Any) -> ColumnElement[bool]:
    """Some element of the JSON list in ``attribute``'s column meets ``condition(rows)``."""
    rows = _Elements(attribute.column).table_valued("value").alias("element")
    return exists(select(literal(1)).select_from(rows).where(condition(rows)))


def _present(attribute: Attribute) -> ColumnElement[bool]:
    column = attribute.column
    if attribute.kind == "member":
        return exists().where(_within(attribute))
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
    if attribute.kind == "member":
        # Some member has a value so compared (RFC 7644 §3.4.2.2, multi-valued attributes).
        if operator not in ("eq", "ne"):
            raise InvalidFilter(f"{name} takes eq, ne and pr")
        return exists().where(
            _within(attribute), _compare_integer(name, attribute, operator, value)
        )
    if attribute.kind == "boolean":
        condition = _compare_boolean(name, attribute, operator, value)
    elif attribute.kind == "datetime":
        condition = _compare_datetime(name, attribute, operator, value)
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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _within(attribute: Attribute) -> ColumnElement[bool]:
    if attribute.within is None:
        raise ValueError("a member attribute needs its within condition")
    return attribute.within


def _compare_datetime(
    name: str, attribute: Attribute, operator: str, value: Any
) -> ColumnElement[bool]:
    if operator in ("co", "sw", "ew"):
        raise InvalidFilter(f"{operator} does not apply to {name}, a dateTime")
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFilter(
            f'{name} is a dateTime; compare it with one, e.g. "2026-11-23T10:00:00Z"'
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    milliseconds = (moment - EPOCH) // timedelta(milliseconds=1)  # exact: no float on the way
    return _ordered(attribute.column, operator, milliseconds)


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
