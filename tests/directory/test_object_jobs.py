"""The Call Type (3), Skill Group (4) and Dialed Number (1) jobs (docs/job-types/), run by the
engine directly on SQLite and PostgreSQL: CREATE, UPDATE with ``~`` and renames, DELETE refused
while something uses the object, implicit call types, the log in Cisco's words, dry runs."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.db import db
from app.db.models import (
    CallType,
    DialedNumber,
    JobState,
    SkillGroup,
    table,
)
from app.directory import call_type_job, dialed_number_job, skill_group_job
from tests import factories
from tests.directory.jobs import csv_line, log, run, state

call_types = table(CallType)
numbers = table(DialedNumber)
groups = table(SkillGroup)

CT = call_type_job.COLUMNS
SG = skill_group_job.COLUMNS
DN = dialed_number_job.COLUMNS


def file(columns: tuple[str, ...], *rows: dict[str, str]) -> str:
    return "\n".join([",".join(columns), *(csv_line(columns, r) for r in rows)]) + "\n"


def everything(t: Any) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(t).order_by(t.c.id)).all())


_SAID = ("Created ", "Updated ", "Deleted ", "Unchanged ", "Would ", "Error ")


def outcomes(job_id: int) -> list[str]:
    """What the log says the lines did, then its last line (the tally)."""
    lines = log(job_id)
    return [line for line in lines[:-1] if line.startswith(_SAID)] + lines[-1:]


def test_call_types_created_updated_renamed_and_deleted(any_db: Flask) -> None:
    first = run(
        any_db,
        file(
            CT,
            {"operation": "CREATE", "name": "CT_Sales", "serviceLevelThreshold": "20"},
            {
                "operation": "create",
                "name": "CT_Billing",
                "description": "Bills",
                "serviceLevelType": "2",
            },
            {"operation": "CREATE", "name": "ct_sales"},  # the same name, another case
            {"operation": "CREATE", "name": "Bad Name"},
            {"operation": "CREATE", "name": "CT_X", "serviceLevelThreshold": "soon"},
            {"operation": "CREATE", "name": "CT_Y", "serviceLevelType": "4"},
        ),
    )
    sales, billing = everything(call_types)
    assert (sales.name, sales.service_level_threshold, sales.service_level_type) == (
        "CT_Sales",
        20,
        None,
    )
    assert (billing.description, billing.service_level_type) == ("Bills", 2)
    said = outcomes(first)
    assert f"Created /unifiedconfig/config/calltype/{sales.id}" in said
    assert "Error processing line 4: name: The call type already exists: ct_sales" in said
    assert any("line 5: name: Bad Name is not a valid name" in line for line in said)
    assert any("line 6: serviceLevelThreshold: must be a whole number" in line for line in said)
    assert any(
        "line 7: serviceLevelType: must be 1 (Ignore abandoned calls)" in line for line in said
    )
    assert said[-1] == "2 call types created"
    assert state(first) == JobState.PARTIAL

    second = run(
        any_db,
        file(
            CT,
            # ~ keeps; newName renames; the name cell may differ in case.
            {
                "operation": "UPDATE",
                "name": "ct_sales",
                "newName": "CT_Sales_2",
                "description": "~",
                "serviceLevelThreshold": "~",
                "serviceLevelType": "3",
            },
            # empty cells set the defaults; no change at all is Unchanged.
            {
                "operation": "UPDATE",
                "name": "CT_Billing",
                "description": "Bills",
                "serviceLevelType": "2",
            },
            {"operation": "UPDATE", "name": "CT_Billing", "newName": "ct_sales_2"},
            {"operation": "UPDATE", "name": "CT_None"},
            {"operation": "DELETE", "name": "CT_Billing"},
        ),
    )
    (renamed,) = everything(call_types)
    assert (renamed.id, renamed.name, renamed.name_key) == (sales.id, "CT_Sales_2", "ct_sales_2")
    assert (renamed.service_level_threshold, renamed.service_level_type) == (20, 3)
    assert renamed.change_stamp == sales.change_stamp + 1
    said = outcomes(second)
    assert said[:2] == [
        f"Updated /unifiedconfig/config/calltype/{sales.id}",
        f"Unchanged /unifiedconfig/config/calltype/{billing.id}",
    ]
    assert (
        "Error processing line 4: newName: The call type name is already in use: ct_sales_2" in said
    )
    assert "Error processing line 5: name: The call type does not exist: CT_None" in said
    assert f"Deleted /unifiedconfig/config/calltype/{billing.id}" in said
    assert said[-1] == "1 call types updated, 1 call types deleted"


def test_skill_groups_keep_their_peripheral_and_domain_and_their_agents(any_db: Flask) -> None:
    first = run(
        any_db,
        file(
            SG,
            {"operation": "CREATE", "name": "SG_One"},
            {
                "operation": "CREATE",
                "name": "SG_Two",
                "peripheralId": "5001",
                "mediaRoutingDomainName": "cisco_voice",
                "serviceLevelThreshold": "30",
                "serviceLevelType": "1",
            },
            {"operation": "CREATE", "name": "SG_Three", "peripheralId": "5001"},
            {"operation": "CREATE", "name": "SG_Four", "peripheralId": "7777"},
            {"operation": "CREATE", "name": "SG_Five", "mediaRoutingDomainName": "Chat"},
        ),
    )
    one, two, three = everything(groups)
    assert (one.peripheral_id, one.peripheral_number, one.media_routing_domain_id) == (5000, 1, 1)
    assert (two.peripheral_id, two.peripheral_number, two.service_level_threshold) == (5001, 1, 30)
    assert (three.peripheral_id, three.peripheral_number) == (5001, 2)
    said = outcomes(first)
    assert "Error processing line 5: peripheralId: The peripheral does not exist: 7777" in said
    assert (
        "Error processing line 6: mediaRoutingDomainName: The media routing domain does not exist: Chat"
        in said
    )

    with db.write() as conn:
        factories.member(conn, factories.agent(conn, "sg.member"), one.id)
    second = run(
        any_db,
        file(
            SG,
            {"operation": "UPDATE", "name": "SG_Two", "peripheralId": "5000"},
            {
                "operation": "UPDATE",
                "name": "SG_Two",
                "peripheralId": "5001",
                "mediaRoutingDomainName": "Cisco_Voice",
                "description": "Two",
                "serviceLevelThreshold": "~",
                "serviceLevelType": "~",
            },
            {"operation": "DELETE", "name": "SG_One"},
            {"operation": "DELETE", "name": "SG_Three"},
        ),
    )
    said = outcomes(second)
    assert (
        "Error processing line 2: peripheralId: cannot change once the skill group exists (it is on 5001)"
        in said
    )
    assert f"Updated /unifiedconfig/config/skillgroup/{two.id}" in said
    assert (
        "Error processing line 4: name: 1 agents belong to the skill group SG_One; remove them "
        "first (skillGroups -SG_One in an agent file)"
    ) in said
    assert [g.name for g in everything(groups)] == ["SG_One", "SG_Two"]
    assert everything(groups)[1].service_level_threshold == 30
