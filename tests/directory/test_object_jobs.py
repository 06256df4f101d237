"""The Call Type (3), Skill Group (4) and Dialed Number (1) jobs (docs/job-types/), run by the
engine directly on SQLite and PostgreSQL: CREATE, UPDATE with ``~`` and renames, DELETE refused
while something uses the object, implicit call types, the log in Cisco's words, dry runs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from app.db import db
from app.db.models import (
    CallType,
    DialedNumber,
    Job,
    JobState,
    SkillGroup,
    table,
)
from app.directory import call_type_job, dialed_number_job, skill_group_job
from app.directory.object_state import Obj, Spec, View
from app.jobs.types.csvfile import clean_cell
from tests import factories
from tests.directory.jobs import csv_line, log, reverted, run, state

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


def test_dialed_numbers_with_their_call_types(any_db: Flask) -> None:
    with db.write() as conn:
        factories.media_routing_domain(conn, "Chat_MRD")
    first = run(
        any_db,
        file(
            DN,
            {
                "operation": "CREATE",
                "dialedNumberString": "5551000",
                "routingType": "1",
                "callTypeName": "CT_Sales",
            },
            {
                "operation": "CREATE",
                "dialedNumberString": "5551001",
                "routingType": "External Voice",
                "callTypeName": "ct_sales",
                "description": "Sales",
            },
            # the same string as line 2, another routing type: a Post Call Survey cannot share it
            {
                "operation": "CREATE",
                "dialedNumberString": "5551000",
                "routingType": "post call survey",
            },
            {
                "operation": "CREATE",
                "dialedNumberString": "5551000",
                "routingType": "2",
                "mediaRoutingDomainName": "Chat_MRD",
            },
            {"operation": "CREATE", "dialedNumberString": "555 1002", "routingType": "1"},
            {"operation": "CREATE", "dialedNumberString": "5551003", "routingType": "5"},
            {"operation": "CREATE", "dialedNumberString": "5" * 26, "routingType": "1"},
        ),
    )
    (call_type,) = everything(call_types)
    external, other, internal = everything(numbers)
    assert call_type.name == "CT_Sales"
    assert (external.call_type_id, other.call_type_id, internal.call_type_id) == (
        call_type.id,
        call_type.id,
        None,
    )
    assert (internal.routing_type, internal.media_routing_domain_id) == (2, 2)
    said = outcomes(first)
    assert said[:3] == [
        f"Created /unifiedconfig/config/calltype/{call_type.id}",
        f"Created /unifiedconfig/config/dialednumber/{external.id}",
        f"Created /unifiedconfig/config/dialednumber/{other.id}",
    ]
    assert (
        "Error processing line 4: dialedNumberString: An External Voice and a Post Call Survey "
        "dialed number cannot share a string: 5551000 is External Voice"
    ) in said
    assert "Error processing line 6: dialedNumberString: must not hold spaces: 555 1002" in said
    assert any("line 7: routingType: must be one of 1 External Voice" in line for line in said)
    assert any("line 8: dialedNumberString: must be at most 25 characters" in line for line in said)
    assert said[-1] == "1 call types created, 3 dialed numbers created"

    second = run(
        any_db,
        file(
            DN,
            {
                "operation": "UPDATE",
                "dialedNumberString": "5551000",
                "routingType": "1",
                "description": "~",
                "callTypeName": "~",
                "mediaRoutingDomainName": "~",
            },
            {
                "operation": "UPDATE",
                "dialedNumberString": "5551001",
                "routingType": "1",
                "description": "Sales",
                "callTypeName": "CT_New",
                "mediaRoutingDomainName": "Cisco_Voice",
            },
            {
                "operation": "DELETE",
                "dialedNumberString": "5551000",
                "routingType": "Internal Voice",
            },
            {"operation": "UPDATE", "dialedNumberString": "5551000", "routingType": "3"},
        ),
    )
    said = outcomes(second)
    new_type = everything(call_types)[-1]
    assert said[:4] == [
        f"Unchanged /unifiedconfig/config/dialednumber/{external.id}",
        f"Created /unifiedconfig/config/calltype/{new_type.id}",
        f"Updated /unifiedconfig/config/dialednumber/{other.id}",
        f"Deleted /unifiedconfig/config/dialednumber/{internal.id}",
    ]
    assert (
        "Error processing line 5: dialedNumberString: The dialed number does not exist: 5551000 (Outbound)"
        in said
    )

    # A call type a dialed number uses is not deleted.
    third = run(any_db, file(CT, {"operation": "DELETE", "name": "CT_Sales"}))
    assert outcomes(third)[0] == (
        "Error processing line 2: name: 1 dialed numbers use the call type CT_Sales; give them "
        "another call type first (callTypeName in a dialed number file)"
    )


def test_a_dry_run_decides_as_a_real_run_and_changes_nothing(any_db: Flask) -> None:
    text = file(
        DN,
        {
            "operation": "CREATE",
            "dialedNumberString": "6000",
            "routingType": "1",
            "callTypeName": "CT_Dry",
        },
        {
            "operation": "CREATE",
            "dialedNumberString": "6001",
            "routingType": "1",
            "callTypeName": "CT_Dry",
        },
        {
            "operation": "UPDATE",
            "dialedNumberString": "6000",
            "routingType": "1",
            "description": "later",
        },
        {"operation": "CREATE", "dialedNumberString": "6000", "routingType": "7"},
        {"operation": "DELETE", "dialedNumberString": "6001", "routingType": "1"},
        {"operation": "UPDATE", "dialedNumberString": "6001", "routingType": "1"},
    )
    dry = run(any_db, text, dry_run=True, chunk_size=2)
    assert everything(numbers) == [] and everything(call_types) == []
    would = outcomes(dry)
    assert would[:5] == [
        "Would create /unifiedconfig/config/calltype (CT_Dry)",
        "Would create /unifiedconfig/config/dialednumber (6000 External Voice)",
        "Would create /unifiedconfig/config/dialednumber (6001 External Voice)",
        "Would update /unifiedconfig/config/dialednumber (6000 External Voice)",
        "Error processing line 5: dialedNumberString: An External Voice and a Post Call Survey "
        "dialed number cannot share a string: 6000 is External Voice",
    ]
    real = run(any_db, text, chunk_size=2)
    said = outcomes(real)
    assert [line.split(" /")[0] for line in said[:-1]] == [
        line.replace("Would create", "Created")
        .replace("Would update", "Updated")
        .replace("Would delete", "Deleted")
        .split(" /")[0]
        for line in would[:-1]
    ]
    assert (
        would[-1]
        == "1 call types would be created, 2 dialed numbers would be created, 1 dialed numbers would be updated, 1 dialed numbers would be deleted"
    )
    assert (
        said[-1]
        == "1 call types created, 2 dialed numbers created, 1 dialed numbers updated, 1 dialed numbers deleted"
    )


def test_two_jobs_creating_one_name_make_one_object(
    any_db: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction creates the call type after the row looked for it: the row's
    implicit call type is that one, and a CREATE of the same name fails."""
    real_find = View.find
    with db.write() as conn:
        conn.execute(insert(call_types).values(name="CT_Race", name_key="ct_race"))

    looked: list[tuple[Any, ...]] = []

    def blind(view: View, spec: Spec, key: tuple[Any, ...]) -> Obj | None:
        looked.append(key)
        first_look = key == ("ct_race",) and looked.count(key) == 1
        return None if first_look else real_find(view, spec, key)

    monkeypatch.setattr(View, "find", blind)
    first = run(
        any_db,
        file(
            DN,
            {
                "operation": "CREATE",
                "dialedNumberString": "7000",
                "routingType": "1",
                "callTypeName": "CT_Race",
            },
        ),
    )
    looked.clear()
    second = run(any_db, file(CT, {"operation": "CREATE", "name": "CT_Race"}))
    (race,) = everything(call_types)
    assert everything(numbers)[0].call_type_id == race.id
    assert (
        outcomes(first)[0]
        == f"Created /unifiedconfig/config/dialednumber/{everything(numbers)[0].id}"
    )
    assert (
        outcomes(second)[0]
        == "Error processing line 2: name: The call type name is already in use: CT_Race"
    )


