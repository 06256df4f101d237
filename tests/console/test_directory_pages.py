"""The console's "Directory" pages: the list of agents, teams, skill groups, attributes, call types
or dialed numbers (search, sort, paging), one object of each kind with its members, refusals and
roles."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.db import db
from app.db.models import Agent, table
from tests import factories
from tests.console.test_pages import DASH, signed_in, text

READERS = ["admin", "viewer", "super"]  # every role READ_DIRECTORY lets in
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LWhhc2g"


@dataclass(frozen=True)
class Directory:
    alice: int
    bob: int
    carol: int
    sales: int
    support: int
    voice: int
    chat: int
    spanish: int
    certified: int
    orders: int
    returns: int
    main_line: int
    web_chat: int


def directory() -> Directory:
    """Two teams on CUCM_PG_1; alice and bob in Sales North, carol supervising both teams; two
    call types, Orders with two dialed numbers, and a dialed number with no call type."""
    with db.write() as conn:
        factories.peripheral(conn, 5000, "CUCM_PG_1")
        sales = factories.team(conn, 12, 5000, "Sales North")
        support = factories.team(conn, 13, 5000, "Support <East>")
        desk = factories.desk_setting(
            conn, "Night desk", auto_answer_enabled=True, logout_non_activity_time=600
        )
        billing = factories.department(conn, "Billing")
        voice = factories.skill_group(conn, "Voice Sales", peripheral_number=7)
        chat = factories.skill_group(conn, "Chat & Mail", peripheral_number=8)
        spanish = factories.attribute(conn, "Spanish", data_type=4, default_value="5")
        certified = factories.attribute(conn, "Certified", data_type=3, default_value="false")
        alice = factories.agent(
            conn,
            "alice",
            agent_id="2001",
            team_id=sales,
            first_name="Alice",
            last_name="Smith",
            sso=True,
            description="Night shift <b>lead</b>",
            agent_desk_settings_id=desk,
            default_skill_group_id=voice,
            department_id=billing,
            agent_state_trace=True,
            password_hash=HASH,
        )
        bob = factories.agent(
            conn, "bob", agent_id="2002", team_id=sales, first_name="Bob", last_name="Jones"
        )
        carol = factories.agent(
            conn, "carol", agent_id="2003", team_id=support, first_name="Carol", supervisor=True
        )
        for agent_id, group in ((alice, voice), (alice, chat), (bob, voice)):
            factories.member(conn, agent_id, group)
        factories.attribute_value(conn, alice, spanish, "9")
        factories.attribute_value(conn, alice, certified, "true")
        factories.attribute_value(conn, bob, spanish, "3")
        factories.supervises(conn, carol, sales)
        factories.supervises(conn, carol, support)
        orders = factories.call_type(
            conn, "Orders", description="New <orders>", service_level_threshold=20
        )
        returns = factories.call_type(conn, "Returns", department_id=billing)
        main_line = factories.dialed_number(
            conn, "8005550100", call_type_id=orders, description="Main line"
        )
        factories.dialed_number(conn, "5000", routing_type=2, call_type_id=orders)
        chat_domain = factories.media_routing_domain(conn, "Chat", type="multichannel")
        web_chat = factories.dialed_number(
            conn, "Web_Chat", routing_type=4, media_routing_domain_id=chat_domain
        )
    return Directory(
        alice,
        bob,
        carol,
        sales,
        support,
        voice,
        chat,
        spanish,
        certified,
        orders,
        returns,
        main_line,
        web_chat,
    )


def rows_of(page: str) -> list[str]:
    """The body rows of the page's first table, each as its text with tags removed."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, "no table"
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def user_names(page: str) -> list[str]:
    return re.findall(r'<td><a href="/directory/agents/\d+">([^<]+)</a></td>', page)


def fields_of(page: str, list_id: str) -> dict[str, str]:
    """The terms and definitions of the page's <dl id=list_id>."""
    found = re.search(rf'<dl class="fields" id="{list_id}">(.*?)</dl>', page, re.S)
    assert found, list_id
    return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>(.*?)</dd>", found.group(1)))


