"""The SCIM filter grammar (RFC 7644 §3.4.2.2), parsed by recursive descent into a small tree.

    filter  := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" or ")" | attrExp | valuePath
    attrExp := attrPath "pr" | attrPath compareOp value
    valuePath := attrPath "[" or "]" [ "." subAttr ( "pr" | compareOp value ) ]

A value path (list filters only) asks for some element of a multi-valued attribute matching the
filter between the brackets, whose attributes are its sub-attributes: ``emails[type eq "work"
and value co "@example.com"]``; Microsoft Entra also compares one sub-attribute of the elements
selected, ``emails[type eq "work"].value eq "ann@example.com"`` (read as ``emails[type eq "work"
and value eq "ann@example.com"]``).

Two readers of the tree: list filters become SQL conditions (app/scim/filter.py) and PATCH
value filters a test of one element of a multi-valued attribute (scim_valuefilter). Operators
and keywords are case-insensitive; the caller's ``attribute`` function says which attribute
paths exist (raising otherwise) and how they are keyed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.scim.exceptions import ScimError

MAX_LENGTH = 4096
MAX_DEPTH = 32
COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))'
)
_ATTR_PATH = re.compile(r"^(?:urn:[^\s]+:)?[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?$")
_SUB_ATTR = re.compile(r"^\.[A-Za-z][\w$-]*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Comparison:
    """``path operator value``; ``key`` is what the caller's ``attribute`` made of ``path``;
    ``value`` is None for ``pr`` (and for a literal null)."""

    path: str
    key: str
    operator: str
    value: Any


@dataclass(frozen=True)
class ValuePath:
    """``path[filter]``: some element of the multi-valued attribute ``path`` (``key`` as the
    caller's ``attribute`` made it) matches ``filter``, whose comparisons name sub-attributes
    (keyed as ``attribute`` made ``path.sub``)."""

    path: str
    key: str
    filter: Node


@dataclass(frozen=True)
class Not:
    term: Node


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]


Node = Comparison | Not | And | Or | ValuePath


@dataclass(frozen=True)
class _Token:
    kind: Literal["string", "punct", "word"]
    text: str


def parse(
    text: str,
    error: type[ScimError],
    attribute: Callable[[str], str],
    what: str = "filter",
    value_paths: bool = False,
) -> Node:
    """The tree of ``text``; ``error`` is the refusal raised (invalidFilter for list filters,
    invalidPath for a PATCH path's), ``what`` how messages name the text; ``value_paths``:
    whether ``attr[...]`` may be used (list filters; not inside a PATCH path's value filter)."""
    if len(text) > MAX_LENGTH:
        raise error(f"The {what} is longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text, error, what), error, attribute, what, value_paths)
    if not parser.tokens:
        raise error(f"The {what} is empty")
    tree = parser.parse_or(0)
    if parser.pos < len(parser.tokens):
        raise error(f"Unexpected {parser.tokens[parser.pos].text!r} in the {what}")
    return tree


def _tokens(text: str, error: type[ScimError], what: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise error(f"Cannot read the {what} at character {pos + 1}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))  # type: ignore[arg-type]
        pos = match.end()
    return tokens


class _Parser:
    def __init__(
        self,
        tokens: list[_Token],
        error: type[ScimError],
        attribute: Callable[[str], str],
        what: str,
        value_paths: bool,
    ) -> None:
        self.tokens = tokens
        self.pos = 0
        self.error = error
        self.attribute = attribute
        self.what = what
        self.value_paths = value_paths

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
            raise self.error(f"The {self.what} ends where {expected} was expected")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _check_depth(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.error(f"The {self.what} nests deeper than {MAX_DEPTH} levels")

    def parse_or(self, depth: int) -> Node:
        self._check_depth(depth)
        terms = [self.parse_and(depth)]
        while self._peek_word() == "or":
            self.pos += 1
            terms.append(self.parse_and(depth))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def parse_and(self, depth: int) -> Node:
        terms = [self.parse_unary(depth)]
        while self._peek_word() == "and":
            self.pos += 1
            terms.append(self.parse_unary(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def parse_unary(self, depth: int) -> Node:
        self._check_depth(depth)
        if self._peek_word() == "not":
            self.pos += 1
            return Not(self.parse_unary(depth + 1))
        if self._peek_punct("("):
            self.pos += 1
            inner = self.parse_or(depth + 1)
            closing = self._next("')'")
            if closing.text != ")":
                raise self.error(f"Expected ')' but found {closing.text!r} in the {self.what}")
            return inner
        return self.parse_comparison(depth)

    def parse_comparison(self, depth: int) -> Comparison | ValuePath:
        token = self._next("an attribute")
        if token.kind != "word" or not _ATTR_PATH.match(token.text):
            raise self.error(f"Expected an attribute but found {token.text!r} in the {self.what}")
        if self._peek_punct("["):
            if not self.value_paths:
                raise self.error(f"Value filters such as {token.text}[...] are not supported here")
            return self.parse_value_path(token.text, depth)
        return self._comparison(token.text, self.attribute(token.text))

    def _comparison(self, path: str, key: str) -> Comparison:
        operator_token = self._next("an operator")
        operator = operator_token.text.lower()
        if operator_token.kind != "word" or (operator != "pr" and operator not in COMPARE_OPS):
            raise self.error(f"Unknown operator {operator_token.text!r} in the {self.what}")
        if operator == "pr":
            return Comparison(path, key, operator, None)
        return Comparison(path, key, operator, self._value(self._next("a value")))

    def parse_value_path(self, path: str, depth: int) -> ValuePath:
        key = self.attribute(path)
        self.pos += 1  # the "["
        outer = self.attribute
        # Inside the brackets names are sub-attributes, and brackets do not nest.
        self.attribute, self.value_paths = (lambda name: outer(f"{path}.{name}")), False
        try:
            inner = self.parse_or(depth + 1)
        finally:
            self.attribute, self.value_paths = outer, True
        closing = self._next("']'")
        if closing.text != "]":
            raise self.error(f"Expected ']' but found {closing.text!r} in the {self.what}")
        following = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if following is None or following.kind != "word" or not following.text.startswith("."):
            return ValuePath(path, key, inner)
        if not _SUB_ATTR.match(following.text):
            raise self.error(f"Expected a sub-attribute but found {following.text!r}")
        self.pos += 1
        sub = f"{path}{following.text}"
        return ValuePath(path, key, And((inner, self._comparison(sub, self.attribute(sub)))))

    def _value(self, token: _Token) -> Any:
        if token.kind == "string":
            try:
                return json.loads(token.text)
            except ValueError as exc:
                raise self.error(f"Invalid string {token.text} in the {self.what}") from exc
        word = token.text.lower()
        if token.kind == "word":
            if word in ("true", "false"):
                return word == "true"
            if word == "null":
                return None
            if _NUMBER.match(token.text):
                return json.loads(token.text)
        raise self.error(f"Expected a value but found {token.text!r} in the {self.what}")