def template_text(name: str, start: int | None = None) -> str:
    from app.directory import object_templates

    limit = 2
    body = object_templates.template(
        db.engine, name, None if start is None else str(start), limit
    ).body
    return b"".join(body if not isinstance(body, bytes) else [body]).decode()


@pytest.mark.parametrize(
    ("name", "columns", "rows", "edits"),
    [
        (
            "calltype",
            CT,
            [{"name": f"CT_{n}", "serviceLevelThreshold": str(n)} for n in range(3)],
            ("CT_1", "serviceLevelType", "3"),
        ),
        (
            "skillgroup",
            SG,
            [{"name": f"SG_{n}", "peripheralId": "5001", "description": "=cmd"} for n in range(3)],
            ("SG_1", "serviceLevelThreshold", "45"),
        ),
        (
            "dialednumber",
            DN,
            [
                {"dialedNumberString": f"800{n}", "routingType": "1", "callTypeName": "CT_T"}
                for n in range(3)
            ],
            ("8001", "description", "Changed"),
        ),
    ],
)
def test_the_template_round_trip(
    any_db: Flask,
    name: str,
    columns: tuple[str, ...],
    rows: list[dict[str, str]],
    edits: tuple[str, str, str],
) -> None:
    """Downloaded in pieces, uploaded unchanged: every line Unchanged; two rows edited: two
    updated and nothing else."""
    run(any_db, file(columns, *({"operation": "CREATE", **r} for r in rows)))
    pieces = [template_text(name), template_text(name, 2), template_text(name, 4)]
    header = ",".join(columns)
    assert all(piece.startswith(header) for piece in pieces)
    body = [line for piece in pieces for line in piece.splitlines()[1:]]
    assert len(body) == 3 and pieces[2].splitlines() == [header]
    assert all(line.startswith("UPDATE,") for line in body)
    if name == "skillgroup":
        assert ",'=cmd," in body[0]  # a formula neutralised, and read back as it was

    unchanged = run(any_db, "\n".join([header, *body]) + "\n")
    said = outcomes(unchanged)
    assert [line.split(" ")[0] for line in said[:-1]] == ["Unchanged"] * 3, said
    assert state(unchanged) == JobState.SUCCEEDED

    key, column, value = edits
    import csv
    import io

    # Read back as the service reads a cell (a neutralised formula as it was).
    table_rows = [
        {k: clean_cell(v) for k, v in r.items()}
        for r in csv.DictReader(io.StringIO("\n".join([header, *body])))
    ]
    for cells_ in table_rows:
        if key in cells_.values():
            cells_[column] = value
    table_rows[2]["description"] = "Third"
    edited = file(columns, *table_rows)
    said = outcomes(run(any_db, edited))
    assert [line.split(" ")[0] for line in said[:-1]] == ["Unchanged", "Updated", "Updated"], said
    assert said[-1] == f"2 {object_job_plural(name)} updated"


