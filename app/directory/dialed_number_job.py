"""Job type 1: dialed numbers (docs/job-types/dialed-number.md). A row names its dialed number
by ``dialedNumberString`` and ``routingType`` together; a ``callTypeName`` that does not exist
is created with the row, as Cisco does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.directory import call_type_job, cells, near, objects
from app.directory.cells import RowError
from app.directory.names import name_key
from app.directory.near import did_you_mean
from app.directory.object_job import ObjectJob
from app.directory.object_state import (
    Change,
    Implicit,
    NameOf,
    Obj,
    Spec,
    View,
    description,
    kept,
    outcome_of_change,
)

COLUMNS = (
    "operation",
    "dialedNumberString",
    "routingType",
    "description",
    "callTypeName",
    "mediaRoutingDomainName",
)
SPEC = Spec(
    objects.DIALED_NUMBER,
    "dialed number",
    ("routing_type", "string_key"),
    (
        "dialed_number_string",
        "string_key",
        "routing_type",
        "voice_key",
        "description",
        "call_type_id",
        "media_routing_domain_id",
    ),
)
MAX_STRING = 25
ROUTING_TYPES = {
    1: "External Voice",
    2: "Internal Voice",
    3: "Outbound",
    4: "Multichannel",
    7: "Post Call Survey",
}
# External Voice and Post Call Survey numbers cannot share a string (Cisco's rule).
_SHARED = {1: 7, 7: 1}
_BY_NAME = {label.replace(" ", "").lower(): code for code, label in ROUTING_TYPES.items()}


def routing_type(value: str) -> int:
    """The number (``1``) or the name (``External Voice``, spaces and case aside)."""
    if value.isascii() and value.isdigit() and int(value) in ROUTING_TYPES:
        return int(value)
    found = _BY_NAME.get(value.replace(" ", "").lower())
    if found is None:
        choices = ", ".join(f"{code} {label}" for code, label in ROUTING_TYPES.items())
        if not value:
            raise RowError("routingType", f"routingType is required ({choices})")
        raise RowError("routingType", f"must be one of {choices}: {value}")
    return found


def dialed_number_string(value: str) -> str:
    cells.text("dialedNumberString", value, MAX_STRING, required=True)
    if any(c.isspace() for c in value):
        raise RowError("dialedNumberString", f"must not hold spaces: {value}")
    return value


class DialedNumberJob(ObjectJob):
    code = 1
    name = "Dialed Number"
    columns = COLUMNS
    logged_columns = COLUMNS
    spec = SPEC

    def decide(self, view: View, row: dict[str, str]) -> Change:
        operation = cells.operation(row["operation"])
        string = dialed_number_string(row["dialedNumberString"])
        routing = routing_type(row["routingType"])
        key = string.lower()
        before = view.find(SPEC, (routing, key))
        named = f"{string} ({ROUTING_TYPES[routing]})"
        if operation == cells.CREATE and before is not None:
            raise RowError("dialedNumberString", f"The dialed number already exists: {named}")
        if operation != cells.CREATE and before is None:
            raise RowError("dialedNumberString", f"The dialed number does not exist: {named}")
        if operation == cells.DELETE:
            return Change(objects.DELETED, before)
        if before is None and routing in _SHARED:
            other = view.find(SPEC, (_SHARED[routing], key))
            if other is not None:
                raise RowError(
                    "dialedNumberString",
                    f"An External Voice and a Post Call Survey dialed number cannot share a "
                    f"string: {string} is {ROUTING_TYPES[_SHARED[routing]]}",
                )
        implicit: list[Implicit] = []

        def call_type(cell: str) -> int | None:
            if not cell:
                return None
            cells.enterprise_name("callTypeName", cell)
            found = view.find(call_type_job.SPEC, (name_key(cell),))
            if found is not None:
                return found.id
            if not view.run.create_missing:
                known = near.existing(view.conn, view.run.memo, objects.CALL_TYPE)
                raise RowError(
                    "callTypeName",
                    f"{cell} does not exist (createMissing is false){did_you_mean(cell, known)}",
                )
            implicit.append(
                Implicit(
                    call_type_job.SPEC, {"name": cell, "name_key": name_key(cell)}, "call_type_id"
                )
            )
            return None

        values: dict[str, Any] = {
            "dialed_number_string": string
            if before is None
            else before.values["dialed_number_string"],
            "string_key": key,
            "routing_type": routing,
            "voice_key": key if routing in _SHARED else None,
            "description": kept(operation, before, "description", row["description"], description),
            "call_type_id": kept(operation, before, "call_type_id", row["callTypeName"], call_type),
            "media_routing_domain_id": kept(
                operation,
                before,
                "media_routing_domain_id",
                row["mediaRoutingDomainName"],
                lambda cell: view.domain("mediaRoutingDomainName", cell),
            ),
        }
        change = outcome_of_change(operation, before, values)
        change.implicit = implicit
        if implicit and change.word == objects.UNCHANGED:  # a new call type is a change
            assert before is not None
            change = Change(
                objects.UPDATED, before, Obj(before.id, values, before.change_stamp + 1)
            )
            change.implicit = implicit
        return change

    def named(self, values: dict[str, Any]) -> str:
        return f"{values['dialed_number_string']} {ROUTING_TYPES[values['routing_type']]}"

    def taken(self, row: dict[str, str]) -> str:
        return (
            "dialedNumberString: The dialed number string is already in use for its routing "
            f"type: {row['dialedNumberString']}"
        )

    def cells_of(self, obj: Obj, name_of: NameOf, implicit: Sequence[Implicit]) -> dict[str, str]:
        v = obj.values
        call_type = v["call_type_id"]
        if implicit:
            call_type_name = str(implicit[0].values["name"])
        else:
            call_type_name = "" if call_type is None else name_of(objects.CALL_TYPE, call_type)
        return {
            "dialedNumberString": v["dialed_number_string"],
            "routingType": str(v["routing_type"]),
            "description": v["description"],
            "callTypeName": call_type_name,
            "mediaRoutingDomainName": name_of(
                objects.MEDIA_ROUTING_DOMAIN, v["media_routing_domain_id"]
            ),
        }


JOB_TYPE = DialedNumberJob()
