"""Job type 4: skill groups (docs/job-types/skill-group.md). A row names its skill group by
``name``; a new one gets the next peripheral number on its peripheral; its peripheral and media
routing domain cannot change once it exists; one that agents belong to is not deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.db.sql import sql
from app.directory import objects
from app.directory.cells import KEEP, RowError
from app.directory.new_agents import lock_agent_ids
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
    "peripheralId",
    "mediaRoutingDomainName",
    "serviceLevelThreshold",
    "serviceLevelType",
)
SPEC = Spec(
    objects.SKILL_GROUP,
    "skill group",
    ("name_key",),
    (
        "name",
        "name_key",
        "description",
        "peripheral_id",
        "media_routing_domain_id",
        "service_level_threshold",
        "service_level_type",
        "peripheral_number",  # given out when the skill group is made, never by the file
    ),
)
_AGENTS = "SELECT count(*) FROM agent_skill_groups WHERE skill_group_id = ?"
_NEXT_NUMBER = (
    "SELECT coalesce(max(peripheral_number), 0) + 1 FROM skill_groups WHERE peripheral_id = ?"
)


class SkillGroupJob(NamedJob):
    code = 4
    name = "Skill Group"
    columns = COLUMNS
    logged_columns = COLUMNS
    spec = SPEC

    def settings(
        self, view: View, operation: str, before: Obj | None, row: dict[str, str]
    ) -> dict[str, Any]:
        peripheral_cell, domain_cell = row["peripheralId"], row["mediaRoutingDomainName"]
        if before is None:
            peripheral = view.peripheral("peripheralId", peripheral_cell.replace(KEEP, ""))
            domain = view.domain("mediaRoutingDomainName", domain_cell.replace(KEEP, ""))
        else:  # fixed once the skill group exists: ~, empty or what it is
            peripheral = before.values["peripheral_id"]
            if peripheral_cell not in ("", KEEP) and peripheral_cell != str(peripheral):
                raise RowError(
                    "peripheralId",
                    f"cannot change once the skill group exists (it is on {peripheral})",
                )
            domain = before.values["media_routing_domain_id"]
            if domain_cell not in ("", KEEP) and (
                view.domain("mediaRoutingDomainName", domain_cell) != domain
            ):
                raise RowError(
                    "mediaRoutingDomainName", "cannot change once the skill group exists"
                )
        return {
            "peripheral_number": 0 if before is None else before.values["peripheral_number"],
            "peripheral_id": peripheral,
            "media_routing_domain_id": domain,
            **service_levels(operation, before, row),
        }

    def in_use(self, view: View, before: Obj) -> str | None:
        agents = view.count(_AGENTS, before.id)
        if not agents:
            return None
        name = before.values["name"]
        return (
            f"{agents} agents belong to the skill group {name}; remove them first "
            f"(skillGroups -{name} in an agent file)"
        )

    def insert_values(self, view: View, values: dict[str, Any]) -> dict[str, Any]:
        # Numbers are handed out under the lock an agent file's new skill groups take.
        lock_agent_ids(view.conn)
        number = view.conn.exec_driver_sql(
            sql(view.conn, _NEXT_NUMBER), (values["peripheral_id"],)
        ).scalar_one()
        return {**values, "peripheral_number": int(number)}

    def cells_of(self, obj: Obj, name_of: NameOf, implicit: Sequence[Implicit]) -> dict[str, str]:
        v = obj.values
        return {
            "name": v["name"],
            "description": v["description"],
            "peripheralId": str(v["peripheral_id"]),
            "mediaRoutingDomainName": name_of(
                objects.MEDIA_ROUTING_DOMAIN, v["media_routing_domain_id"]
            ),
            "serviceLevelThreshold": _text(v["service_level_threshold"]),
            "serviceLevelType": _text(v["service_level_type"]),
        }


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


JOB_TYPE = SkillGroupJob()
