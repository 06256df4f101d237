"""The SCIM filter parser: grammar, refusals, and the SQL it produces on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from app.db import make_engine
from app.db.models import Agent, AgentTeam, Base, Peripheral, table
from app.scim import resources as scim_resources
from app.scim.exceptions import InvalidFilter, InvalidValue
from app.scim.filters import sql as scim_filter
from app.scim.groups import ATTRIBUTES as GROUP_ATTRIBUTES
from app.scim.users import AGENT, ATTRIBUTES, ENTERPRISE, USER

agents = table(Agent)

ROWS = [
    # user name, first, last, external id, active, agent id, team-less, sso
    ("Alice@Example.com", "Alice", "Smith", "HR-1", True, "1001", False),
    ("bob@example.com", "Bob", "O'Hara", "hr-2", False, "1002", True),
    ("carol_x@other.org", "Carol", "Smithers", None, True, "2001", False),
    ("dave%@other.org", "Dávid", "", "HR-10", True, "2002", True),
]


# meta.created / meta.lastModified (ms since the epoch); Carol's are unknown.
MODIFIED = [1767225600000, 1780272000500, None, 1780272000501]  # 2026-01-01, 2026-06-01 x2
# displayName, emails (as stored: a JSON list) and employeeNumber; Dave has none of them.
SCIM_COLUMNS = [
    {
        "display_name": "Alice Smith",
        "emails": '[{"value": "Alice@Example.com", "type": "work", "primary": true},'
        ' {"value": "alice@home.net", "type": "home"}]',
        "employee_number": "E-1001",
    },
    {
        "display_name": "BobIsAmazing",
        "emails": '[{"value": "bob@example.com", "type": "home"}]',
        "employee_number": "e-1002",
    },
    {
        "display_name": "carol",
        "emails": '[{"value": "carol@work.example.org", "type": "work"}]',
        "employee_number": "2001",
    },
    {"display_name": None, "emails": None, "employee_number": None},
]


def _fill(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table(Peripheral)).values(id=5000, name="PG"))
        for (user_name, first, last, external, active, agent_id, sso), modified, scim in zip(
            ROWS, MODIFIED, SCIM_COLUMNS, strict=True
        ):
            conn.execute(
                insert(agents).values(
                    agent_id=agent_id,
                    peripheral_id=5000,
                    first_name=first,
                    last_name=last,
                    user_name=user_name,
                    user_name_key=user_name.lower(),
                    external_id=external,
                    login_enabled=active,
                    sso_enabled=sso,
                    supervisor=False,
                    description="",
                    change_stamp=0,
                    created_ms=modified,
                    modified_ms=modified,
                    **scim,
                )
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/filter.sqlite"
    else:
        url = request.getfixturevalue("pg_url")
    made = make_engine(url)
    _fill(made)
    yield made
    made.dispose()


def matches(engine: Engine, text: str) -> list[str]:
    condition = scim_filter.parse(text, ATTRIBUTES)
    with engine.connect() as conn:
        rows = conn.execute(select(agents.c.user_name).where(condition).order_by(agents.c.id))
        return [row.user_name for row in rows]


ALICE, BOB, CAROL, DAVE = (row[0] for row in ROWS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "alice@example.com"', [ALICE]),
        ('meta.lastModified gt "2026-03-01T00:00:00Z"', [BOB, DAVE]),
        ('meta.lastModified eq "2026-06-01T00:00:00.500Z"', [BOB]),
        ('meta.lastModified le "2026-06-01T00:00:00.500Z"', [ALICE, BOB]),
        ('meta.lastModified lt "2026-06-01T02:00:00.501+02:00"', [ALICE, BOB]),
        ('meta.created ge "2026-01-01T00:00:00"', [ALICE, BOB, DAVE]),
        ("meta.created pr", [ALICE, BOB, DAVE]),
        ("not (meta.lastModified pr)", [CAROL]),
        ('USERNAME EQ "ALICE@EXAMPLE.COM"', [ALICE]),
        (f'{USER}:userName eq "bob@example.com"', [BOB]),
        ('userName ne "alice@example.com"', [BOB, CAROL, DAVE]),
        ('userName co "EXAMPLE"', [ALICE, BOB]),
        ('userName sw "car"', [CAROL]),
        ('userName ew ".org"', [CAROL, DAVE]),
        # LIKE's wildcards in a value are literal characters.
        ('userName co "%"', [DAVE]),
        ('userName co "_"', [CAROL]),
        ('userName sw "c_rol"', []),
        ('name.familyName eq "smith"', [ALICE]),
        ('name.familyName sw "SMITH"', [ALICE, CAROL]),
        ('name.familyName co "\'"', [BOB]),
        ("name.familyName pr", [ALICE, BOB, CAROL]),
        ('name.givenName gt "C"', [CAROL, DAVE]),
        ('name.givenName lt "bob"', [ALICE]),
        ('name.givenName ge "bob"', [BOB, CAROL, DAVE]),
        ('name.givenName le "Bob"', [ALICE, BOB]),
        # externalId is caseExact, on every database.
        ('externalId eq "HR-1"', [ALICE]),
        ('externalId eq "hr-1"', []),
        ('externalId co "R-"', [ALICE, DAVE]),
        ('externalId sw "hr"', [BOB]),
        ('externalId ew "-10"', [DAVE]),
        ('externalId ew "xxxxxxxHR-10"', []),
        ("externalId pr", [ALICE, BOB, DAVE]),
        ("externalId eq null", [CAROL]),
        ('externalId ne "HR-1"', [BOB, CAROL, DAVE]),
        ("not (externalId pr)", [CAROL]),
        ("active eq true", [ALICE, CAROL, DAVE]),
        ("active eq False", [BOB]),
        ("active ne true", [BOB]),
        ("active pr", [ALICE, BOB, CAROL, DAVE]),
        (f'{AGENT}:agentId sw "2"', [CAROL, DAVE]),
        (f'{AGENT}:agentId eq "1001"', [ALICE]),
        # employeeNumber is free text, compared ignoring case.
        (f'{ENTERPRISE}:employeeNumber eq "e-1001"', [ALICE]),
        (f'{ENTERPRISE}:employeeNumber sw "E-"', [ALICE, BOB]),
        (f"{ENTERPRISE}:employeeNumber pr", [ALICE, BOB, CAROL]),
        # displayName (Microsoft's test collection: DisplayName eq "BobIsAmazing"), ignoring case.
        ('DisplayName eq "BobIsAmazing"', [BOB]),
        ('displayName eq "bobisamazing"', [BOB]),
        ('displayName co "SMITH"', [ALICE]),
        ("displayName pr", [ALICE, BOB, CAROL]),
        ('displayName ne "carol"', [ALICE, BOB, DAVE]),
        # emails: some element matches; values compared ignoring case.
        ('emails.value eq "alice@example.com"', [ALICE]),
        ('emails.value eq "ALICE@HOME.NET"', [ALICE]),
        ('emails eq "bob@example.com"', [BOB]),
        ('emails.value co "example"', [ALICE, BOB, CAROL]),
        ('emails.value ew ".org"', [CAROL]),
        ('emails.type eq "work"', [ALICE, CAROL]),
        ("emails pr", [ALICE, BOB, CAROL]),
        ("not (emails pr)", [DAVE]),
        (f'{USER}:emails.value eq "bob@example.com"', [BOB]),
        # Value paths: the same element matches every comparison inside the brackets.
        ('emails[type eq "work" and value co "alice"]', [ALICE]),
        ('emails[type eq "home" and value co "example.com"]', [BOB]),
        ('emails[type eq "work" and value eq "alice@home.net"]', []),
        ('emails[type eq "work" or value sw "bob"]', [ALICE, BOB, CAROL]),
        ('emails[not (type eq "work")]', [ALICE, BOB]),
        # Microsoft Entra's form: a sub-attribute of the elements a value filter selects.
        ('emails[type eq "work"].value eq "Carol@Work.Example.org"', [CAROL]),
        ('emails[type eq "work"].value eq "alice@home.net"', []),
        ('emails[type eq "home"].value eq "alice@home.net"', [ALICE]),
        ('emails[type eq "work"].value pr', [ALICE, CAROL]),
        ('emails[type eq "work"].value co "example" and active eq true', [ALICE, CAROL]),
        (f"{AGENT}:ssoEnabled eq true", [BOB, DAVE]),
        (f"{AGENT}:peripheralId eq 5000", [ALICE, BOB, CAROL, DAVE]),
        (f"{AGENT}:agentTeamId pr", []),
        ('id eq "abc"', []),
        ('id ne "abc"', [ALICE, BOB, CAROL, DAVE]),
        ('active eq true and userName ew ".org"', [CAROL, DAVE]),
        ('userName sw "a" or userName sw "b"', [ALICE, BOB]),
        # and binds tighter than or
        ('userName sw "a" or userName sw "b" and active eq true', [ALICE]),
        ('(userName sw "a" or userName sw "b") and active eq true', [ALICE]),
        ('userName sw "b" or userName sw "a" and active eq false', [BOB]),
        ('not (active eq true) or not(userName sw "d")', [ALICE, BOB, CAROL]),
        ("not not (active eq false)", [BOB]),
        ('((((userName eq "bob@example.com"))))', [BOB]),
        ('  userName   eq   "bob@example.com"  ', [BOB]),
        ('name.givenName eq "D\\u00e1vid"', [DAVE]),
    ],
)
def test_filters(engine: Engine, text: str, expected: list[str]) -> None:
    assert matches(engine, text) == expected


def test_id_comparisons(engine: Engine) -> None:
    with engine.connect() as conn:
        first = conn.execute(select(agents.c.id).order_by(agents.c.id)).scalars().first()
    assert matches(engine, f'id eq "{first}"') == [ALICE]
    assert matches(engine, f"id gt {first}") == [BOB, CAROL, DAVE]
    assert matches(engine, f'id le "{first}"') == [ALICE]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "ends"),
        ("userName eq", "ends"),
        ('userName xx "a"', "Unknown operator"),
        ('nickName eq "a"', "cannot be used"),
        ('meta.resourceType eq "User"', "cannot be used"),
        ('meta.lastModified co "2020"', "does not apply"),
        ('meta.lastModified gt "yesterday"', "dateTime"),
        ("meta.created gt 5", "dateTime"),
        ('userName eq "a" and', "ends"),
        ('userName eq "a" or or', "'or' cannot be used"),
        ('(userName eq "a"', "ends"),
        ('userName eq "a")', "Unexpected"),
        ('userName eq "a" userName eq "b"', "Unexpected"),
        ('emails[type eq "work"', "ends"),
        ('emails[type eq "work")', "Expected ']'"),
        ('emails[nickName eq "x"]', "cannot be used"),
        ('emails[type eq "work"].nickName eq "x"', "cannot be used"),
        ('emails[type eq "work"].value[type eq "x"]', "Unknown operator"),
        ('emails[value[type eq "x"]]', "not supported here"),
        ('name[givenName eq "x"]', "cannot be used"),
        ('emails[type eq "work"]. eq "x"', "Expected a sub-attribute"),
        ("emails.primary eq true", "cannot be used"),
        ("userName eq bob", "Expected a value"),
        ('userName eq "unterminated', "Cannot read"),
        ('userName eq "bad \\x escape"', "Invalid string"),
        ("userName eq 12", "string"),
        ('active eq "true"', "boolean"),
        ('active co "t"', "boolean"),
        ("active gt true", "boolean"),
        ('id co "1"', "does not apply"),
        ('id gt "x"', "cannot be compared"),
        ("id eq true", "cannot be compared"),
        ("userName gt null", "null"),
        ('"userName" eq "a"', "Expected an attribute"),
        ("1bad eq 1", "Expected an attribute"),
        ("x" * 5000, "longer"),
        ("not " * 40 + "userName pr", "nests deeper"),
        ("(" * 40 + "userName pr" + ")" * 40, "nests deeper"),
    ],
)
def test_refusals(text: str, message: str) -> None:
    with pytest.raises(InvalidFilter, match=message) as caught:
        scim_filter.parse(text, ATTRIBUTES)
    assert caught.value.scim_type == "invalidFilter"


def test_case_exact_contains_compiles_per_dialect() -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    condition = scim_filter.parse('externalId co "x"', ATTRIBUTES)
    assert "instr(" in str(condition.compile(dialect=sqlite.dialect()))
    assert "strpos(" in str(condition.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize("descending", [False, True])
def test_resources_without_the_sort_attribute_come_last(engine: Engine, descending: bool) -> None:
    """On both databases (PostgreSQL would put NULLs first when descending)."""
    with engine.connect() as conn:
        rows, total = scim_resources.page(
            conn, agents, ATTRIBUTES, None, "meta.lastModified", descending, 1, 10
        )
    names = [row.user_name for row in rows]
    assert total == 4
    assert names == ([DAVE, BOB, ALICE, CAROL] if descending else [ALICE, BOB, DAVE, CAROL])


def test_group_filters_on_members(engine: Engine) -> None:
    """``members.value`` / ``members`` on Groups: some member matches, in SQL (EXISTS)."""
    teams = table(AgentTeam)
    with engine.begin() as conn:
        for team_id in (12, 13, 14):
            conn.execute(
                insert(teams).values(
                    id=team_id, name=f"T{team_id}", name_key=f"t{team_id}", peripheral_id=5000
                )
            )
        ids = dict(conn.execute(select(agents.c.user_name, agents.c.id)).all())
        for name, team_id in ((ALICE, 12), (BOB, 12), (CAROL, 13)):
            conn.execute(
                agents.update().where(agents.c.id == ids[name]).values(agent_team_id=team_id)
            )

    def groups(text: str) -> list[int]:
        condition = scim_filter.parse(text, GROUP_ATTRIBUTES)
        with engine.connect() as conn:
            found = conn.execute(select(teams.c.id).where(condition).order_by(teams.c.id))
            return list(found.scalars())

    assert groups(f'members.value eq "{ids[BOB]}"') == [12]
    assert groups(f'members.value eq "{ids[CAROL]}" or members.value eq "{ids[ALICE]}"') == [
        12,
        13,
    ]
    assert groups(f'members.value ne "{ids[CAROL]}"') == [12]  # some member is not Carol
    assert groups("members pr") == [12, 13]
    assert groups("not (members pr)") == [14]
    assert groups(f'displayName eq "t12" and members.value eq "{ids[CAROL]}"') == []
    assert groups('members.value eq "not-a-number"') == []
    with pytest.raises(InvalidFilter, match="takes eq, ne and pr"):
        scim_filter.parse('members.value gt "1"', GROUP_ATTRIBUTES)
    with engine.connect() as conn, pytest.raises(InvalidValue, match="Cannot sort by"):
        scim_resources.page(conn, teams, GROUP_ATTRIBUTES, None, "members.value", False, 1, 10)
    with pytest.raises(InvalidFilter, match=r"members\[\.\.\.\] is not supported"):
        scim_filter.parse('members[value eq "1"]', GROUP_ATTRIBUTES)


@pytest.mark.parametrize(
    ("sort_by", "expected"),
    [
        # Free text and display names sort ignoring case; those without one come last.
        (f"{ENTERPRISE}:employeeNumber", [CAROL, ALICE, BOB, DAVE]),
        ("displayName", [ALICE, BOB, CAROL, DAVE]),
        (f"{AGENT}:agentId", [ALICE, BOB, CAROL, DAVE]),
    ],
)
def test_sorting_by_the_attributes_identity_providers_use(
    engine: Engine, sort_by: str, expected: list[str]
) -> None:
    with engine.connect() as conn:
        rows, _ = scim_resources.page(conn, agents, ATTRIBUTES, None, sort_by, False, 1, 10)
        assert [row.user_name for row in rows] == expected
        with pytest.raises(InvalidValue, match="Cannot sort by"):
            scim_resources.page(conn, agents, ATTRIBUTES, None, "emails.value", False, 1, 10)
