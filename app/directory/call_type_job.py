"""Job type 3: call types (docs/job-types/call-type.md). A row names its call type by
``name``; one that dialed numbers use is not deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.directory import objects
from app.directory.object_job import NamedJob
from app.directory.object_state import (
    Implicit,
    NameOf,
    Obj,
    Spec,
    View,
    service_levels,
)

COLUMNS = (
    "operation",
    "name",
    "newName",
    "description",
    "serviceLevelThreshold",
    "serviceLevelType",
)
SPEC = Spec(
    objects.CALL_TYPE,
    "call type",
    ("name_key",),
    ("name", "name_key", "description", "service_level_threshold", "service_level_type"),
)
_DIALED_NUMBERS = "SELECT count(*) FROM dialed_numbers WHERE call_type_id = ?"


class CallTypeJob(NamedJob):
    code = 3
    name = "Call Type"
    columns = COLUMNS
    logged_columns = COLUMNS
    spec = SPEC

    def settings(
        self, view: View, operation: str, before: Obj | None, row: dict[str, str]
    ) -> dict[str, Any]:
        return service_levels(operation, before, row)

    def in_use(self, view: View, before: Obj) -> str | None:
        numbers = view.count(_DIALED_NUMBERS, before.id)
        if not numbers:
            return None
        return (
            f"{numbers} dialed numbers use the call type {before.values['name']}; "
            "give them another call type first (callTypeName in a dialed number file)"
        )

    def cells_of(self, obj: Obj, name_of: NameOf, implicit: Sequence[Implicit]) -> dict[str, str]:
        v = obj.values
        threshold, kind = v["service_level_threshold"], v["service_level_type"]
        return {
            "name": v["name"],
            "description": v["description"],
            "serviceLevelThreshold": "" if threshold is None else str(threshold),
            "serviceLevelType": "" if kind is None else str(kind),
        }


JOB_TYPE = CallTypeJob()