def names_of(page: str) -> list[str]:
    """The first cell of each body row (a name, a string)."""
    return [row.split()[0] for row in rows_of(page)]


def link(path: str, label: str) -> str:
    return f'<a href="{path}">{label}</a>'


# --- the list ----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", READERS)
def test_the_list_shows_each_kind_to_every_reader(app: Flask, user: str) -> None:
    d = directory()
    client = signed_in(app, user)
    agents = client.get("/directory")
    assert agents.status_code == 200
    page = text(agents)
    assert 'aria-current="page">Directory<' in page
    assert '<option value="agents" selected>Agents</option>' in page
    assert rows_of(page) == [
        "alice Alice Smith 2001 Sales North Chat &amp; Mail , Voice Sales No Yes",
        "bob Bob Jones 2002 Sales North Voice Sales No No",
        "carol Carol Last 2003 Support &lt;East&gt; none Yes No",
    ]
    assert link(f"/directory/agents/{d.alice}", "alice") in page
    assert link(f"/directory/teams/{d.sales}", "Sales North") in page
    assert link(f"/directory/skillgroups/{d.chat}", "Chat &amp; Mail") in page

    teams = text(client.get("/directory?kind=teams"))
    assert rows_of(teams) == [
        "Sales North CUCM_PG_1 (5000) 2 1",
        "Support &lt;East&gt; CUCM_PG_1 (5000) 1 1",
    ]
    assert link(f"/directory/teams/{d.support}", "Support &lt;East&gt;") in teams

    groups = text(client.get("/directory?kind=skillgroups"))
    assert rows_of(groups) == [
        "Chat &amp; Mail CUCM_PG_1 (5000) 8 Cisco_Voice 1",
        "Voice Sales CUCM_PG_1 (5000) 7 Cisco_Voice 2",
    ]
    assert link(f"/directory/skillgroups/{d.voice}", "Voice Sales") in groups

    found = text(client.get("/directory?kind=attributes"))
    assert rows_of(found) == ["Certified Boolean false 1", "Spanish Proficiency 5 2"]
    assert link(f"/directory/attributes/{d.spanish}", "Spanish") in found

    call_types = text(client.get("/directory?kind=calltypes"))
    assert '<option value="calltypes" selected>Call types</option>' in call_types
    assert rows_of(call_types) == [
        "Orders New &lt;orders&gt; 20 s 2",
        "Returns default Billing 0",
    ]
    assert link(f"/directory/calltypes/{d.orders}", "Orders") in call_types

    numbers = text(client.get("/directory?kind=dialednumbers"))
    assert rows_of(numbers) == [  # by the string unless sorted otherwise
        "5000 Internal Voice Orders Cisco_Voice",
        "8005550100 External Voice Orders Cisco_Voice Main line",
        "Web_Chat Multichannel — Chat",
    ]
    assert link(f"/directory/dialednumbers/{d.main_line}", "8005550100") in numbers
    assert link(f"/directory/calltypes/{d.orders}", "Orders") in numbers


def test_agent_rows_show_ids_and_at_most_three_skill_groups(app: Flask) -> None:
    with db.write() as conn:
        agent_id = factories.agent(conn, "many", agent_id="4242", first_name="Mo", last_name="Any")
        for n in range(5):
            factories.member(conn, agent_id, factories.skill_group(conn, f"G{n}"))
    page = text(signed_in(app).get("/directory"))
    (row,) = rows_of(page)
    assert row.startswith("many Mo Any 4242 — G0")
    assert "G0 , G1 , G2 and 2 more" in row and "G3" not in row
    assert '<span class="muted">—</span>' in page  # no team


