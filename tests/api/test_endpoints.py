"""The HTTP API, endpoint by endpoint, in XML and JSON (no worker: jobs stay Queued here)."""

from __future__ import annotations

import codecs
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import db
from app.jobs import engine
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

BASE = "/unifiedconfig/config"
JSON = {"Accept": "application/json"}
GOOD = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])


def create(client: FlaskClient, text: str = GOOD, **fields: Any) -> Any:
    return client.post(
        f"{BASE}/bulkjob", json={"fileContent": text, **fields}, headers={**basic(), **JSON}
    )


def job_id_of(response: Any) -> int:
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def api_errors(response: Any) -> list[dict[str, str]]:
    if response.mimetype == "application/json":
        return list(response.get_json()["apiErrors"])
    root = ET.fromstring(response.data)
    assert root.tag == "apiErrors"
    return [{child.tag: child.text or "" for child in error} for error in root]


def first_error(response: Any) -> dict[str, str]:
    return api_errors(response)[0]


# Create ------------------------------------------------------------------------------------


def test_create_with_xml_body(client: FlaskClient) -> None:
    body = (
        "<bulkJob><description>wave &amp; 1</description>"
        f"<fileContent>{GOOD}</fileContent></bulkJob>"
    )
    response = client.post(
        f"{BASE}/bulkjob", data=body, content_type="application/xml", headers=basic()
    )
    assert response.status_code == 201
    assert response.data == b""
    location = response.headers["Location"]
    assert location.startswith("http://localhost/unifiedconfig/config/bulkjob/")
    job = ET.fromstring(client.get(location, headers=basic()).data)
    assert job.tag == "bulkJob"
    assert job.findtext("description") == "wave & 1"
    assert job.findtext("jobType") == "5"
    assert job.findtext("jobState") == "1"
    assert job.findtext("changeStamp") == "0"
    assert job.findtext("jobHostName") == "web-test"
    assert job.findtext("totalRecords") == "1"
    assert job.find("startDateTime") is None
    assert job.findtext("logFile/refURL") == location.replace("http://localhost", "") + "/log"


def test_create_with_json_and_read_back(client: FlaskClient) -> None:
    job_id = job_id_of(create(client, description="json", jobType=5))
    job = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON}).get_json()
    assert job["refURL"] == f"{BASE}/bulkjob/{job_id}"
    assert job["jobType"] == 5 and job["jobState"] == 1 and job["description"] == "json"
    assert isinstance(job["createDateTime"], int)
    assert job["csvFile"] == {"refURL": f"{BASE}/bulkjob/{job_id}/csv"}


def test_create_multipart_and_raw_keep_bytes(client: FlaskClient) -> None:
    raw = codecs.BOM_UTF8 + GOOD.replace("\n", "\r\n").encode()
    response = client.post(
        f"{BASE}/bulkjob",
        data={"file": (io.BytesIO(raw), "wave.csv"), "description": "multi"},
        content_type="multipart/form-data",
        headers=basic(),
    )
    job_id = job_id_of(response)
    assert client.get(f"{BASE}/bulkjob/{job_id}/csv", headers=basic()).data == raw
    utf16 = GOOD.replace(",", "\t").encode("utf-16")
    response = client.post(
        f"{BASE}/bulkjob?description=raw", data=utf16, content_type="text/csv", headers=basic()
    )
    job_id = job_id_of(response)
    csv_response = client.get(f"{BASE}/bulkjob/{job_id}/csv", headers=basic())
    assert csv_response.data == utf16
    assert csv_response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("text", "data", "needle"),
    [
        ("", "fileContent", "required"),
        ("userName,firstName,lastName,newUserName\n", "fileContent", "no data rows"),
        ("a,b\n1,2\n", "fileContent", "; jobType 5 (SSO migration): userName,firstName"),
        (
            "a,b\n1,2\n",
            "fileContent",
            "expected columns: jobType 1 (Dialed Number): operation,dialedNumberString",
        ),
        ("userName,firstName,lastName,newUserName\na,b,c\n", "fileContent", "Line 2"),
        ('userName,firstName,lastName,newUserName\n"a,b,c,d\n', "fileContent", "Line 2"),
    ],
)
def test_syntax_refusals_create_nothing(
    client: FlaskClient, text: str, data: str, needle: str
) -> None:
    response = create(client, text)
    assert response.status_code == 400
    error = first_error(response)
    assert error["errorData"] == data
    assert needle in error["errorMessage"]
    listed = client.get(f"{BASE}/bulkjob", headers={**basic(), **JSON}).get_json()
    assert listed["pageInfo"]["totalResults"] == 0