def object_job_plural(name: str) -> str:
    from app.directory import object_templates

    return object_templates.TEMPLATES[name].spec.kind.plural


def test_a_revert_puts_back_what_the_job_did(any_db: Flask) -> None:
    run(
        any_db,
        file(
            SG,
            {"operation": "CREATE", "name": "SG_Keep", "description": "kept"},
            {"operation": "CREATE", "name": "SG_Gone"},
        ),
    )
    run(any_db, file(DN, {"operation": "CREATE", "dialedNumberString": "9000", "routingType": "1"}))
    before_groups, before_numbers = everything(groups), everything(numbers)
    sg_job = run(
        any_db,
        file(
            SG,
            {
                "operation": "UPDATE",
                "name": "SG_Keep",
                "newName": "SG_Renamed",
                "serviceLevelType": "2",
            },
            {"operation": "DELETE", "name": "SG_Gone"},
            {"operation": "CREATE", "name": "SG_New"},
            {"operation": "CREATE", "name": "SG_Joined"},
        ),
    )
    dn_job = run(
        any_db,
        file(
            DN,
            {
                "operation": "UPDATE",
                "dialedNumberString": "9000",
                "routingType": "1",
                "callTypeName": "CT_Made",
            },
            {"operation": "CREATE", "dialedNumberString": "9001", "routingType": "2"},
        ),
    )
    # Something uses SG_Joined now: its creation is not undone.
    joined = next(g for g in everything(groups) if g.name == "SG_Joined")
    with db.write() as conn:
        factories.member(conn, factories.agent(conn, "joined.agent"), joined.id)

    sg_revert = reverted(any_db, sg_job)
    dn_revert = reverted(any_db, dn_job)
    with db.read() as conn:
        kinds = dict(conn.execute(select(table(Job).c.id, table(Job).c.job_type)).all())
    assert (kinds[sg_revert], kinds[dn_revert]) == (104, 105)
    assert state(dn_revert) == JobState.SUCCEEDED, log(dn_revert)
    fields = ("id", "dialed_number_string", "routing_type", "call_type_id", "description")
    assert [tuple(getattr(n, f) for f in fields) for n in everything(numbers)] == [
        tuple(getattr(n, f) for f in fields) for n in before_numbers
    ]
    assert everything(call_types) == []
    said = outcomes(dn_revert)
    assert (
        said[:3]
        == [
            f"Reverted /unifiedconfig/config/dialednumber/{before_numbers[0].id + 1} (deleted)",
            f"Reverted /unifiedconfig/config/dialednumber/{before_numbers[0].id} (its previous values)",
            "Removed /unifiedconfig/config/calltype/1",
        ]
        or said
    )
    assert state(sg_revert) == JobState.PARTIAL
    after = {g.name: g for g in everything(groups)}
    assert set(after) == {"SG_Keep", "SG_Gone", "SG_Joined"}
    keep = next(g for g in before_groups if g.name == "SG_Keep")
    gone = next(g for g in before_groups if g.name == "SG_Gone")
    assert (after["SG_Keep"].id, after["SG_Keep"].service_level_type) == (keep.id, None)
    assert (after["SG_Gone"].id, after["SG_Gone"].peripheral_number) == (
        gone.id,
        gone.peripheral_number,
    )
    assert any(
        "skillgroup: changed since job" in line
        and "1 agents belong to the skill group SG_Joined" in line
        for line in outcomes(sg_revert)
    )


