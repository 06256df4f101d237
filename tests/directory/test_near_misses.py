"""Near misses (docs/concepts.md, "Near misses"): a reference that must exist and does not is
answered with the closest names; a name a row would create a small edit away from an existing
one is logged as a warning and flagged in the plan."""

from __future__ import annotations

from flask import Flask

from app.db import db
from app.directory import dialed_number_job
from app.directory.agent_job import COLUMNS
from app.directory.near import did_you_mean, near
from app.jobs import plan
from tests import factories
from tests.directory.jobs import csv_line, log, run


def agent_file(*rows: dict[str, str]) -> str:
    return "\n".join([",".join(COLUMNS), *(csv_line(COLUMNS, r) for r in rows)]) + "\n"


def test_what_counts_as_near() -> None:
    names = ["Sales_Tier1", "Sales_Tier2", "Support", "sales_tier_1_old"]
    assert near("Sales_Tier_1", names) == ["Sales_Tier1"]  # punctuation only
    assert near("Sales_Tir1", names) == ["Sales_Tier1"]  # one letter less
    assert near("Sales_Tier3", names) == []  # another digit is another object
    assert near("SALES_TIER1", names) == []  # the same name in another case is the same object
    assert did_you_mean("Default_Agent_Desk_Setting", ["Default_Agent_Desk_Settings", "X"]) == (
        " (did you mean Default_Agent_Desk_Settings?)"
    )
    assert did_you_mean("Completely_Else", ["Default_Agent_Desk_Settings"]) == ""


def test_missing_references_name_the_closest_and_new_names_near_old_ones_warn(
    any_db: Flask,
) -> None:
    with db.write() as conn:
        factories.skill_group(conn, "Sales_Tier1")
        factories.department(conn, "Billing_Dept")
    job_id = run(
        any_db,
        agent_file(
            {
                "operation": "CREATE",
                "userName": "nm.one",
                "firstName": "N",
                "lastName": "M",
                "agentDeskSettingsName": "Default_Agent_Desk_Setting",
            },
            {
                "operation": "CREATE",
                "userName": "nm.two",
                "firstName": "N",
                "lastName": "M",
                "departmentName": "Biling_Dept",
            },
            {
                "operation": "CREATE",
                "userName": "nm.three",
                "firstName": "N",
                "lastName": "M",
                "skillGroups": "Sales_Tier_1;Sales_Tier2",
            },
        ),
    )
    said = log(job_id)
    assert (
        "Error processing line 2: agentDeskSettingsName: Default_Agent_Desk_Setting does not "
        "exist (did you mean Default_Agent_Desk_Settings?)"
    ) in said
    assert (
        "Error processing line 3: departmentName: Biling_Dept does not exist (did you mean "
        "Billing_Dept?)"
    ) in said
    warnings = [line for line in said if line.startswith("Warning: ")]
    assert warnings == ["Warning: Sales_Tier_1 is a small edit away from the existing Sales_Tier1"]
    created = said.index(warnings[0]) - 1
    assert said[created].startswith("Created /unifiedconfig/config/skillgroup/")

    dry = run(
        any_db,
        agent_file(
            {
                "operation": "CREATE",
                "userName": "nm.four",
                "firstName": "N",
                "lastName": "M",
                "agentTeamName": "Team_North",
                "skillGroups": "Sales_Tier_2",
            },
        ),
        dry_run=True,
    )
    creates = plan.plan_json(db.engine, dry)["creates"]
    assert creates == [
        {"kind": "/unifiedconfig/config/agentteam", "name": "Team_North", "lineNumber": 2},
        {
            "kind": "/unifiedconfig/config/skillgroup",
            "name": "Sales_Tier_2",
            "lineNumber": 2,
            "closeTo": ["Sales_Tier2"],
        },
    ]