def test_over_3mb_refused(client: FlaskClient) -> None:
    row = "someone,First,Last,someone@example.com\n"
    text = "userName,firstName,lastName,newUserName\n" + row * (3 * 1024 * 1024 // len(row) + 1)
    response = create(client, text)
    assert response.status_code == 400
    assert first_error(response)["errorType"] == "invalidInput.fieldLengthExceeded"
    assert first_error(response)["errorData"] == "fileContent"


def test_non_utf8_refused_with_offset(client: FlaskClient) -> None:
    raw = b"userName,firstName,lastName,newUserName\nb\xe9a,,,\n"
    response = client.post(f"{BASE}/bulkjob", data=raw, content_type="text/csv", headers=basic())
    assert response.status_code == 400
    assert "offset 41" in first_error(response)["errorMessage"]


def test_job_type_must_match_header(client: FlaskClient) -> None:
    response = create(client, jobType=9)  # a type the service does not run
    assert response.status_code == 400
    assert first_error(response)["errorData"] == "jobType"
    response = create(client, jobType=2)  # the Agent type, with an SSO-migration file
    assert response.status_code == 400
    error = first_error(response)
    assert error["errorData"] == "fileContent"
    assert "does not match jobType 2 (Agent)" in error["errorMessage"]


def test_description_too_long_and_unknown_field(client: FlaskClient) -> None:
    response = create(client, description="x" * 256)
    assert response.status_code == 400
    assert first_error(response)["errorType"] == "invalidInput.fieldLengthExceeded"
    response = create(client, colour="blue")
    assert response.status_code == 400
    assert first_error(response)["errorData"] == "colour"


def test_read_only_fields_ignored_on_create(client: FlaskClient) -> None:
    job_id = job_id_of(create(client, jobState=3, refURL="/x", jobHostName="evil"))
    job = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON}).get_json()
    assert job["jobState"] == 1 and job["jobHostName"] == "web-test"


