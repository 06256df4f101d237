"""The shared SCIM document code: canonical names, PATCH paths and operations, projection."""

from __future__ import annotations

from typing import Any

import pytest

from app.services import scim_resources as r
from app.services.scim_errors import InvalidSyntax, InvalidValue, NoTarget

CORE = "urn:test:User"
EXT = "urn:test:ext:User"
SHAPE: dict[str, Any] = {
    "userName": None,
    "emails": None,
    "name": {"givenName": None},
    EXT: {"level": None},
}


def test_canonical_names_and_unknown_attributes() -> None:
    raw = {
        "USERNAME": "a",
        "name": {"GivenName": "A", "x": 1},
        EXT.upper(): {"LEVEL": 2},
        "role": "x",
    }
    assert r.canonical(raw, SHAPE) == {
        "userName": "a",
        "name": {"givenName": "A"},
        EXT: {"level": 2},
    }
    with pytest.raises(InvalidSyntax):
        r.canonical([], SHAPE)


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("username", ("userName",)),
        ("NAME.givenname", ("name", "givenName")),
        (f"{CORE}:userName", ("userName",)),
        (f"{EXT}:level", (EXT, "level")),
        (EXT.upper(), (EXT,)),
        ("nickName", None),
        ("name.middleName", None),
    ],
)
def test_resolve_path(path: str, keys: tuple[str, ...] | None) -> None:
    assert r.resolve_path(path, SHAPE, CORE) == keys


def test_apply_patch_in_order() -> None:
    document: dict[str, Any] = {"userName": "a", "emails": [{"value": "1"}]}
    operations = [
        {"op": "add", "path": "emails", "value": {"value": "2"}},
        {"OP": "replace", "PATH": "name.givenName", "VALUE": "G"},
        {"op": "add", "value": {"username": "b", EXT: {"level": 3}}},
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "unknown"},
        {"op": "replace", "path": "unknown", "value": 1},
    ]
    assert r.apply_patch(document, operations, SHAPE, CORE) == {
        "userName": "b",
        "emails": [{"value": "1"}, {"value": "2"}],
        "name": {},
        EXT: {"level": 3},
    }


@pytest.mark.parametrize(
    ("operations", "error"),
    [
        (None, InvalidSyntax),
        ([], InvalidSyntax),
        (["x"], InvalidSyntax),
        ([{"op": "copy"}], InvalidSyntax),
        ([{"op": "remove"}], NoTarget),
        ([{"op": "add", "value": "x"}], InvalidValue),
        ([{"op": "add", "path": "userName"}], InvalidValue),
        ([{"op": "add", "path": 3, "value": 1}], InvalidSyntax),
        ([{"op": "replace", "path": "name", "value": "x"}], InvalidValue),
        ([{"op": "replace", "path": 'emails[type eq "w"]', "value": "x"}], InvalidValue),
    ],
)
def test_apply_patch_refusals(operations: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        r.apply_patch({}, operations, SHAPE, CORE)


def test_projection() -> None:
    resource = {
        "schemas": [CORE],
        "id": "1",
        "userName": "a",
        "name": {"givenName": "G", "familyName": "F"},
        "emails": [{"value": "x", "type": "work"}],
        EXT: {"level": 1, "other": 2},
        "meta": {"version": "v"},
    }
    paths = r.parse_paths
    schemas = (CORE, EXT)
    assert r.project(resource, paths(["userName"], schemas), None) == {
        "schemas": [CORE],
        "id": "1",
        "userName": "a",
    }
    assert r.project(
        resource, paths([f"{CORE}:name.familyName", "emails.value"], schemas), None
    ) == {
        "schemas": [CORE],
        "id": "1",
        "name": {"familyName": "F"},
        "emails": [{"value": "x"}],
    }
    assert r.project(resource, paths([f"{EXT}:level"], schemas), None)[EXT] == {"level": 1}
    excluded = r.project(
        resource, None, paths(["id", "schemas", "meta", "name.givenName", EXT], schemas)
    )
    assert excluded == {
        "schemas": [CORE],
        "id": "1",
        "userName": "a",
        "name": {"familyName": "F"},
        "emails": [{"value": "x", "type": "work"}],
    }
