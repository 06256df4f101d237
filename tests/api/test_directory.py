"""The contact-center directory's read API (docs/directory.md): /skillgroup, /agentteam,
/attribute, /agentdesksetting, /department, /mediaroutingdomain, /calltype, /dialednumber and
the agent's settings and memberships, in XML and JSON, on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from app.db import db
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

BASE = "/unifiedconfig/config"
JSON = {**basic(), "Accept": "application/json"}

# Every list: (path, wrapper, item element, root element of one object).
KINDS = [
    ("skillgroup", "skillGroups", "skillGroup", "skillGroup"),
    ("agentteam", "agentTeams", "agentTeam", "agentTeam"),
    ("attribute", "attributes", "attribute", "attribute"),
    ("agentdesksetting", "agentDeskSettings", "agentDeskSetting", "agentDeskSetting"),
    ("department", "departments", "department", "department"),
    ("mediaroutingdomain", "mediaRoutingDomains", "mediaRoutingDomain", "mediaRoutingDomain"),
    ("calltype", "callTypes", "callType", "callType"),
]
# A dialed number has no name: the lists above are compared by name, this one on its own.
DIALED_NUMBERS = ("dialednumber", "dialedNumbers", "dialedNumber", "dialedNumber")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlaskClient]:
    """A client on a freshly migrated database of either kind."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        for name, role in (("admin", "admin"), ("viewer", "viewer"), ("super", "supervisor")):
            factories.user(conn, name, role, PASSWORD)
    yield flask_app.test_client()
    db.dispose()


@dataclass
class Directory:
    sales: int
    billing: int
    support: int
    spanish: int
    level: int
    chat: int
    night: int
    dept_a: int
    dept_b: int
    ann: int
    bob: int
    cat: int
    dan: int
    orders: int
    returns: int
    main_line: int
    internal: int
    survey: int
    chat_line: int


def _directory() -> Directory:
    """Two peripherals, three skill groups, two teams (7 and 8), two attributes, a desk setting,
    two departments, a second media routing domain, four agents (cat supervises both teams;
    dan has a password hash), two call types and four dialed numbers (one of each routing type
    but Outbound; the Multichannel one on Chat with no call type)."""
    with db.write() as conn:
        factories.peripheral(conn, 5000, "CUCM_PG_1")
        factories.peripheral(conn, 6000, "CUCM_PG_2")
        chat = factories.media_routing_domain(
            conn, "Chat", type="multichannel", description="web chat", service_level_threshold=30
        )
        sales = factories.skill_group(
            conn,
            "Sales",
            peripheral_number=10,
            description="Inbound sales",
            service_level_threshold=20,
            service_level_type=2,
            change_stamp=5,
        )
        billing = factories.skill_group(
            conn, "Billing", peripheral_id=6000, peripheral_number=20, description="Invoices"
        )
        support = factories.skill_group(
            conn, "support", peripheral_number=30, media_routing_domain_id=chat, change_stamp=1
        )
        factories.team(conn, 7, name="Alpha")
        factories.team(conn, 8, peripheral_id=6000, name="beta")
        spanish = factories.attribute(conn, "Spanish", data_type=3, default_value="false")
        level = factories.attribute(
            conn, "Level", data_type=4, default_value="5", description="Proficiency", change_stamp=2
        )
        night = factories.desk_setting(
            conn,
            "Night",
            description="Night shift",
            auto_answer_enabled=True,
            logout_non_activity_time=300,
        )
        dept_a = factories.department(conn, "Dept_A", description="first floor")
        dept_b = factories.department(conn, "dept_b")
        ann = factories.agent(
            conn,
            "ann",
            team_id=7,
            agent_desk_settings_id=night,
            default_skill_group_id=sales,
            department_id=dept_a,
            agent_state_trace=True,
            description="Team lead's deputy",
        )
        bob = factories.agent(conn, "bob", team_id=7, agent_desk_settings_id=1)
        cat = factories.agent(conn, "cat", supervisor=True, team_id=8)
        dan = factories.agent(conn, "dan", password_hash="scrypt:32768:8:1$salt$deadbeef")
        for agent, group in ((ann, sales), (ann, billing), (bob, sales), (cat, support)):
            factories.member(conn, agent, group)
        factories.attribute_value(conn, ann, spanish, "true")
        factories.attribute_value(conn, ann, level, "7")
        factories.attribute_value(conn, bob, level, "3")
        factories.supervises(conn, cat, 7)
        factories.supervises(conn, cat, 8)
        orders = factories.call_type(
            conn,
            "Orders",
            description="New orders",
            service_level_threshold=20,
            service_level_type=1,
            department_id=dept_a,
            change_stamp=3,
        )
        returns = factories.call_type(conn, "returns", description="Refunds and returns")
        main_line = factories.dialed_number(
            conn, "8005550100", call_type_id=orders, description="Main line", change_stamp=2
        )
        internal = factories.dialed_number(
            conn, "5000", routing_type=2, call_type_id=returns, department_id=dept_b
        )
        survey = factories.dialed_number(
            conn, "8005550199", routing_type=7, call_type_id=orders, description="After call"
        )
        chat_line = factories.dialed_number(
            conn, "Web_Chat", routing_type=4, media_routing_domain_id=chat, change_stamp=1
        )
    return Directory(
        sales,
        billing,
        support,
        spanish,
        level,
        chat,
        night,
        dept_a,
        dept_b,
        ann,
        bob,
        cat,
        dan,
        orders,
        returns,
        main_line,
        internal,
        survey,
        chat_line,
    )


