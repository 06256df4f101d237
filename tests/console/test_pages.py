"""The admin console through Flask's test client: every page, every refusal, the forms' flows."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from app.db import db
from app.db.models import Job, JobLine, JobState, table
from app.jobs import engine
from tests import factories
from tests.conftest import PASSWORD, basic

jobs_table = table(Job)
lines_table = table(JobLine)
HEADER = "userName,firstName,lastName,newUserName"
DASH = "\N{EN DASH}"  # as the pager writes ranges


# --- helpers -----------------------------------------------------------------------------------


def csrf_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    if not token:
        client.get("/login")
        with client.session_transaction() as session:
            token = session["csrf_token"]
    return str(token)


def sign_in(client: FlaskClient, user: str = "admin", password: str = PASSWORD) -> TestResponse:
    token = csrf_of(client)
    return client.post(
        "/login", data={"username": user, "password": password, "csrf_token": token, "next": "/"}
    )


def signed_in(app: Flask, user: str = "admin") -> FlaskClient:
    client = app.test_client()
    response = sign_in(client, user)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def make_job(
    rows: list[list[str]] | None = None,
    description: str = "wave",
    state: int | None = None,
    failed: dict[int, str] | None = None,
) -> int:
    """A job created through the service (no worker): Queued unless ``state`` says otherwise."""
    rows = rows if rows is not None else [["asmith", "A", "Smith", "asmith@sso"]]
    with db.write() as conn:
        job_id = factories.stored_job(conn, factories.csv_text(rows), description)
        if failed:
            conn.execute(
                insert(lines_table),
                [
                    {"job_id": job_id, "line_number": n, "at_ms": 1, "ok": False, "message": m}
                    for n, m in failed.items()
                ],
            )
        if state is not None:
            conn.execute(
                update(jobs_table)
                .where(jobs_table.c.id == job_id)
                .values(
                    job_state=state,
                    processed_records=len(rows),
                    failed_records=len(failed or {}),
                    succeeded_records=len(rows) - len(failed or {}),
                    start_ms=1_700_000_000_000,
                    end_ms=None if state in JobState.ACTIVE else 1_700_000_001_000,
                )
            )
    return job_id


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(jobs_table)).scalar_one())


def job_row(job_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def upload(
    client: FlaskClient,
    content: bytes | None = None,
    pasted: str = "",
    description: str = "from the console",
    job_type: str = "",
    token: str | None = None,
) -> TestResponse:
    data: dict[str, Any] = {
        "description": description,
        "jobType": job_type,
        "pasted": pasted,
        "csrf_token": csrf_of(client) if token is None else token,
    }
    if content is not None:
        data["file"] = FileStorage(io.BytesIO(content), "sso.csv", content_type="text/csv")
    # Encoded in memory: the test client's own encoder spools big bodies to an unclosed file.
    boundary, body = encode_multipart(data)
    return client.post(
        "/jobs/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


# --- signing in --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/jobs/new", "/jobs/1", "/templates", "/jobs/1/log", "/jobs/1/cancel"]
)
def test_pages_send_strangers_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path + "?startIndex=0")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert path in response.headers["Location"].replace("%2F", "/")


def test_sign_in_and_return_to_the_page_asked_for(app: Flask, client: FlaskClient) -> None:
    page = client.get("/login?next=/templates")
    assert page.status_code == 200
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]{20,}">', text(page))
    assert 'for="username"' in text(page) and 'for="password"' in text(page)
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": "ADMIN", "password": PASSWORD, "csrf_token": token, "next": "/templates"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/templates"
    assert client.get("/templates").status_code == 200


def test_wrong_password_is_refused_on_the_form(client: FlaskClient) -> None:
    response = sign_in(client, "admin", "wrong")
    assert response.status_code == 200
    assert "The user name or password is wrong." in text(response)
    assert client.get("/").status_code == 302


def test_sign_in_without_or_with_a_wrong_csrf_token_is_400(client: FlaskClient) -> None:
    client.get("/login")
    form = {"username": "admin", "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 400
    assert client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 400
    fresh = client.application.test_client()  # no session at all
    assert fresh.post("/login", data={**form, "csrf_token": "x"}).status_code == 400
    assert client.get("/").status_code == 302


def test_next_never_leaves_the_site(client: FlaskClient) -> None:
    token = csrf_of(client)
    for target in (
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
    ):
        response = client.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["Location"] == "/", target
        token = csrf_of(client)


def test_session_cookie_flags(app: Flask) -> None:
    client = app.test_client()
    cookie = sign_in(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure = app.test_client()
    secure.get("/login", base_url="https://localhost")
    with secure.session_transaction(base_url="https://localhost") as session:
        token = session["csrf_token"]
    response = secure.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
    )
    assert "; Secure" in response.headers["Set-Cookie"]


def test_sign_out_is_a_post_with_the_token(app: Flask) -> None:
    client = signed_in(app)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert client.get("/").status_code == 302


# --- roles -------------------------------------------------------------------------------------


def test_viewer_reads_but_cannot_change(app: Flask) -> None:
    job_id = make_job(state=JobState.QUEUED)
    done = make_job(state=JobState.SUCCEEDED)
    client = signed_in(app, "viewer")
    listing = text(client.get("/"))
    assert "wave" in listing
    assert ">New</a>" not in listing
    page = text(client.get(f"/jobs/{job_id}"))
    assert "Cancel job" not in page and "Delete job" not in page
    assert "Download the log" in page
    token = csrf_of(client)
    assert client.get("/jobs/new").status_code == 403
    assert upload(client, factories.csv_text([["a", "", "", ""]]).encode()).status_code == 403
    assert client.get(f"/jobs/{job_id}/cancel").status_code == 403
    assert client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/jobs/{done}/delete").status_code == 403
    assert client.post(f"/jobs/{done}/delete", data={"csrf_token": token}).status_code == 403
    assert job_row(job_id).job_state == JobState.QUEUED and job_row(done) is not None
    assert job_count() == 2
    for path in ("/templates", f"/jobs/{job_id}/log", f"/jobs/{job_id}/csv", "/jobs/status"):
        assert client.get(path).status_code == 200, path


def test_supervisor_has_no_access_to_jobs_or_templates(app: Flask) -> None:
    job_id = make_job()
    client = signed_in(app, "super")
    for path in (
        "/",
        "/jobs/new",
        f"/jobs/{job_id}",
        f"/jobs/{job_id}/log",
        f"/jobs/{job_id}/csv",
        f"/jobs/{job_id}/failed",
        f"/jobs/{job_id}/cancel",
        "/templates",
        "/templates/ssomigration.csv",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "no access to bulk jobs or templates" in text(response)
    status = client.get(f"/jobs/status?ids={job_id}")
    assert status.status_code == 403 and status.is_json
    token = csrf_of(client)
    assert client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token}).status_code == 403
    assert job_row(job_id).job_state == JobState.QUEUED


# --- the jobs list -----------------------------------------------------------------------------


def test_list_shows_jobs_with_badges_progress_and_times(app: Flask) -> None:
    running = make_job(description="running one", state=JobState.PROCESSING)
    make_job(description="done one", state=JobState.PARTIAL, failed={2: "userName: nope"})
    client = signed_in(app)
    page = text(client.get("/"))
    assert 'href="/jobs/new">New</a>' in page
    assert '<span class="badge state-2" data-field="jobState">Processing</span>' in page
    assert "Partially succeeded" in page
    assert f'data-job-id="{running}" data-active="1"' in page
    assert "<progress" in page
    assert '<time datetime="2023-11-14T22:13:20.000Z">2023-11-14 22:13:20 UTC</time>' in page
    assert "SSO migration" in page
    assert page.index("done one") < page.index("running one")  # newest first


def test_list_search_sort_and_paging_match_the_api(app: Flask) -> None:
    for i in range(5):
        make_job(description=f"wave {i}", state=JobState.SUCCEEDED if i % 2 else None)
    make_job(description="other")
    client = signed_in(app)
    page = text(client.get("/?q=WAVE"))
    assert "wave 0" in page and "other" not in page
    page = text(client.get("/?q=wave jobState:1"))
    assert "wave 0" in page and "wave 2" in page and "wave 1" not in page
    page = text(client.get("/?sort=description asc"))
    assert page.index(">other<") < page.index(">wave 0<") < page.index(">wave 4<")
    assert 'aria-sort="ascending"' in page
    page = text(client.get("/?resultsPerPage=2&sort=description asc"))
    assert f"1{DASH}2 of 6 jobs" in page and ">wave 1<" not in page
    assert 'rel="next"' in page and "startIndex=2" in page
    page = text(client.get("/?resultsPerPage=2&startIndex=99&sort=description asc"))
    assert f"5{DASH}6 of 6 jobs" in page
    for bad in ("/?sort=color", "/?q=color:red", "/?resultsPerPage=500", "/?startIndex=x"):
        response = client.get(bad)
        assert response.status_code == 400, bad
        assert 'class="notice error"' in text(response)


def test_list_when_empty_says_so(app: Flask) -> None:
    page = text(signed_in(app).get("/"))
    assert "No jobs yet." in page


# --- a new job ---------------------------------------------------------------------------------


def test_upload_creates_the_job_and_shows_it(app: Flask) -> None:
    client = signed_in(app)
    content = factories.csv_text([["asmith", "A", "Smith", "asmith@sso"], ["b", "", "", ""]])
    response = upload(client, content.encode(), description="wave 1")
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = job_row(job_id)
    assert (job.description, job.total_records, job.job_type, job.created_by) == (
        "wave 1",
        2,
        5,
        "admin",
    )
    page = text(client.get(response.headers["Location"]))
    assert f"Job {job_id} created" in page and "Queued" in page
    assert client.get(f"/jobs/{job_id}/csv").data == content.encode()


def test_pasted_csv_creates_the_job(app: Flask) -> None:
    client = signed_in(app)
    response = upload(client, pasted=f"{HEADER}\r\nasmith,,,a@sso\r\n", job_type="5")
    assert response.status_code == 303
    assert job_count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"user,first,last\nasmith,A,S\n", "The CSV header matches no job type"),
        (f"{HEADER}\nasmith,A,S,x\nb,c\n".encode(), "Line 3: 2 fields where the header has 4."),
        (f'{HEADER}\nasmith,"A,S,x\n'.encode(), "Line 2"),
        (f"{HEADER}\n".encode(), "header but no data rows"),
        (b"\xff\xfe\x00", "not valid"),
        (f"{HEADER}\nasmith,A,S,\xe9\n".encode("latin-1"), "invalid byte at offset 51"),
    ],
)
def test_a_bad_file_is_refused_inline_and_nothing_is_created(
    app: Flask, content: bytes, message: str
) -> None:
    client = signed_in(app)
    response = upload(client, content, description="kept")
    page = text(response)
    assert response.status_code == 400
    assert message in page
    assert "no job was created" in page
    assert "userName,firstName,lastName,newUserName" in page  # the expected columns
    assert 'value="kept"' in page
    assert job_count() == 0


def test_header_not_matching_the_chosen_type_is_refused(app: Flask) -> None:
    response = upload(signed_in(app), pasted="a,b\n1,2\n", job_type="5")
    assert response.status_code == 400
    assert "does not match jobType 5" in text(response)
    assert job_count() == 0


def test_upload_needs_exactly_one_source(app: Flask) -> None:
    client = signed_in(app)
    assert "Choose a CSV file or paste" in text(upload(client))
    both = upload(client, b"x", pasted="y")
    assert both.status_code == 400 and "not both" in text(both)
    assert job_count() == 0


def test_too_long_description_and_large_files_are_refused_inline(app: Flask) -> None:
    client = signed_in(app)
    rows = factories.csv_text([["a", "", "", ""]])
    response = upload(client, rows.encode(), description="d" * 256)
    assert response.status_code == 400 and "at most 255 characters" in text(response)
    big = (HEADER + "\n" + "a,b,c,d\n" * 400_000).encode()  # 3.2 MB: over the file limit
    response = upload(client, big)
    assert response.status_code == 400 and "the limit is 3145728 bytes" in text(response)
    huge = b"x" * (4 * 1024 * 1024 + 10)  # over the request limit: refused before reading
    response = upload(client, huge)
    assert response.status_code == 413 and "too large" in text(response)
    assert 'name="pasted"' in text(response)
    assert job_count() == 0


def test_upload_without_or_with_a_wrong_csrf_token_is_400(app: Flask) -> None:
    client = signed_in(app)
    rows = factories.csv_text([["a", "", "", ""]]).encode()
    assert upload(client, rows, token="").status_code == 400
    assert upload(client, rows, token="wrong").status_code == 400
    assert job_count() == 0


# --- one job -----------------------------------------------------------------------------------


def test_job_page_shows_fields_downloads_and_paged_failures(app: Flask) -> None:
    rows = [[f"user{i:03}", "First", f"Last{i}", f"user{i:03}@sso"] for i in range(120)]
    failed = {
        n: f"userName: The specified agent userName does not exist: user{n - 2:03}"
        for n in range(2, 122)
    }
    job_id = make_job(rows, description="all failed", state=JobState.FAILED, failed=failed)
    client = signed_in(app)
    page = text(client.get(f"/jobs/{job_id}"))
    assert "all failed" in page and "Failed" in page
    assert "5 — SSO migration" in page and "web-test" in page and "by admin" in page
    assert f'data-job-id="{job_id}" data-active="0"' in page
    assert f'href="/jobs/{job_id}/log"' in page and f'href="/jobs/{job_id}/csv"' in page
    assert f'href="/jobs/{job_id}/failed"' in page
    assert f'href="/jobs/{job_id}/delete"' in page and "Cancel job" not in page
    assert page.count('<td class="error-text">') == 50
    assert "<td>user000</td>" in page and "<td>user050</td>" not in page
    assert f"1{DASH}50 of 120 failed rows" in page
    last = text(client.get(f"/jobs/{job_id}?failedStart=100"))
    assert last.count('<td class="error-text">') == 20
    assert "<td>user119</td>" in last and "<td>Last119</td>" in last
    assert "does not exist: user119" in last
    assert f"101{DASH}120 of 120 failed rows" in last
    assert client.get(f"/jobs/{job_id}?failedStart=-1").status_code == 400


def test_downloads_stream_the_services_output(app: Flask) -> None:
    job_id = make_job(
        [["asmith", "A", "Smith", "=cmd"]], state=JobState.FAILED, failed={2: "userName: nope"}
    )
    client = signed_in(app)
    log = client.get(f"/jobs/{job_id}/log")
    assert log.status_code == 200
    assert log.headers["Content-Disposition"] == f'attachment; filename="bulkjob-{job_id}.log"'
    assert "Job created by admin on web-test" in text(log)
    assert "Error processing line 2: userName: nope" in text(log)
    original = client.get(f"/jobs/{job_id}/csv")
    assert original.data == factories.csv_text([["asmith", "A", "Smith", "=cmd"]]).encode()
    failed = text(client.get(f"/jobs/{job_id}/failed"))
    assert failed.splitlines() == [
        f"{HEADER},lineNumber,error",
        "asmith,A,Smith,'=cmd,2,userName: nope",
    ]
    assert client.get("/jobs/999/log").status_code == 404


def test_missing_job_is_a_404_page(app: Flask) -> None:
    response = signed_in(app).get("/jobs/999")
    assert response.status_code == 404
    assert "Bulk job 999 does not exist" in text(response)


def test_status_endpoint_serves_the_live_fields(app: Flask, client: FlaskClient) -> None:
    job_id = make_job(state=JobState.PROCESSING)
    assert client.get(f"/jobs/status?ids={job_id}").status_code == 401
    client = signed_in(app, "viewer")
    response = client.get(f"/jobs/status?ids={job_id},999")
    assert response.status_code == 200
    (job,) = response.get_json()["bulkJobs"]
    assert job["id"] == job_id and job["jobState"] == 2 and job["active"] is True
    assert job["jobStateName"] == "Processing"
    assert (job["totalRecords"], job["processedRecords"]) == (1, 1)
    assert job["startDateTime"] == 1_700_000_000_000 and "endDateTime" not in job
    assert client.get("/jobs/status?ids=1,x").status_code == 400
    assert client.get("/jobs/status").get_json() == {"bulkJobs": []}


# --- cancel and delete -------------------------------------------------------------------------


def test_cancel_asks_first_then_cancels_a_queued_job(app: Flask) -> None:
    job_id = make_job()
    client = signed_in(app)
    confirm = client.get(f"/jobs/{job_id}/cancel")
    assert confirm.status_code == 200
    assert f"Yes, cancel job {job_id}" in text(confirm)
    assert 'name="changeStamp" value="0"' in text(confirm)
    assert job_row(job_id).job_state == JobState.QUEUED  # a GET changes nothing
    form = {"changeStamp": "0"}
    assert client.post(f"/jobs/{job_id}/cancel", data=form).status_code == 400
    bad = {**form, "csrf_token": "wrong"}
    assert client.post(f"/jobs/{job_id}/cancel", data=bad).status_code == 400
    assert job_row(job_id).job_state == JobState.QUEUED
    response = client.post(f"/jobs/{job_id}/cancel", data={**form, "csrf_token": csrf_of(client)})
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job_id}"
    assert job_row(job_id).job_state == JobState.CANCELLED
    page = text(client.get(f"/jobs/{job_id}"))
    assert f"Job {job_id} cancelled." in page and "Delete job" in page
    done = make_job(state=JobState.SUCCEEDED)
    again = client.post(
        f"/jobs/{done}/cancel", data={"changeStamp": "0", "csrf_token": csrf_of(client)}
    )
    assert again.status_code == 303
    assert "only a Queued or Processing job can be cancelled" in text(client.get(f"/jobs/{done}"))
    assert job_row(done).job_state == JobState.SUCCEEDED
    assert "nothing to cancel" in text(client.get(f"/jobs/{job_id}/cancel"))


def test_cancel_of_a_processing_job_waits_for_its_chunk(app: Flask) -> None:
    job_id = make_job(state=JobState.PROCESSING)
    client = signed_in(app)
    client.post(f"/jobs/{job_id}/cancel", data={"changeStamp": "0", "csrf_token": csrf_of(client)})
    job = job_row(job_id)
    assert job.cancel_requested and job.job_state == JobState.PROCESSING
    assert "stops after the records it is working on" in text(client.get(f"/jobs/{job_id}"))


def test_cancel_with_a_stale_change_stamp_changes_nothing(app: Flask) -> None:
    job_id = make_job()
    client = signed_in(app)
    client.post(f"/jobs/{job_id}/cancel", data={"changeStamp": "7", "csrf_token": csrf_of(client)})
    assert job_row(job_id).job_state == JobState.QUEUED
    assert "changeStamp 7 is stale" in text(client.get(f"/jobs/{job_id}"))


def test_delete_asks_first_and_refuses_an_active_job(app: Flask) -> None:
    active = make_job(state=JobState.PROCESSING)
    done = make_job(state=JobState.SUCCEEDED)
    client = signed_in(app)
    assert "cancel it before deleting it" in text(client.get(f"/jobs/{active}/delete"))
    response = client.post(f"/jobs/{active}/delete", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert "cancel it before deleting it" in text(client.get(f"/jobs/{active}"))
    assert job_row(active) is not None
    confirm = text(client.get(f"/jobs/{done}/delete"))
    assert f"Yes, delete job {done}" in confirm
    assert client.post(f"/jobs/{done}/delete").status_code == 400
    assert job_row(done) is not None
    response = client.post(f"/jobs/{done}/delete", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert job_row(done) is None
    assert f"Job {done} deleted." in text(client.get("/"))
    assert (
        client.post(f"/jobs/{done}/delete", data={"csrf_token": csrf_of(client)}).status_code == 404
    )


# --- the template page -------------------------------------------------------------------------


def test_template_page_filters_counts_and_downloads(app: Flask) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 5000, "CUCM_PG_1")
        factories.peripheral(conn, 5001, "CUCM_PG_2")
        factories.team(conn, 12, 5000, "Sales North")
        factories.team(conn, 13, 5001, "Support East")
        factories.agents(conn, ["a1", "a2"], team_id=12)
        factories.agents(conn, ["b1"], peripheral_id=5001, team_id=13)
        factories.agent(conn, "done", sso=True)
    client = signed_in(app, "viewer")
    page = text(client.get("/templates"))
    assert '<option value="5001">CUCM_PG_2 (5001)</option>' in page
    assert '<optgroup label="CUCM_PG_1">' in page and "Sales North (12)" in page
    assert "<strong>3</strong>\nagents and supervisors are not on SSO yet in total." in page
    filtered = text(client.get("/templates?peripheralId=5000&agentTeamId=12"))
    assert '<option value="12" selected>' in filtered
    assert "<strong>2</strong> match these filters" in filtered
    download = client.get("/templates/ssomigration.csv?peripheralId=5000&agentTeamId=")
    assert download.headers["Content-Disposition"] == 'attachment; filename="ssomigration.csv"'
    assert text(download).splitlines() == [HEADER, "a1,First,Last,", "a2,First,Last,"]
    everything = text(client.get("/templates/ssomigration.csv"))
    assert len(everything.splitlines()) == 4
    assert client.get("/templates?peripheralId=abc").status_code == 400
    # The agent template: every agent (SSO or not) as an agent file, in pieces.
    assert "agents 1&ndash;4</a>" in page
    assert "agents 1&ndash;2</a>" in filtered
    agents = client.get("/templates/agent.csv?peripheralId=5000&agentTeamId=12&startIndex=1")
    assert agents.headers["Content-Disposition"] == 'attachment; filename="agent.csv"'
    lines = text(agents).splitlines()
    assert lines[0].startswith("operation,agentId,userName,")
    assert [line.split(",")[2] for line in lines[1:]] == ["a2"]
    # The skill group, call type and dialed number templates, in pieces.
    with db.write() as conn:
        factories.skill_group(conn, "SG_Page")
    page = text(client.get("/templates"))
    assert "skill groups 1&ndash;1</a>" in page and "call types 0&ndash;0</a>" in page
    groups = client.get("/templates/skillgroup.csv?startIndex=0")
    assert groups.headers["Content-Disposition"] == 'attachment; filename="skillgroup.csv"'
    assert text(groups).splitlines()[1].startswith("UPDATE,SG_Page,,")
    assert client.get("/templates/calltype.csv?startIndex=x").status_code == 400


# --- served locally, no inline script ----------------------------------------------------------


def test_pages_load_nothing_from_elsewhere_and_no_inline_script(app: Flask) -> None:
    job_id = make_job(state=JobState.PARTIAL, failed={2: "userName: nope"})
    with db.write() as conn:
        team = factories.team(conn, 12, 5000, "Sales North")
        agent = factories.agent(conn, "alice", team_id=team, supervisor=True)
        group = factories.skill_group(conn, "Voice")
        attribute = factories.attribute(conn, "Spanish")
        factories.member(conn, agent, group)
        factories.attribute_value(conn, agent, attribute, "7")
        factories.supervises(conn, agent, team)
        call_type = factories.call_type(conn, "Orders")
        number = factories.dialed_number(conn, "8005550100", call_type_id=call_type)
    client = signed_in(app)
    for path in (
        "/",
        "/jobs/new",
        f"/jobs/{job_id}",
        f"/jobs/{job_id}/delete",
        "/templates",
        "/directory",
        "/directory?kind=teams",
        "/directory?kind=skillgroups",
        "/directory?kind=attributes",
        f"/directory/agents/{agent}",
        f"/directory/teams/{team}",
        f"/directory/skillgroups/{group}",
        f"/directory/attributes/{attribute}",
        "/directory?kind=calltypes",
        "/directory?kind=dialednumbers",
        f"/directory/calltypes/{call_type}",
        f"/directory/dialednumbers/{number}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        page = text(response)
        assert "http://" not in page and "https://" not in page, path
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/console.js" defer>'], (
            path
        )
        assert " style=" not in page and "<style" not in page, path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), path  # no inline handlers
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for asset in ("console.js", "console.css", "favicon.svg"):
        with client.get(f"/static/{asset}") as response:
            assert response.status_code == 200
            body = text(response)
        if asset != "favicon.svg":  # (an SVG names its XML namespace by URL; nothing is fetched)
            assert "url(" not in body and "@import" not in body and "http" not in body, asset


def test_a_scim_bulk_job_page_offers_its_request_and_bulk_response(app: Flask) -> None:
    client = signed_in(app)
    with db.write() as conn:
        factories.peripheral(conn, 5000)
    request_body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "w@x.org"}}
        ],
    }
    made = app.test_client().post(
        "/scim/v2/Bulk",
        json=request_body,
        headers={**basic(), "Prefer": "respond-async"},
    )
    assert made.status_code == 202
    job_id = int(made.headers["Location"].rsplit("/", 1)[1])
    engine.run_job(db, app.config["SETTINGS"], job_id)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "100 — SCIM bulk request" in page
    assert "Download the BulkResponse" in page
    assert "Download the original CSV" not in page
    response = client.get(f"/jobs/{job_id}/response")
    assert response.mimetype == "application/scim+json"
    assert response.get_json(force=True)["Operations"][0]["status"] == "201"
    original = client.get(f"/jobs/{job_id}/csv")
    assert original.mimetype == "application/scim+json"
    assert original.get_json(force=True) == request_body
    # The upload form offers only the CSV job types.
    assert "SCIM bulk request" not in client.get("/jobs/new").get_data(as_text=True)


def test_a_dry_runs_plan_page(app: Flask) -> None:
    from app.jobs import engine

    with db.write() as conn:
        factories.agent(conn, "plan.one")
        dry = factories.stored_job(
            conn,
            factories.csv_text([["plan.one", "", "", "plan.one@idp"], ["plan.none", "", "", "x"]]),
            "wave 1",
            dry_run=True,
        )
    engine.run_job(db, app.config["SETTINGS"], dry)
    client = signed_in(app)
    assert 'id="plan-link"' in text(client.get(f"/jobs/{dry}"))
    page = text(client.get(f"/jobs/{dry}/plan"))
    update = f'<a href="/jobs/{dry}/plan?action=update">update</a>: <strong>1</strong>'
    assert update in page
    assert "<td>userName</td><td>plan.one</td><td>plan.one@idp</td>" in page
    assert "Run it for real…" in page
    failing = text(client.get(f"/jobs/{dry}/plan?action=fail"))
    assert 'data-action="fail"' in failing and "<td>userName</td>" not in failing
    download = client.get(f"/jobs/{dry}/plan.csv")
    assert text(download).splitlines()[0] == "lineNumber,action,object,field,before,after,error"
    assert client.get(f"/jobs/{dry}/plan?action=maybe").status_code == 400


def test_a_skill_group_jobs_revert_says_what_it_touches(app: Flask) -> None:
    from app.directory import skill_group_job
    from tests.directory.jobs import csv_line, run

    columns = skill_group_job.COLUMNS
    with db.write() as conn:
        factories.peripheral(conn, 5000)
    rows = [csv_line(columns, {"operation": "CREATE", "name": f"SG_R{n}"}) for n in range(2)]
    job_id = run(app, "\n".join([",".join(columns), *rows]) + "\n")
    page = text(signed_in(app).get(f"/jobs/{job_id}/revert"))
    assert "This touches <strong>2 skill groups</strong>" in page