def test_malformed_bodies_and_media_types(client: FlaskClient) -> None:
    response = client.post(
        f"{BASE}/bulkjob", data="<bulkJob>", content_type="application/xml", headers=basic()
    )
    assert response.status_code == 400
    assert response.mimetype == "application/xml"
    response = client.post(
        f"{BASE}/bulkjob", data="{", content_type="application/json", headers={**basic(), **JSON}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><bulkJob/>'
    response = client.post(
        f"{BASE}/bulkjob", data=doctype, content_type="application/xml", headers=basic()
    )
    assert response.status_code == 400
    response = client.post(
        f"{BASE}/bulkjob", data="x", content_type="application/pdf", headers=basic()
    )
    assert response.status_code == 415


# Auth and roles ----------------------------------------------------------------------------


def test_credentials_required(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/bulkjob")
    assert response.status_code == 401
    assert first_error(response)["errorType"] == "notAuthorized"
    assert client.get(f"{BASE}/bulkjob", headers=basic("admin", "wrong")).status_code == 401


def test_roles(client: FlaskClient) -> None:
    viewer, supervisor = basic("viewer"), basic("super")
    assert client.get(f"{BASE}/bulkjob", headers=viewer).status_code == 200
    refused = client.post(f"{BASE}/bulkjob", json={"fileContent": GOOD}, headers=viewer)
    assert refused.status_code == 403
    assert first_error(refused)["errorType"] == "forbidden"
    assert client.get(f"{BASE}/bulkjob", headers=supervisor).status_code == 403
    assert (
        client.get(f"{BASE}/bulkjob/templates/ssomigration", headers=supervisor).status_code == 403
    )
    assert client.get(f"{BASE}/agent", headers=supervisor).status_code == 200
    listed = client.get(f"{BASE}/bulkjob", headers={**viewer, **JSON}).get_json()
    assert listed["permissionInfo"] == {
        "canCreate": False,
        "canUpdate": False,
        "canDelete": False,
        "role": "viewer",
    }


def test_bearer_token(app: Flask, client: FlaskClient) -> None:
    from app.accounts import users

    with db.write() as conn:
        token = users.create_token(conn, "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{BASE}/bulkjob", headers=headers).status_code == 200
    bad = {"Authorization": f"Bearer {token}x"}
    assert client.get(f"{BASE}/bulkjob", headers=bad).status_code == 401


def test_a_poll_shows_what_changed_since_the_last_one(app: Flask, client: FlaskClient) -> None:
    # A job's body is rendered once per state (docs/performance.md): a counter the engine moves
    # without touching changeStamp must still show on the next poll, in JSON and in XML.
    from sqlalchemy import update

    from app.db.models import Job, table

    job_id = job_id_of(create(client, description="counted"))
    url = f"{BASE}/bulkjob/{job_id}"
    first_json = client.get(url, headers={**basic(), **JSON}).get_json()
    first_xml = ET.fromstring(client.get(url, headers=basic()).data)
    assert first_json["processedRecords"] == 0
    assert first_xml.findtext("processedRecords") == "0"
    jobs = table(Job)
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(processed_records=1))

    again = client.get(url, headers={**basic(), **JSON}).get_json()
    assert again == {**first_json, "processedRecords": 1}
    again_xml = ET.fromstring(client.get(url, headers=basic()).data)
    assert again_xml.findtext("processedRecords") == "1"
    assert again_xml.findtext("changeStamp") == first_xml.findtext("changeStamp")


# List ----------------------------------------------------------------------------------------


def make_jobs(client: FlaskClient, count: int) -> list[int]:
    return [job_id_of(create(client, description=f"wave {i}")) for i in range(count)]


def test_list_paging(client: FlaskClient) -> None:
    ids = make_jobs(client, 7)
    page = client.get(
        f"{BASE}/bulkjob?startIndex=2&resultsPerPage=2", headers={**basic(), **JSON}
    ).get_json()
    info = page["pageInfo"]
    assert [job["refURL"].rsplit("/", 1)[1] for job in page["bulkJobs"]] == [
        str(i) for i in ids[::-1][2:4]
    ]
    assert (info["startIndex"], info["resultsPerPage"], info["totalResults"]) == (2, 2, 7)
    assert info["prevPage"].endswith("startIndex=0&resultsPerPage=2")
    assert info["nextPage"].endswith("startIndex=4&resultsPerPage=2")
    assert info["lastPage"].endswith("startIndex=6&resultsPerPage=2")
    past = client.get(
        f"{BASE}/bulkjob?startIndex=50&resultsPerPage=2", headers={**basic(), **JSON}
    ).get_json()
    assert past["pageInfo"]["startIndex"] == 6
    assert "nextPage" not in past["pageInfo"] and len(past["bulkJobs"]) == 1
    first = client.get(f"{BASE}/bulkjob", headers={**basic(), **JSON}).get_json()
    assert "prevPage" not in first["pageInfo"]


def test_list_xml_shape(client: FlaskClient) -> None:
    make_jobs(client, 2)
    root = ET.fromstring(client.get(f"{BASE}/bulkjob/", headers=basic()).data)
    assert root.tag == "results"
    assert root.findtext("pageInfo/totalResults") == "2"
    assert root.findtext("permissionInfo/canCreate") == "true"
    assert len(root.findall("bulkJobs/bulkJob")) == 2


@pytest.mark.parametrize(
    "query",
    [
        "startIndex=x",
        "startIndex=-1",
        "resultsPerPage=0",
        "resultsPerPage=101",
        "q=colour:red",
        "q=jobState:x",
        "sort=colour",
        "sort=description%20sideways",
    ],
)
def test_list_refusals(client: FlaskClient, query: str) -> None:
    response = client.get(f"{BASE}/bulkjob?{query}", headers={**basic(), **JSON})
    assert response.status_code == 400
    assert first_error(response)["errorType"].startswith("invalidInput")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlaskClient]:
    """A client on either database (PostgreSQL searches through its trigram index)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield flask_app.test_client()
    db.dispose()


def test_list_search_and_sort(any_client: FlaskClient) -> None:
    client = any_client
    for description in ("Alpha wave", "beta 100%", "gamma_x"):
        job_id_of(create(client, description=description))

    def descriptions(query: str) -> list[str]:
        body = client.get(f"{BASE}/bulkjob?{query}", headers={**basic(), **JSON}).get_json()
        return [job["description"] for job in body["bulkJobs"]]

    assert descriptions("q=WAVE") == ["Alpha wave"]
    assert descriptions("q=100%25") == ["beta 100%"]
    assert descriptions("q=_") == ["gamma_x"]
    assert descriptions("q=%25") == ["beta 100%"]
    assert descriptions("q=jobState:1%20gamma") == ["gamma_x"]
    assert descriptions("q=jobState:3") == []
    assert descriptions("sort=description") == ["Alpha wave", "beta 100%", "gamma_x"]
    assert descriptions("sort=description%20desc") == ["gamma_x", "beta 100%", "Alpha wave"]
    body = client.get(f"{BASE}/bulkjob?q=wave&sort=jobState", headers={**basic(), **JSON})
    info = body.get_json()["pageInfo"]
    assert (info["searchTerm"], info["sortTerm"]) == ("wave", "jobState")


# Update, cancel, delete ------------------------------------------------------------------


def put(client: FlaskClient, job_id: int, **fields: Any) -> Any:
    return client.put(f"{BASE}/bulkjob/{job_id}", json=fields, headers={**basic(), **JSON})


def test_update_description_and_change_stamp(client: FlaskClient) -> None:
    job_id = job_id_of(create(client))
    response = put(client, job_id, changeStamp=0, description="renamed")
    assert response.status_code == 200
    assert response.get_json()["changeStamp"] == 1
    assert response.get_json()["description"] == "renamed"
    stale = put(client, job_id, changeStamp=0, description="again")
    assert stale.status_code == 409
    assert first_error(stale)["errorType"] == "changeStampMismatch"
    missing = put(client, job_id, description="again")
    assert missing.status_code == 400
    assert first_error(missing)["errorData"] == "changeStamp"
    job = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON}).get_json()
    assert job["description"] == "renamed"


def test_update_in_xml(client: FlaskClient) -> None:
    job_id = job_id_of(create(client))
    body = "<bulkJob><changeStamp>0</changeStamp><description>x</description></bulkJob>"
    response = client.put(
        f"{BASE}/bulkjob/{job_id}", data=body, content_type="application/xml", headers=basic()
    )
    assert response.status_code == 200
    assert ET.fromstring(response.data).findtext("changeStamp") == "1"


def test_cancel_queued_then_delete(app: Flask, client: FlaskClient) -> None:
    job_id = job_id_of(create(client))
    active = client.delete(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON})
    assert active.status_code == 409
    assert first_error(active)["errorType"] == "jobActive"
    response = put(client, job_id, changeStamp=0, jobState=5)
    assert response.status_code == 200 and response.get_json()["jobState"] == 5
    again = put(client, job_id, changeStamp=1, jobState=5)
    assert again.status_code == 200  # already cancelled: nothing to change
    bad_state = put(client, job_id, changeStamp=2, jobState=3)
    assert bad_state.status_code == 400 and first_error(bad_state)["errorData"] == "jobState"
    log = client.get(f"{BASE}/bulkjob/{job_id}/log", headers=basic()).get_data(as_text=True)
    assert "Job cancelled by admin" in log
    assert client.delete(f"{BASE}/bulkjob/{job_id}", headers=basic()).status_code == 200
    gone = client.get(f"{BASE}/bulkjob/{job_id}", headers={**basic(), **JSON})
    assert gone.status_code == 404 and first_error(gone)["errorType"] == "notFound"
    assert client.get(f"{BASE}/bulkjob/{job_id}/log", headers=basic()).status_code == 404


def test_cancelling_a_finished_job_is_refused(app: Flask, client: FlaskClient) -> None:
    job_id = job_id_of(create(client))
    engine.run_job(db, app.config["SETTINGS"], job_id)
    response = put(client, job_id, changeStamp=0, jobState=5)
    assert response.status_code == 400
    assert first_error(response)["errorData"] == "jobState"


# Downloads -------------------------------------------------------------------------------


def test_log_and_failed_downloads(app: Flask, client: FlaskClient) -> None:
    job_id = job_id_of(create(client))
    engine.run_job(db, app.config["SETTINGS"], job_id)
    log = client.get(f"{BASE}/bulkjob/{job_id}/log/", headers=basic())
    assert log.status_code == 200
    assert log.mimetype == "text/plain" and log.mimetype_params["charset"] == "utf-8"
    assert log.headers["Content-Disposition"].startswith("attachment")
    assert "Error processing line 2: userName: The specified agent userName does not exist" in (
        log.get_data(as_text=True)
    )
    failed = client.get(f"{BASE}/bulkjob/{job_id}/failed", headers=basic())
    assert failed.get_data(as_text=True).splitlines()[0] == (
        "userName,firstName,lastName,newUserName,lineNumber,error"
    )


def test_template_filters_and_cap(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        factories.team(conn, 12, peripheral_id=5000)
        factories.peripheral(conn, 6000, "PG_2")
        factories.agent(conn, "onteam", team_id=12, first_name="=cmd")
        factories.agent(conn, "other", peripheral_id=6000)
        factories.agent(conn, "plain")
        factories.agent(conn, "done", sso=True)
    url = f"{BASE}/bulkjob/templates/ssomigration"

    def names(query: str = "") -> list[str]:
        response = client.get(f"{url}{query}", headers=basic())
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="ssomigration.csv"'
        )
        return [line.split(",")[0] for line in response.get_data(as_text=True).splitlines()[1:]]

    assert names() == ["onteam", "other", "plain"]
    assert names("?q=peripheralId:5000") == ["onteam", "plain"]
    assert names("?q=peripheralId:5000agentTeamId:12") == ["onteam"]
    assert names("?q=peripheralId:5000%20agentTeamId:12") == ["onteam"]
    assert names("?q=agentTeamId:12") == ["onteam"]
    body = client.get(url, headers=basic()).get_data(as_text=True)
    assert "onteam,'=cmd,Last," in body
    assert client.get(f"{url}?q=colour:1", headers=basic()).status_code == 400
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(template_limit=2)
    assert names() == ["onteam", "other"]


def test_agent_template_filters_pieces_and_neutralising(app: Flask, client: FlaskClient) -> None:
    with db.write() as conn:
        factories.team(conn, 12, peripheral_id=5000, name="Sales")
        factories.peripheral(conn, 6000, "PG_2")
        factories.agent(conn, "onteam", team_id=12, first_name="=cmd")
        factories.agent(conn, "other", peripheral_id=6000)
        factories.agent(conn, "done", sso=True)
    url = f"{BASE}/bulkjob/templates/agent"
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(template_limit=2)

    def rows(query: str = "") -> list[list[str]]:
        response = client.get(f"{url}{query}", headers=basic())
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Content-Disposition"] == 'attachment; filename="agent.csv"'
        return [line.split(",") for line in response.get_data(as_text=True).splitlines()]

    first = rows()
    assert first[0][:6] == ["operation", "agentId", "userName", "firstName", "lastName", "password"]
    assert [r[2] for r in first[1:]] == ["onteam", "other"]
    assert first[1][3] == "'=cmd" and first[1][5] == "~" and first[1][11] == "Sales"
    assert [r[2] for r in rows("?startIndex=2")[1:]] == ["done"]
    assert [r[2] for r in rows("?q=peripheralId:6000")[1:]] == ["other"]
    assert client.get(f"{url}?startIndex=-1", headers=basic()).status_code == 400
    assert client.get(f"{url}?q=colour:1", headers=basic()).status_code == 400


def test_object_templates_in_pieces(app: Flask, client: FlaskClient) -> None:
    """/bulkjob/templates/skillgroup, calltype, dialednumber: UPDATE rows by id, in pieces."""
    with db.write() as conn:
        for name in ("SG_A", "SG_B", "SG_C"):
            factories.skill_group(conn, name)
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(template_limit=2)
    url = f"{BASE}/bulkjob/templates/skillgroup"
    first = client.get(url, headers=basic())
    assert first.headers["Content-Disposition"] == 'attachment; filename="skillgroup.csv"'
    lines = first.get_data(as_text=True).splitlines()
    assert lines[0] == (
        "operation,name,newName,description,peripheralId,mediaRoutingDomainName,"
        "serviceLevelThreshold,serviceLevelType"
    )
    assert [line.split(",")[:2] for line in lines[1:]] == [["UPDATE", "SG_A"], ["UPDATE", "SG_B"]]
    rest = client.get(f"{url}?startIndex=2", headers=basic()).get_data(as_text=True)
    assert [line.split(",")[1] for line in rest.splitlines()[1:]] == ["SG_C"]
    empty = client.get(f"{BASE}/bulkjob/templates/calltype", headers=basic())
    assert empty.get_data(as_text=True).splitlines() == [
        "operation,name,newName,description,serviceLevelThreshold,serviceLevelType"
    ]
    refused = client.get(f"{url}?startIndex=-1", headers=basic())
    assert refused.status_code == 400 and "startIndex" in refused.get_data(as_text=True)
    assert client.get(url, headers=basic("super")).status_code == 403


# Agents ----------------------------------------------------------------------------------


def test_agents_list_and_get(client: FlaskClient) -> None:
    with db.write() as conn:
        factories.team(conn, 7)
        a = factories.agent(conn, "jdoe", team_id=7, first_name="Jane", last_name="Doe")
        factories.agent(conn, "xsso", sso=True, supervisor=True)
    listed = client.get(f"{BASE}/agent/?q=jane", headers={**basic(), **JSON}).get_json()
    assert [agent["person"]["userName"] for agent in listed["agents"]] == ["jdoe"]
    agent = client.get(f"{BASE}/agent/{a}", headers={**basic(), **JSON}).get_json()
    assert agent["refURL"] == f"{BASE}/agent/{a}"
    assert agent["agentTeam"]["id"] == 7 and agent["peripheral"]["id"] == 5000
    assert agent["person"]["ssoEnabled"] is False
    sso = client.get(f"{BASE}/agent?q=ssoEnabled:true", headers={**basic(), **JSON}).get_json()
    assert [x["person"]["userName"] for x in sso["agents"]] == ["xsso"]
    root = ET.fromstring(client.get(f"{BASE}/agent", headers=basic()).data)
    assert len(root.findall("agents/agent")) == 2
    assert client.get(f"{BASE}/agent/999999", headers=basic()).status_code == 404


def test_agents_search_each_name_ignoring_case(any_client: FlaskClient) -> None:
    """The search matches the user name, first or last name, ignoring case, on both databases
    (SQLite compiles it without lower(), PostgreSQL with it): the same statement, other terms."""
    client = any_client
    with db.write() as conn:
        factories.agent(conn, "ann.lee", first_name="Ann", last_name="Lee")
        factories.agent(conn, "bob.x", first_name="Bob", last_name="Annex")
        factories.agent(conn, "carl.y", first_name="Carl", last_name="Lee_s")

    def found(term: str) -> list[str]:
        body = client.get(f"{BASE}/agent?q={term}&sort=userName", headers={**basic(), **JSON})
        return [agent["person"]["userName"] for agent in body.get_json()["agents"]]

    assert found("ANN") == ["ann.lee", "bob.x"]
    assert found("lee") == ["ann.lee", "carl.y"]
    assert found("BOB.X") == ["bob.x"]
    assert found("e_") == ["carl.y"]  # "_" is itself, not any one character
    assert found("nobody") == []


def test_unknown_path_and_method(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/nothing", headers={**basic(), **JSON})
    assert response.status_code == 404
    assert first_error(response)["errorType"] == "notFound"
    response = client.patch(f"{BASE}/bulkjob", headers={**basic(), **JSON})
    assert response.status_code == 405