def get_json(client: FlaskClient, path: str, status: int = 200) -> Any:
    response = client.get(f"{BASE}/{path}", headers=JSON)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def get_xml(client: FlaskClient, path: str, status: int = 200) -> ET.Element:
    response = client.get(f"{BASE}/{path}", headers=basic())
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.data)


def names(client: FlaskClient, path: str, wrapper: str) -> list[str]:
    return [item["name"] for item in get_json(client, path)[wrapper]]


def ref(kind: str, object_id: int, name: str) -> dict[str, str]:
    return {"refURL": f"{BASE}/{kind}/{object_id}", "name": name}


def assert_refused(client: FlaskClient, path: str, status: int, error_type: str) -> None:
    """Refused with ``status`` and an apiErrors body, in JSON and in XML."""
    error = get_json(client, path, status)["apiErrors"][0]
    assert error["errorType"].startswith(error_type), error
    root = get_xml(client, path, status)
    assert root.tag == "apiErrors"
    assert root.findtext("apiError/errorType", "").startswith(error_type)


# A fresh database ---------------------------------------------------------------------------


def test_a_fresh_database_lists_what_the_schema_made(any_client: FlaskClient) -> None:
    """Revision 0012 makes Cisco_Voice and Default_Agent_Desk_Settings; nothing else yet."""
    client = any_client
    domains = get_json(client, "mediaroutingdomain")
    assert domains["mediaRoutingDomains"] == [
        {
            "refURL": f"{BASE}/mediaroutingdomain/1",
            "changeStamp": 0,
            "id": 1,
            "name": "Cisco_Voice",
            "description": "Voice calls",
            "type": "voice",
        }
    ]
    desk = get_json(client, "agentdesksetting")
    assert desk["agentDeskSettings"] == [
        {
            "refURL": f"{BASE}/agentdesksetting/1",
            "changeStamp": 0,
            "name": "Default_Agent_Desk_Settings",
            "description": "The default agent desk settings",
            "agentStateAfterRONA": "notReady",
            "autoAnswerEnabled": False,
            "idleReasonRequired": False,
            "logoutReasonRequired": False,
            "workModeTimer": 7200,
        }
    ]
    root = get_xml(client, "agentdesksetting/1")
    assert root.tag == "agentDeskSetting"
    assert root.findtext("name") == "Default_Agent_Desk_Settings"
    assert root.find("logoutNonActivityTime") is None
    for path, wrapper, _item, _root in [*KINDS[:3], KINDS[4], KINDS[6], DIALED_NUMBERS]:
        body = get_json(client, path)
        assert body[wrapper] == [] and body["pageInfo"]["totalResults"] == 0
        assert get_xml(client, path).find(wrapper) is not None  # an empty wrapper


# Every kind alike ---------------------------------------------------------------------------