def test_a_dialed_number_file_near_misses(any_db: Flask) -> None:
    columns = dialed_number_job.COLUMNS
    with db.write() as conn:
        factories.peripheral(conn, 5000)
    text = "\n".join(
        [
            ",".join(columns),
            csv_line(
                columns,
                {
                    "operation": "CREATE",
                    "dialedNumberString": "1",
                    "routingType": "1",
                    "callTypeName": "CT_Sales",
                },
            ),
            csv_line(
                columns,
                {
                    "operation": "CREATE",
                    "dialedNumberString": "2",
                    "routingType": "1",
                    "callTypeName": "CT.Sales",
                },
            ),
            csv_line(
                columns,
                {
                    "operation": "CREATE",
                    "dialedNumberString": "3",
                    "routingType": "1",
                    "mediaRoutingDomainName": "Cisco_Voic",
                },
            ),
        ]
    )
    said = log(run(any_db, text + "\n"))
    assert "Warning: CT.Sales is a small edit away from the existing CT_Sales" in said
    assert (
        "Error processing line 4: mediaRoutingDomainName: The media routing domain does not "
        "exist: Cisco_Voic (did you mean Cisco_Voice?)"
    ) in said


def test_an_sso_user_name_that_does_not_exist_names_the_closest(any_db: Flask) -> None:
    from app.jobs import engine

    with db.write() as conn:
        factories.agent(conn, "jsmith")
        factories.agent(conn, "jsmithers")
        job_id = factories.stored_job(
            conn, factories.csv_text([["jsmiht", "", "", "j@idp"], ["zzz", "", "", "z@idp"]]), "w"
        )
    engine.run_job(db, any_db.config["SETTINGS"], job_id)
    said = log(job_id)
    assert (
        "Error processing line 2: userName: The specified agent userName does not exist: "
        "jsmiht (did you mean jsmith?)"
    ) in said
    assert (
        "Error processing line 3: userName: The specified agent userName does not exist: zzz"
    ) in said


def test_create_missing_false_fails_the_rows_that_would_create(any_db: Flask) -> None:
    with db.write() as conn:
        factories.skill_group(conn, "SG_There")
    job_id = run(
        any_db,
        agent_file(
            {
                "operation": "CREATE",
                "userName": "cm.one",
                "firstName": "C",
                "lastName": "M",
                "skillGroups": "SG_There",
            },
            {
                "operation": "CREATE",
                "userName": "cm.two",
                "firstName": "C",
                "lastName": "M",
                "skillGroups": "SG_Ther",
            },
            {
                "operation": "CREATE",
                "userName": "cm.three",
                "firstName": "C",
                "lastName": "M",
                "agentTeamName": "Team_New",
            },
            {
                "operation": "CREATE",
                "userName": "cm.four",
                "firstName": "C",
                "lastName": "M",
                "attributes": "new_attribute=true",
            },
        ),
        create_missing=False,
    )
    said = log(job_id)
    assert said[1] == "createMissing is false: rows create nothing they name"
    assert (
        "Error processing line 3: skillGroups: SG_Ther does not exist (createMissing is false) "
        "(did you mean SG_There?)"
    ) in said
    assert (
        "Error processing line 4: agentTeamName: Team_New does not exist (createMissing is false)"
    ) in said
    assert any(
        line.startswith("Error processing line 5: attributes: new_attribute") for line in said
    )
    assert said[-1] == "1 agents created"

    columns = dialed_number_job.COLUMNS
    numbers = "\n".join(
        [
            ",".join(columns),
            csv_line(
                columns,
                {
                    "operation": "CREATE",
                    "dialedNumberString": "9",
                    "routingType": "1",
                    "callTypeName": "CT_None",
                },
            ),
        ]
    )
    said = log(run(any_db, numbers + "\n", create_missing=False))
    assert (
        "Error processing line 2: callTypeName: CT_None does not exist (createMissing is false)"
    ) in said


def test_a_skill_group_created_near_an_existing_one_is_flagged(any_db: Flask) -> None:
    from app.directory import skill_group_job

    columns = skill_group_job.COLUMNS
    with db.write() as conn:
        factories.skill_group(conn, "Sales_Tier1")
    text = "\n".join(
        [",".join(columns), csv_line(columns, {"operation": "CREATE", "name": "Sales_Tier_1"})]
    )
    planned = plan.plan_json(db.engine, run(any_db, text + "\n", dry_run=True))
    assert planned["lines"][0]["closeTo"] == ["Sales_Tier1"]
    said = log(run(any_db, text + "\n"))
    warned = said.index("Warning: Sales_Tier_1 is a small edit away from the existing Sales_Tier1")
    assert said[warned + 1].startswith("Created /unifiedconfig/config/skillgroup/")