def test_a_dialed_number_jobs_failed_line_retried_with_a_correction(any_db: Flask) -> None:
    """Retry (docs/concepts.md, "Retry") of a routing file: the corrected line keeps its
    number, and the new job's log and results match the original's."""
    from app.jobs import engine, retry

    first = run(
        any_db,
        file(
            DN,
            {"operation": "CREATE", "dialedNumberString": "6100", "routingType": "1"},
            {"operation": "CREATE", "dialedNumberString": "61 01", "routingType": "1"},
        ),
    )
    corrected = (
        "lineNumber,"
        + ",".join(DN)
        + "\n3,"
        + csv_line(
            DN,
            {
                "operation": "CREATE",
                "dialedNumberString": "6101",
                "routingType": "1",
                "callTypeName": "CT_Retry",
            },
        )
        + "\n"
    )
    again = retry.retry(any_db, first, corrected=corrected.encode(), created_by="admin")
    engine.run_job(db, any_db.config["SETTINGS"], again)
    said = outcomes(again)
    assert said[-1] == "1 call types created, 1 dialed numbers created"
    assert [line for line in log(again) if line.startswith("Processing line")][-1].startswith(
        "Processing line 3: operation=CREATE, dialedNumberString=6101"
    )
    assert state(again) == JobState.SUCCEEDED
    assert [n.dialed_number_string for n in everything(numbers)] == ["6100", "6101"]