def test_search_sort_and_pages_of_25(app: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, [f"agent{n:02}" for n in range(30)])
        factories.agent(conn, "zed", first_name="Agentha")
    client = signed_in(app, "super")
    first = text(client.get("/directory?kind=agents"))
    assert user_names(first) == [f"agent{n:02}" for n in range(25)]
    assert f"1{DASH}25 of 31 agents" in first
    assert 'href="/directory?kind=agents&amp;startIndex=25" rel="next">Next<' in first
    assert 'rel="prev"' not in first
    second = text(client.get("/directory?kind=agents&startIndex=25"))
    assert user_names(second) == [*(f"agent{n:02}" for n in range(25, 30)), "zed"]
    assert 'href="/directory?kind=agents&amp;startIndex=0" rel="prev">Previous<' in second
    assert 'rel="next"' not in second

    # q as the API reads it: words in the user name or first or last name, any case.
    found = text(client.get("/directory?kind=agents&q=AGENT1"))
    assert user_names(found) == [f"agent{n}" for n in range(10, 20)]
    assert 'value="AGENT1"' in found and "10 agents" in found
    assert user_names(text(client.get("/directory?q=agentha"))) == ["zed"]
    assert "No agents match “nobody”." in text(client.get("/directory?q=nobody"))

    # Sort by a heading, and the page's links keep q and sort.
    ordered = text(client.get("/directory?q=agent2&sort=userName+desc"))
    assert user_names(ordered) == [f"agent{n}" for n in range(29, 19, -1)]
    assert 'aria-sort="descending"><a href="/directory?q=agent2&amp;sort=userName+asc">' in ordered
    paged = text(client.get("/directory?q=agent&sort=userName+desc"))
    assert 'href="/directory?q=agent&amp;sort=userName+desc&amp;startIndex=25"' in paged


def test_a_kind_searched_by_name_and_filtered(app: Flask) -> None:
    directory()
    client = signed_in(app, "viewer")
    assert rows_of(text(client.get("/directory?kind=teams&q=north")))[0].startswith("Sales")
    assert len(rows_of(text(client.get("/directory?kind=teams&q=north")))) == 1
    page = text(client.get("/directory?kind=attributes&q=dataType:3"))
    assert rows_of(page) == ["Certified Boolean false 1"]
    assert "<code>dataType:</code>" in page  # the help names the service's filters
    assert "No skill groups match “zzz”." in text(client.get("/directory?kind=skillgroups&q=zzz"))
    voice = text(client.get("/directory?kind=dialednumbers&q=routingType:2"))
    assert names_of(voice) == ["5000"]
    assert "<code>callTypeId:</code>" in voice and "the dialed number string" in voice
    ordered = text(client.get("/directory?kind=dialednumbers&q=a&sort=routingType+desc"))
    assert names_of(ordered) == ["Web_Chat", "8005550100"]
    assert names_of(text(client.get("/directory?kind=calltypes&q=ORDERS"))) == ["Orders"]
    for query, message in (
        ("kind=dialednumbers&sort=name", "Cannot sort by &#39;name&#39;"),
        ("kind=dialednumbers&q=callTypeId:Orders", "callTypeId must be a number"),
    ):
        refused = client.get(f"/directory?{query}")
        assert refused.status_code == 400 and message in text(refused), query
    assert "The directory has no agents yet." not in text(client.get("/directory"))


def test_an_empty_directory(app: Flask) -> None:
    page = text(signed_in(app).get("/directory?kind=teams"))
    assert "The directory has no teams yet." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=nosuch:1", "Unknown search field &#39;nosuch&#39;"),
        ("q=peripheralId:abc", "peripheralId must be a number"),
        ("sort=password", "Cannot sort by &#39;password&#39;"),
        ("sort=userName+up", "Sort direction must be asc or desc"),
        (
            "kind=phones",
            "kind must be one of agents, teams, skillgroups, attributes, calltypes, dialednumbers",
        ),
        ("startIndex=-1", "startIndex must be 0 or more"),
        ("startIndex=x", "startIndex must be a number"),
    ],
)
def test_a_bad_query_is_a_400_on_the_page(app: Flask, query: str, message: str) -> None:
    response = signed_in(app).get(f"/directory?{query}")
    assert response.status_code == 400
    page = text(response)
    assert '<p class="notice error" role="alert">' in page and message in page
    assert '<form class="search"' in page  # the form stays, to correct the query


# --- one object --------------------------------------------------------------------------------


