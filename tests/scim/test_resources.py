"""The shared SCIM document code: canonical names, PATCH paths and operations, projection."""

from __future__ import annotations

from typing import Any

import pytest

from app.scim import patch as p
from app.scim import resources as r
from app.scim.exceptions import InvalidPath, InvalidSyntax, InvalidValue, NoTarget

CORE = "urn:test:User"
EXT = "urn:test:ext:User"
SHAPE: dict[str, Any] = {
    "userName": None,
    "emails": [{"value": None, "type": None, "primary": None}],
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
    target = p.resolve_path(path, SHAPE, CORE)
    assert (target and target.keys) == keys


def test_resolve_path_with_a_value_filter() -> None:
    target = p.resolve_path('EMAILS[Type eq "work" and primary eq true].VALUE', SHAPE, CORE)
    assert target is not None and target.selects is not None
    assert (target.keys, target.sub) == (("emails",), "value")
    assert target.selects.equalities == {"type": "work", "primary": True}
    assert target.selects.matches({"type": "WORK", "primary": True})
    assert not target.selects.matches({"type": "home", "primary": True})
    assert p.resolve_path('emails[type eq "work"].unknown', SHAPE, CORE) is None


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
    assert p.apply_patch(document, operations, SHAPE, CORE) == {
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
        ([{"op": "replace", "path": 'userName[value eq "w"]', "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": 'emails[nope eq "w"].value', "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": 'emails[type eq "w"', "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": 'emails[type xx "w"].value', "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": 'emails[type eq "w"]value', "value": "x"}], InvalidPath),
        # No element to change, and none can be made from a filter that is not all "eq".
        ([{"op": "replace", "path": 'emails[type co "w"].value', "value": "x"}], NoTarget),
    ],
)
def test_apply_patch_refusals(operations: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        p.apply_patch({}, operations, SHAPE, CORE)


def test_value_filters_in_paths() -> None:
    """add/replace set the selected elements' sub-attribute, or make the element the filter
    describes (Microsoft Entra's work email); remove drops elements or sub-attributes."""
    document: dict[str, Any] = {"emails": [{"value": "h@x", "type": "home"}]}
    work = 'emails[type eq "work"].value'
    p.apply_patch(document, [{"op": "replace", "path": work, "value": "w@x"}], SHAPE, CORE)
    assert document["emails"] == [
        {"value": "h@x", "type": "home"},
        {"type": "work", "value": "w@x"},
    ]
    p.apply_patch(document, [{"op": "add", "path": work, "value": "w2@x"}], SHAPE, CORE)
    assert [e["value"] for e in document["emails"]] == ["h@x", "w2@x"]
    operations = [{"op": "replace", "path": 'emails[type eq "home"]', "value": {"primary": True}}]
    p.apply_patch(document, operations, SHAPE, CORE)
    assert document["emails"][0] == {"value": "h@x", "type": "home", "primary": True}
    # An email whose address is removed is no email.
    p.apply_patch(document, [{"op": "remove", "path": work}], SHAPE, CORE)
    assert document["emails"] == [{"value": "h@x", "type": "home", "primary": True}]
    operations = [{"op": "remove", "path": 'emails[type eq "home"].primary'}]
    p.apply_patch(document, operations, SHAPE, CORE)
    assert document["emails"] == [{"value": "h@x", "type": "home"}]
    operations = [{"op": "remove", "path": 'emails[value ew "@X" or not (type pr)]'}]
    p.apply_patch(document, operations, SHAPE, CORE)
    assert document["emails"] == []


def test_required_attributes_are_not_removed() -> None:
    required = [("userName",), (EXT, "level")]
    document: dict[str, Any] = {"userName": "a", EXT: {"level": 1}}
    for operation in (
        {"op": "remove", "path": "userName"},
        {"op": "replace", "path": f"{EXT}:level", "value": None},
        {"op": "remove", "path": EXT},
    ):
        with pytest.raises(InvalidValue, match="required"):
            p.apply_patch(dict(document), [operation], SHAPE, CORE, required)


def test_add_does_not_repeat_a_value() -> None:
    document: dict[str, Any] = {"emails": [{"value": "1"}]}
    operations = [{"op": "add", "path": "emails", "value": [{"value": "1"}, {"value": "2"}]}]
    p.apply_patch(document, operations, SHAPE, CORE)
    assert document["emails"] == [{"value": "1"}, {"value": "2"}]


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
