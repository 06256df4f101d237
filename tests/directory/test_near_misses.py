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