@pytest.mark.parametrize("user", READERS)
def test_an_agents_page_shows_its_settings_and_memberships(app: Flask, user: str) -> None:
    d = directory()
    client = signed_in(app, user)
    response = client.get(f"/directory/agents/{d.alice}")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Agent alice</h1>" in page
    fields = fields_of(page, "agent-fields")
    assert fields["Name"] == "Alice Smith"
    assert fields["Agent ID"] == "2001"
    assert fields["Peripheral"] == "CUCM_PG_1 (5000)"
    assert fields["Team"] == link(f"/directory/teams/{d.sales}", "Sales North")
    assert fields["Department"] == "Billing"
    assert fields["Description"] == "Night shift &lt;b&gt;lead&lt;/b&gt;"
    assert (fields["Supervisor"], fields["Login enabled"], fields["SSO enabled"]) == (
        "No",
        "Yes",
        "Yes",
    )
    assert fields["Agent state trace"] == "Yes"
    # The desk settings, read through the service the API's /agentdesksetting uses.
    desk = fields_of(page, "desk-settings")
    assert desk["Name"] == "Night desk"
    assert (desk["Auto answer"], desk["Idle reason required"]) == ("Yes", "No")
    assert desk["Logout after inactivity"] == "600 s"
    # Skill groups, the default marked; attribute values; no supervised teams.
    groups = re.search(r'<ul class="members" id="agent-skill-groups">(.*?)</ul>', page, re.S)
    assert groups
    assert re.findall(r"<li>(.*?)</li>", groups.group(1)) == [
        link(f"/directory/skillgroups/{d.chat}", "Chat &amp; Mail"),
        link(f"/directory/skillgroups/{d.voice}", "Voice Sales")
        + ' <strong class="default">(default)</strong>',
    ]
    attributes = re.search(r'<table id="agent-attributes">.*?</table>', page, re.S)
    assert attributes
    assert rows_of(attributes.group(0)) == ["Certified true", "Spanish 9"]
    assert link(f"/directory/attributes/{d.spanish}", "Spanish") in page
    assert "Supervises" not in page
    # Never the password or its hash.
    assert HASH not in page and "argon2" not in page and "assword" not in page


def test_an_agents_page_shows_when_it_was_created_and_changed(app: Flask) -> None:
    d = directory()
    with db.write() as conn:  # as SCIM and the jobs set them (the time macro reads them)
        conn.execute(
            update(table(Agent))
            .where(table(Agent).c.id == d.alice)
            .values(created_ms=1796547892000, modified_ms=1796547893000)
        )
    page = text(signed_in(app, "viewer").get(f"/directory/agents/{d.alice}"))
    assert '<time datetime="2026-12-06T' in page


def test_a_supervisors_page_lists_the_teams_it_supervises(app: Flask) -> None:
    d = directory()
    page = text(signed_in(app, "super").get(f"/directory/agents/{d.carol}"))
    assert "<h1>Supervisor carol</h1>" in page
    teams = re.search(r'<ul class="members" id="supervised-teams">(.*?)</ul>', page, re.S)
    assert teams
    assert re.findall(r"<li>(.*?)</li>", teams.group(1)) == [
        link(f"/directory/teams/{d.sales}", "Sales North"),
        link(f"/directory/teams/{d.support}", "Support &lt;East&gt;"),
    ]
    assert "None: the peripheral's default." in page  # no desk settings
    bob = text(signed_in(app, "super").get(f"/directory/agents/{d.bob}"))
    assert '<p class="muted" id="agent-attributes">' not in bob  # bob has a value
    assert "(default)" not in bob


@pytest.mark.parametrize("user", READERS)
def test_a_teams_page_lists_its_agents_and_supervisors(app: Flask, user: str) -> None:
    d = directory()
    page = text(signed_in(app, user).get(f"/directory/teams/{d.sales}"))
    assert "<h1>Team Sales North</h1>" in page
    agents = re.search(r'id="team-agents">(.*?)</ul>', page, re.S)
    bosses = re.search(r'id="team-supervisors">(.*?)</ul>', page, re.S)
    assert agents and bosses
    assert re.findall(r"<li>(.*?)</li>", agents.group(1)) == [
        link(f"/directory/agents/{d.alice}", "alice"),
        link(f"/directory/agents/{d.bob}", "bob"),
    ]
    assert re.findall(r"<li>(.*?)</li>", bosses.group(1)) == [
        link(f"/directory/agents/{d.carol}", "carol")
    ]
    assert "<dt>Agents</dt><dd>2</dd>" in page and "<dt>Supervisors</dt><dd>1</dd>" in page
    other = text(signed_in(app, user).get(f"/directory/teams/{d.support}"))
    assert "<h1>Team Support &lt;East&gt;</h1>" in other
    assert "<title>Team Support &lt;East&gt; · bulkjob</title>" in other