def test_every_list_in_json_and_xml(any_client: FlaskClient) -> None:
    """Each list: its wrapper and item elements, pageInfo, and a permissionInfo that allows
    nothing (the directory is read-only here, as /agent), for every role that reads it."""
    client = any_client
    _directory()
    for path, wrapper, item, _root in KINDS:
        body = get_json(client, path)
        assert set(body) == {"pageInfo", "permissionInfo", wrapper}
        assert body["permissionInfo"] == {
            "canCreate": False,
            "canUpdate": False,
            "canDelete": False,
            "role": "admin",
        }
        total = body["pageInfo"]["totalResults"]
        assert total == len(body[wrapper]) >= 2
        root = get_xml(client, path)
        assert root.tag == "results"
        assert root.findtext("pageInfo/totalResults") == str(total)
        assert root.findtext("permissionInfo/canCreate") == "false"
        items = root.findall(f"{wrapper}/{item}")
        assert [i.findtext("name") for i in items] == [i["name"] for i in body[wrapper]]
        assert all(i.findtext("refURL", "").startswith(f"{BASE}/{path}/") for i in items)
        for user in ("viewer", "super"):
            assert client.get(f"{BASE}/{path}", headers=basic(user)).status_code == 200


def test_every_list_pages(any_client: FlaskClient) -> None:
    client = any_client
    _directory()
    for path, wrapper, _item, _root in KINDS:
        everything = names(client, f"{path}?sort=name", wrapper)
        assert len(everything) >= 2
        body = get_json(client, f"{path}?sort=name&startIndex=1&resultsPerPage=1")
        assert [x["name"] for x in body[wrapper]] == everything[1:2]
        info = body["pageInfo"]
        assert (info["startIndex"], info["resultsPerPage"]) == (1, 1)
        assert info["totalResults"] == len(everything)
        assert info["prevPage"].endswith("sort=name&startIndex=0&resultsPerPage=1")
        assert info["sortTerm"] == "name"
        if len(everything) > 2:
            assert info["nextPage"].endswith("startIndex=2&resultsPerPage=1")
        else:
            assert "nextPage" not in info
        # A start past the end gives the last page.
        past = get_json(client, f"{path}?sort=name&startIndex=99&resultsPerPage=1")
        assert past["pageInfo"]["startIndex"] == len(everything) - 1
        assert [x["name"] for x in past[wrapper]] == everything[-1:]
        root = get_xml(client, f"{path}?startIndex=0&resultsPerPage=1")
        assert root.findtext("pageInfo/resultsPerPage") == "1"
        assert len(root.findall(f"{wrapper}/*")) == 1


def test_every_kind_refuses_what_it_cannot_do(any_client: FlaskClient) -> None:
    """A bad sort, an unknown search field, a bad filter value, bad paging and an unknown id:
    400 or 404 with apiErrors, in JSON and XML."""
    client = any_client
    _directory()
    for path, _wrapper, _item, _root in KINDS:
        assert_refused(client, f"{path}?sort=colour", 400, "invalidInput")
        assert_refused(client, f"{path}?sort=name%20sideways", 400, "invalidInput")
        assert_refused(client, f"{path}?q=colour:red", 400, "invalidInput")
        assert_refused(client, f"{path}?resultsPerPage=0", 400, "invalidInput")
        assert_refused(client, f"{path}/999999", 404, "notFound")
        error = get_json(client, f"{path}/999999", 404)["apiErrors"][0]
        assert error["errorData"] == "999999"
        assert error["errorMessage"].endswith("999999 does not exist")
    assert_refused(client, "skillgroup?q=peripheralId:x", 400, "invalidInput")
    assert_refused(client, "skillgroup?q=mediaRoutingDomainId:chat", 400, "invalidInput")
    assert_refused(client, "agentteam?q=peripheralId:x", 400, "invalidInput")
    assert_refused(client, "attribute?q=dataType:boolean", 400, "invalidInput")
    # The filters of one kind are not another's.
    assert_refused(client, "department?q=peripheralId:5000", 400, "invalidInput")
    assert_refused(client, "attribute?sort=peripheralNumber", 400, "invalidInput")


# Skill groups -------------------------------------------------------------------------------