@pytest.mark.parametrize("user", READERS)
def test_a_skill_groups_page_lists_its_agents(app: Flask, user: str) -> None:
    d = directory()
    page = text(signed_in(app, user).get(f"/directory/skillgroups/{d.voice}"))
    assert "<h1>Skill group Voice Sales</h1>" in page
    assert "<dt>Peripheral number</dt><dd>7</dd>" in page
    assert "<dt>Media routing domain</dt><dd>Cisco_Voice</dd>" in page
    agents = re.search(r'id="skill-group-agents">(.*?)</ul>', page, re.S)
    assert agents
    assert re.findall(r"<li>(.*?)</li>", agents.group(1)) == [
        link(f"/directory/agents/{d.alice}", "alice"),
        link(f"/directory/agents/{d.bob}", "bob"),
    ]
    chat = text(signed_in(app, user).get(f"/directory/skillgroups/{d.chat}"))
    assert "<h1>Skill group Chat &amp; Mail</h1>" in chat


@pytest.mark.parametrize("user", READERS)
def test_an_attributes_page_lists_who_has_it_with_the_value(app: Flask, user: str) -> None:
    d = directory()
    page = text(signed_in(app, user).get(f"/directory/attributes/{d.spanish}"))
    assert "<h1>Attribute Spanish</h1>" in page
    assert "<dt>Type</dt><dd>Proficiency</dd>" in page and "<dt>Default</dt><dd>5</dd>" in page
    assert rows_of(page) == ["alice Alice Smith 9", "bob Bob Jones 3"]
    assert link(f"/directory/agents/{d.alice}", "alice") in page
    boolean = text(signed_in(app, user).get(f"/directory/attributes/{d.certified}"))
    assert "<dt>Type</dt><dd>Boolean</dd>" in boolean
    assert rows_of(boolean) == ["alice Alice Smith true"]


def test_a_call_types_page_lists_its_dialed_numbers(app: Flask) -> None:
    """A call type with its dialed numbers (100 a page), a dialed number; unknown ids are 404
    pages and strangers sign in first (one test: each costs a migrated database)."""
    d = directory()
    client = signed_in(app, "viewer")
    page = text(client.get(f"/directory/calltypes/{d.orders}"))
    assert "<h1>Call type Orders</h1>" in page
    fields = fields_of(page, "call-type-fields")
    assert fields["Description"] == "New &lt;orders&gt;"
    assert fields["Service level threshold"] == "20 s"
    assert fields["Dialed numbers"] == "2"
    assert rows_of(page) == [
        "5000 Internal Voice Cisco_Voice",
        "8005550100 External Voice Cisco_Voice Main line",
    ]
    assert link(f"/directory/dialednumbers/{d.main_line}", "8005550100") in page
    returns = text(client.get(f"/directory/calltypes/{d.returns}"))
    assert fields_of(returns, "call-type-fields")["Department"] == "Billing"
    assert "No dialed number routes calls by this call type." in returns

    number = text(client.get(f"/directory/dialednumbers/{d.main_line}"))
    assert "<h1>Dialed number 8005550100</h1>" in number
    fields = fields_of(number, "dialed-number-fields")
    assert fields["Routing type"] == "External Voice (1)"
    assert fields["Call type"] == link(f"/directory/calltypes/{d.orders}", "Orders")
    assert fields["Media routing domain"] == "Cisco_Voice"
    assert fields["Description"] == "Main line"
    chat = fields_of(
        text(client.get(f"/directory/dialednumbers/{d.web_chat}")), "dialed-number-fields"
    )
    assert (chat["Routing type"], chat["Media routing domain"]) == ("Multichannel (4)", "Chat")
    assert chat["Call type"] == '<span class="muted">none</span>'

    with db.write() as conn:
        busy = factories.call_type(conn, "Busy")
        for n in range(103):
            factories.dialed_number(conn, f"9{n:03}", routing_type=2, call_type_id=busy)
    first = text(client.get(f"/directory/calltypes/{busy}"))
    assert len(rows_of(first)) == 100 and f"1{DASH}100 of 103 dialed numbers" in first
    assert f'href="/directory/calltypes/{busy}?startIndex=100" rel="next"' in first
    rest = text(client.get(f"/directory/calltypes/{busy}?startIndex=100"))
    assert names_of(rest) == ["9100", "9101", "9102"]

    for path in ("/directory/calltypes/999", "/directory/dialednumbers/999"):
        response = client.get(path)
        assert response.status_code == 404
        assert link("/directory", "Back to the directory") in text(response)
        stranger = app.test_client().get(path.replace("999", "1"))
        assert stranger.status_code == 302
        assert stranger.headers["Location"].startswith("/login?next=")


def test_an_attributes_agents_come_100_a_page(app: Flask) -> None:
    with db.write() as conn:
        attribute = factories.attribute(conn, "Busy", data_type=3, default_value="false")
        ids = factories.agents(conn, [f"h{n:03}" for n in range(105)])
        for agent_id in ids:
            factories.attribute_value(conn, agent_id, attribute, "true")
        factories.agent(conn, "without")
    client = signed_in(app, "viewer")
    first = text(client.get(f"/directory/attributes/{attribute}"))
    assert len(rows_of(first)) == 100 and f"1{DASH}100 of 105 agents" in first
    assert f'href="/directory/attributes/{attribute}?startIndex=100" rel="next"' in first
    rest = text(client.get(f"/directory/attributes/{attribute}?startIndex=100"))
    assert [row.split()[0] for row in rows_of(rest)] == [f"h{n}" for n in range(100, 105)]
    assert client.get(f"/directory/attributes/{attribute}?startIndex=x").status_code == 400


def test_an_attribute_nobody_has(app: Flask) -> None:
    with db.write() as conn:
        attribute = factories.attribute(conn, "Unused")
    page = text(signed_in(app).get(f"/directory/attributes/{attribute}"))
    assert "No agent has a value of this attribute." in page


@pytest.mark.parametrize(
    "path",
    [
        "/directory/agents/999",
        "/directory/teams/999",
        "/directory/skillgroups/999",
        "/directory/attributes/999",
    ],
)
def test_an_unknown_id_is_a_404_page(app: Flask, path: str) -> None:
    response = signed_in(app, "super").get(path)
    assert response.status_code == 404
    page = text(response)
    assert '<h1>Not found <span class="muted">(404)</span></h1>' in page
    assert link("/directory", "Back to the directory") in page


# --- roles and navigation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/directory",
        "/directory/agents/1",
        "/directory/teams/1",
        "/directory/skillgroups/1",
        "/directory/attributes/1",
    ],
)
def test_strangers_sign_in_first(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def nav(page: str) -> list[str]:
    found = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    return re.findall(r">([A-Za-z]+)</a>", found.group(1)) if found else []


def test_the_navigation_links_the_directory_for_every_reader(app: Flask) -> None:
    assert nav(text(signed_in(app).get("/"))) == ["Jobs", "Templates", "Migration", "Directory"]
    assert nav(text(signed_in(app, "viewer").get("/directory"))) == [
        "Jobs",
        "Templates",
        "Migration",
        "Directory",
    ]
    supervisor = signed_in(app, "super")
    assert nav(text(supervisor.get("/directory"))) == ["Directory"]
    # The jobs stay closed to a supervisor; the refusal points to what it may read.
    refused = supervisor.get("/")
    assert refused.status_code == 403
    assert nav(text(refused)) == ["Directory"]
    assert link("/directory", "Go to the directory") in text(refused)