def test_skill_groups(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    body = get_json(client, "skillgroup")
    assert body["skillGroups"][0] == {
        "refURL": f"{BASE}/skillgroup/{d.sales}",
        "changeStamp": 5,
        "name": "Sales",
        "description": "Inbound sales",
        "peripheral": {"id": 5000, "name": "CUCM_PG_1"},
        "peripheralNumber": 10,
        "mediaRoutingDomain": ref("mediaroutingdomain", 1, "Cisco_Voice"),
        "serviceLevelThreshold": 20,
        "serviceLevelType": 2,
        "agentCount": 2,
    }
    support = body["skillGroups"][2]
    assert "serviceLevelThreshold" not in support and "serviceLevelType" not in support
    assert support["mediaRoutingDomain"] == ref("mediaroutingdomain", d.chat, "Chat")
    assert [g["agentCount"] for g in body["skillGroups"]] == [2, 1, 1]
    assert "agents" not in support  # members only on one skill group
    root = get_xml(client, "skillgroup")
    first = root.find("skillGroups/skillGroup")
    assert first is not None
    assert [child.tag for child in first] == list(body["skillGroups"][0])
    assert first.findtext("peripheral/name") == "CUCM_PG_1"
    assert first.findtext("mediaRoutingDomain/refURL") == f"{BASE}/mediaroutingdomain/1"
    assert first.findtext("agentCount") == "2"


def test_skill_groups_search_filter_and_sort(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()

    def found(query: str) -> list[str]:
        return names(client, f"skillgroup?{query}", "skillGroups")

    assert found("q=SALES") == ["Sales"]
    assert found("q=invoice") == ["Billing"]  # the description
    assert found("q=s") == ["Sales", "Billing", "support"]
    assert found("q=nothing") == []
    assert found("q=peripheralId:6000") == ["Billing"]
    assert found(f"q=mediaRoutingDomainId:{d.chat}") == ["support"]
    assert found("q=peripheralId:5000%20mediaRoutingDomainId:1") == ["Sales"]
    assert found("q=PeripheralID:5000%20in") == ["Sales"]  # field names ignore case
    assert found("sort=name") == ["Billing", "Sales", "support"]  # ignoring case
    assert found("sort=name%20desc") == ["support", "Sales", "Billing"]
    assert found("sort=peripheralNumber%20desc") == ["support", "Billing", "Sales"]
    assert found("sort=peripheralNumber%20asc") == ["Sales", "Billing", "support"]
    assert found("sort=changeStamp") == ["Billing", "support", "Sales"]
    assert found("sort=changeStamp%20desc") == ["Sales", "support", "Billing"]
    info = get_json(client, "skillgroup?q=s&sort=name")["pageInfo"]
    assert (info["searchTerm"], info["sortTerm"]) == ("s", "name")


def test_one_skill_group_lists_its_agents(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    group = get_json(client, f"skillgroup/{d.sales}")
    assert group["refURL"] == f"{BASE}/skillgroup/{d.sales}"
    assert group["agentCount"] == 2
    assert group["agents"] == [ref("agent", d.ann, "ann"), ref("agent", d.bob, "bob")]
    root = get_xml(client, f"skillgroup/{d.sales}")
    assert root.tag == "skillGroup"
    assert [a.findtext("name") for a in root.findall("agents/agent")] == ["ann", "bob"]
    assert root.findtext("agents/agent/refURL") == f"{BASE}/agent/{d.ann}"
    with db.write() as conn:
        empty = factories.skill_group(conn, "Empty")
    assert get_json(client, f"skillgroup/{empty}")["agents"] == []
    assert get_json(client, f"skillgroup/{empty}")["agentCount"] == 0
    assert get_xml(client, f"skillgroup/{empty}").find("agents") is not None


# Agent teams --------------------------------------------------------------------------------


def test_agent_teams(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    body = get_json(client, "agentteam")
    assert body["agentTeams"] == [
        {
            "refURL": f"{BASE}/agentteam/7",
            "changeStamp": 0,
            "name": "Alpha",
            "description": "",
            "peripheral": {"id": 5000, "name": "CUCM_PG_1"},
            "agentCount": 2,
            "supervisorCount": 1,
        },
        {
            "refURL": f"{BASE}/agentteam/8",
            "changeStamp": 0,
            "name": "beta",
            "description": "",
            "peripheral": {"id": 6000, "name": "CUCM_PG_2"},
            "agentCount": 1,
            "supervisorCount": 1,
        },
    ]
    root = get_xml(client, "agentteam")
    assert [t.findtext("supervisorCount") for t in root.findall("agentTeams/agentTeam")] == [
        "1",
        "1",
    ]

    def found(query: str) -> list[str]:
        return names(client, f"agentteam?{query}", "agentTeams")

    assert found("q=ALPHA") == ["Alpha"]
    assert found("q=peripheralId:6000") == ["beta"]
    assert found("q=peripheralId:5000%20beta") == []
    assert found("sort=name%20desc") == ["beta", "Alpha"]
    assert found("sort=name") == ["Alpha", "beta"]
    assert found("sort=changeStamp%20desc") == ["beta", "Alpha"]  # equal: by id, descending

    team = get_json(client, "agentteam/7")
    assert team["agents"] == [ref("agent", d.ann, "ann"), ref("agent", d.bob, "bob")]
    assert team["supervisors"] == [ref("agent", d.cat, "cat")]
    assert (team["agentCount"], team["supervisorCount"]) == (2, 1)
    root = get_xml(client, "agentteam/8")
    assert root.tag == "agentTeam"
    assert [a.findtext("name") for a in root.findall("agents/agent")] == ["cat"]
    assert [s.findtext("name") for s in root.findall("supervisors/supervisor")] == ["cat"]
    assert root.findtext("supervisors/supervisor/refURL") == f"{BASE}/agent/{d.cat}"


# Attributes ---------------------------------------------------------------------------------


def test_attributes(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    body = get_json(client, "attribute")
    assert body["attributes"] == [
        {
            "refURL": f"{BASE}/attribute/{d.spanish}",
            "changeStamp": 0,
            "name": "Spanish",
            "description": "",
            "dataType": 3,
            "defaultValue": "false",
            "agentCount": 1,
        },
        {
            "refURL": f"{BASE}/attribute/{d.level}",
            "changeStamp": 2,
            "name": "Level",
            "description": "Proficiency",
            "dataType": 4,
            "defaultValue": "5",
            "agentCount": 2,
        },
    ]

    def found(query: str) -> list[str]:
        return names(client, f"attribute?{query}", "attributes")

    assert found("q=proficiency") == ["Level"]
    assert found("q=dataType:3") == ["Spanish"]
    assert found("q=dataType:4") == ["Level"]
    assert found("sort=name") == ["Level", "Spanish"]
    assert found("sort=name%20desc") == ["Spanish", "Level"]
    assert found("sort=dataType%20desc") == ["Level", "Spanish"]
    assert found("sort=changeStamp") == ["Spanish", "Level"]
    one = get_json(client, f"attribute/{d.level}")
    assert one == body["attributes"][1]
    root = get_xml(client, f"attribute/{d.spanish}")
    assert root.tag == "attribute"
    assert (root.findtext("dataType"), root.findtext("defaultValue")) == ("3", "false")
    assert root.findtext("agentCount") == "1"


# Desk settings, departments, media routing domains ------------------------------------------


def test_agent_desk_settings(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    night = get_json(client, f"agentdesksetting/{d.night}")
    assert night["refURL"] == f"{BASE}/agentdesksetting/{d.night}"
    assert (night["autoAnswerEnabled"], night["logoutNonActivityTime"]) == (True, 300)
    assert "logoutNonActivityTime" not in get_json(client, "agentdesksetting/1")
    found = names(client, "agentdesksetting?q=night", "agentDeskSettings")
    assert found == ["Night"]
    assert names(client, "agentdesksetting?q=shift", "agentDeskSettings") == ["Night"]
    assert names(client, "agentdesksetting?sort=name%20desc", "agentDeskSettings") == [
        "Night",
        "Default_Agent_Desk_Settings",
    ]
    root = get_xml(client, f"agentdesksetting/{d.night}")
    assert root.findtext("agentStateAfterRONA") == "notReady"
    assert root.findtext("autoAnswerEnabled") == "true"
    assert root.findtext("logoutNonActivityTime") == "300"


def test_departments(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    assert get_json(client, f"department/{d.dept_a}") == {
        "refURL": f"{BASE}/department/{d.dept_a}",
        "changeStamp": 0,
        "name": "Dept_A",
        "description": "first floor",
    }
    assert names(client, "department?q=FLOOR", "departments") == ["Dept_A"]
    assert names(client, "department?q=dept", "departments") == ["Dept_A", "dept_b"]
    assert names(client, "department?q=t_", "departments") == ["Dept_A", "dept_b"]
    assert names(client, "department?q=pt_b", "departments") == ["dept_b"]
    assert names(client, "department?sort=name%20desc", "departments") == ["dept_b", "Dept_A"]
    root = get_xml(client, f"department/{d.dept_b}")
    assert root.tag == "department" and root.findtext("name") == "dept_b"
    assert root.find("description") is not None  # empty, but there


def test_media_routing_domains(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    chat = get_json(client, f"mediaroutingdomain/{d.chat}")
    assert chat == {
        "refURL": f"{BASE}/mediaroutingdomain/{d.chat}",
        "changeStamp": 0,
        "id": d.chat,
        "name": "Chat",
        "description": "web chat",
        "type": "multichannel",
        "serviceLevelThreshold": 30,
    }
    assert "serviceLevelThreshold" not in get_json(client, "mediaroutingdomain/1")
    wrapper = "mediaRoutingDomains"
    assert names(client, "mediaroutingdomain?q=VOICE", wrapper) == ["Cisco_Voice"]
    assert names(client, "mediaroutingdomain?sort=name", wrapper) == ["Chat", "Cisco_Voice"]
    assert names(client, "mediaroutingdomain?sort=name%20desc", wrapper) == ["Cisco_Voice", "Chat"]
    root = get_xml(client, f"mediaroutingdomain/{d.chat}")
    assert root.tag == "mediaRoutingDomain"
    assert [child.tag for child in root] == list(chat)


# Call types and dialed numbers --------------------------------------------------------------


def test_call_types_and_dialed_numbers(any_client: FlaskClient) -> None:
    """Call types: Cisco's callType with its department, and the number of dialed numbers
    routing to it; searched by name and description, sorted by name and changeStamp."""
    client = any_client
    d = _directory()
    orders = {
        "refURL": f"{BASE}/calltype/{d.orders}",
        "changeStamp": 3,
        "id": d.orders,
        "name": "Orders",
        "description": "New orders",
        "serviceLevelThreshold": 20,
        "serviceLevelType": 1,
        "department": ref("department", d.dept_a, "Dept_A"),
        "dialedNumberCount": 2,
    }
    body = get_json(client, "calltype")
    assert body["callTypes"] == [
        orders,
        {
            "refURL": f"{BASE}/calltype/{d.returns}",
            "changeStamp": 0,
            "id": d.returns,
            "name": "returns",
            "description": "Refunds and returns",
            "dialedNumberCount": 1,
        },
    ]
    assert get_json(client, f"calltype/{d.orders}") == orders
    root = get_xml(client, f"calltype/{d.orders}")
    assert root.tag == "callType"
    assert [child.tag for child in root] == list(orders)
    assert root.findtext("department/refURL") == f"{BASE}/department/{d.dept_a}"
    assert root.findtext("dialedNumberCount") == "2"
    listed = get_xml(client, "calltype").findall("callTypes/callType")
    assert [c.findtext("id") for c in listed] == [str(d.orders), str(d.returns)]

    def found(query: str) -> list[str]:
        return names(client, f"calltype?{query}", "callTypes")

    assert found("q=ORDER") == ["Orders"]
    assert found("q=refunds") == ["returns"]  # the description
    assert found("q=r") == ["Orders", "returns"]
    assert found("sort=name%20desc") == ["returns", "Orders"]
    assert found("sort=changeStamp") == ["returns", "Orders"]
    assert found("sort=changeStamp%20desc") == ["Orders", "returns"]
    assert_refused(client, "calltype?sort=dialedNumberCount", 400, "invalidInput")
    assert_refused(client, "calltype?q=routingType:1", 400, "invalidInput")

    # Dialed numbers (in the same test: each costs a migrated database): Cisco's dialedNumber
    # with its routing type as a number and its call type, media routing domain and department
    # as references (left out when there is none); searched by string and description,
    # filtered, sorted and paged; bad filters and unknown ids refused.
    path, wrapper, item, root_name = DIALED_NUMBERS
    main_line = {
        "refURL": f"{BASE}/dialednumber/{d.main_line}",
        "changeStamp": 2,
        "dialedNumberString": "8005550100",
        "routingType": 1,
        "description": "Main line",
        "callType": ref("calltype", d.orders, "Orders"),
        "mediaRoutingDomain": ref("mediaroutingdomain", 1, "Cisco_Voice"),
    }
    body = get_json(client, path)
    assert body["pageInfo"]["totalResults"] == 4
    assert body["permissionInfo"]["canCreate"] is False
    listed = body[wrapper]
    assert listed[0] == main_line
    assert listed[1]["department"] == ref("department", d.dept_b, "dept_b")
    assert listed[1]["routingType"] == 2 and listed[1]["description"] == ""
    chat_line = listed[3]
    assert "callType" not in chat_line and "department" not in chat_line
    assert chat_line["mediaRoutingDomain"] == ref("mediaroutingdomain", d.chat, "Chat")
    assert get_json(client, f"{path}/{d.main_line}") == main_line
    root = get_xml(client, f"{path}/{d.main_line}")
    assert root.tag == root_name
    assert [child.tag for child in root] == list(main_line)
    assert root.findtext("callType/refURL") == f"{BASE}/calltype/{d.orders}"
    assert root.findtext("routingType") == "1"
    assert get_xml(client, f"{path}/{d.chat_line}").find("callType") is None
    results = get_xml(client, path)
    assert results.tag == "results"
    strings = [n.findtext("dialedNumberString") for n in results.findall(f"{wrapper}/{item}")]
    assert strings == ["8005550100", "5000", "8005550199", "Web_Chat"]

    def found(query: str) -> list[str]:
        return [n["dialedNumberString"] for n in get_json(client, f"{path}?{query}")[wrapper]]

    assert found("q=555") == ["8005550100", "8005550199"]
    assert found("q=web_") == ["Web_Chat"]  # any case; _ is no wildcard
    assert found("q=b_c") == ["Web_Chat"] and found("q=0_") == []
    assert found("q=AFTER") == ["8005550199"]  # the description
    assert found("q=routingType:7") == ["8005550199"]
    assert found(f"q=callTypeId:{d.orders}") == ["8005550100", "8005550199"]
    assert found(f"q=mediaRoutingDomainId:{d.chat}") == ["Web_Chat"]
    assert found(f"q=CallTypeID:{d.orders}%20main") == ["8005550100"]
    assert found("sort=dialedNumberString") == ["5000", "8005550100", "8005550199", "Web_Chat"]
    assert found("sort=dialedNumberString%20desc")[0] == "Web_Chat"
    assert found("sort=routingType%20desc") == ["8005550199", "Web_Chat", "5000", "8005550100"]
    assert found("sort=changeStamp%20desc") == ["8005550100", "Web_Chat", "8005550199", "5000"]
    page = get_json(client, f"{path}?sort=dialedNumberString&startIndex=1&resultsPerPage=2")
    assert [n["dialedNumberString"] for n in page[wrapper]] == ["8005550100", "8005550199"]
    info = page["pageInfo"]
    assert (info["startIndex"], info["totalResults"], info["sortTerm"]) == (
        1,
        4,
        "dialedNumberString",
    )
    assert info["nextPage"].endswith("startIndex=3&resultsPerPage=2")
    past = get_json(client, f"{path}?startIndex=99&resultsPerPage=3")["pageInfo"]
    assert past["startIndex"] == 3

    for refused in ("routingType:x", "callTypeId:orders", "mediaRoutingDomainId:", "name:5000"):
        assert_refused(client, f"{path}?q={refused}", 400, "invalidInput")
    for sort in ("name", "callType", "dialedNumberString%20up"):
        assert_refused(client, f"{path}?sort={sort}", 400, "invalidInput")
    assert_refused(client, f"{path}?resultsPerPage=101", 400, "invalidInput")
    assert_refused(client, f"{path}/999999", 404, "notFound")
    error = get_json(client, f"{path}/999999", 404)["apiErrors"][0]
    assert error["errorMessage"] == "Dialed number 999999 does not exist"
    for user in ("viewer", "super"):
        assert client.get(f"{BASE}/{path}", headers=basic(user)).status_code == 200


# Agents -------------------------------------------------------------------------------------


def test_an_agent_shows_its_settings_and_memberships(any_client: FlaskClient) -> None:
    client = any_client
    d = _directory()
    ann = get_json(client, f"agent/{d.ann}")
    assert ann["person"]["userName"] == "ann"  # the person fields stay nested, as Cisco's
    assert ann["description"] == "Team lead's deputy"
    assert ann["agentStateTrace"] is True
    assert ann["agentDeskSettings"] == ref("agentdesksetting", d.night, "Night")
    assert ann["skillGroups"] == [
        ref("skillgroup", d.billing, "Billing"),
        ref("skillgroup", d.sales, "Sales"),
    ]
    assert ann["defaultSkillGroup"] == ref("skillgroup", d.sales, "Sales")
    assert ann["agentAttributes"] == [
        {"attribute": ref("attribute", d.level, "Level"), "attributeValue": "7"},
        {"attribute": ref("attribute", d.spanish, "Spanish"), "attributeValue": "true"},
    ]
    assert ann["department"] == ref("department", d.dept_a, "Dept_A")
    assert "supervisorTeams" not in ann  # not a supervisor

    cat = get_json(client, f"agent/{d.cat}")
    assert cat["supervisorTeams"] == [ref("agentteam", 7, "Alpha"), ref("agentteam", 8, "beta")]
    assert cat["agentStateTrace"] is False
    dan = get_json(client, f"agent/{d.dan}")
    for absent in ("agentDeskSettings", "defaultSkillGroup", "department", "supervisorTeams"):
        assert absent not in dan
    assert (dan["skillGroups"], dan["agentAttributes"]) == ([], [])

    root = get_xml(client, f"agent/{d.ann}")
    assert root.findtext("agentStateTrace") == "true"
    assert root.findtext("agentDeskSettings/name") == "Night"
    assert root.findtext("agentDeskSettings/refURL") == f"{BASE}/agentdesksetting/{d.night}"
    assert [g.findtext("name") for g in root.findall("skillGroups/skillGroup")] == [
        "Billing",
        "Sales",
    ]
    assert root.findtext("defaultSkillGroup/name") == "Sales"
    values = root.findall("agentAttributes/agentAttribute")
    assert [(v.findtext("attribute/name"), v.findtext("attributeValue")) for v in values] == [
        ("Level", "7"),
        ("Spanish", "true"),
    ]
    assert root.findtext("department/name") == "Dept_A"
    assert root.findtext("person/userName") == "ann"
    teams = get_xml(client, f"agent/{d.cat}").findall("supervisorTeams/supervisorTeam")
    assert [t.findtext("refURL") for t in teams] == [f"{BASE}/agentteam/7", f"{BASE}/agentteam/8"]

    # The list shows the same as each agent's own representation.
    listed = get_json(client, "agent?sort=userName")["agents"]
    assert [a["person"]["userName"] for a in listed] == ["ann", "bob", "cat", "dan"]
    for agent in listed:
        assert agent == get_json(client, agent["refURL"].removeprefix(f"{BASE}/"))
    assert get_xml(client, "agent").find("agents/agent/skillGroups/skillGroup") is not None


def test_no_agent_representation_shows_a_password(any_client: FlaskClient) -> None:
    """An agent's password hash is never returned, in XML or JSON, listed or alone."""
    client = any_client
    d = _directory()
    for path in ("agent", f"agent/{d.dan}", "agent?q=dan", "skillgroup", "agentteam/8"):
        for headers in (JSON, basic()):
            response = client.get(f"{BASE}/{path}", headers=headers)
            assert response.status_code == 200
            body = response.get_data(as_text=True).lower()
            assert "password" not in body and "deadbeef" not in body and "scrypt" not in body


def test_a_page_of_agents_loads_its_memberships_in_a_constant_number_of_queries(
    any_client: FlaskClient,
) -> None:
    """One query per kind of membership for the whole page, never one per agent; and one per
    count for a page of skill groups or teams."""
    client = any_client
    d = _directory()
    with db.write() as conn:
        for n in range(12):
            agent = factories.agent(conn, f"extra{n:02}", supervisor=n % 2 == 0, team_id=8)
            factories.member(conn, agent, d.support)
            factories.attribute_value(conn, agent, d.level, str(n % 10 + 1))
            factories.supervises(conn, agent, 7)
            factories.skill_group(conn, f"More{n:02}")
            factories.team(conn, 100 + n)
            factories.call_type(conn, f"Type{n:02}")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def queries(path: str) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            get_json(client, path)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    # Pages of 2 and of 12 (each with supervisors, members and values).
    for path in ("agent?q=extra&", "skillgroup?", "agentteam?", "calltype?"):
        queries(f"{path}resultsPerPage=1")  # anything a first request reads once
        few, many = queries(f"{path}resultsPerPage=2"), queries(f"{path}resultsPerPage=12")
        assert few == many, f"{path}: {few} queries for a page of 2, {many} for 12"
    page = get_json(client, "agent?q=extra&resultsPerPage=12")["agents"]
    assert len(page) == 12
    assert all(len(a["skillGroups"]) == 1 and len(a["agentAttributes"]) == 1 for a in page)
    assert [len(a.get("supervisorTeams", [])) for a in page] == [1, 0] * 6
