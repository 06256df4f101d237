"""Reverts (docs/concepts.md, "Revert"): the API's refusals and the revert job, run by the engine directly,
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.db import db
from app.db.models import Agent, Job, JobLine, JobState, table
from app.jobs import downloads, engine
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app

agents = table(Agent)
jobs = table(Job)
lines = table(JobLine)
JOBS = "/unifiedconfig/config/bulkjob"
JSON = {**basic(), "Accept": "application/json"}


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.user(conn, "viewer", "viewer", PASSWORD)
    yield flask_app
    db.dispose()


def create(client: FlaskClient, rows: list[list[str]], **extra: Any) -> int:
    body = {"fileContent": factories.csv_text(rows), "description": "wave 1", **extra}
    response = client.post(JOBS, json=body, headers=basic())
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def run(app: Flask, job_id: int) -> int | None:
    settings = app.config["SETTINGS"].replace(chunk_size=2)
    return engine.run_job(db, settings, job_id).final_state


def revert(client: FlaskClient, job_id: int, **kwargs: Any) -> Any:
    return client.post(f"{JOBS}/{job_id}/revert", headers=JSON, **kwargs)


def get(client: FlaskClient, job_id: int) -> dict[str, Any]:
    return client.get(f"{JOBS}/{job_id}", headers=JSON).get_json()  # type: ignore[no-any-return]


def state(agent_id: int) -> tuple[str, bool, int]:
    with db.read() as conn:
        row = conn.execute(select(agents).where(agents.c.id == agent_id)).one()
    return row.user_name, row.sso_enabled, row.change_stamp


def log_of(job_id: int) -> list[str]:
    text = b"".join(downloads.log(db.engine, job_id).body).decode()
    return [line.split(" - ", 1)[1] for line in text.splitlines()]


def test_a_revert_puts_back_what_the_job_changed_last_first(any_db: Flask) -> None:
    with db.write() as conn:
        amy, cal, dan = factories.agents(conn, ["amy", "cal", "dan"])
    client = any_db.test_client()
    # Line 3 takes the name line 2 freed: the revert must give it up before giving it back.
    job = create(
        client, [["amy", "", "", "amy@sso"], ["cal", "", "", "amy"], ["dan", "", "", "Dan"]]
    )
    assert run(any_db, job) == JobState.SUCCEEDED
    assert state(cal) == ("amy", True, 1)

    response = revert(client, job)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.data == b""
    undo = int(response.headers["Location"].rsplit("/", 1)[1])
    assert response.headers["Location"] == f"http://localhost{JOBS}/{undo}"
    shown = get(client, undo)
    assert shown["revertOf"] == {"refURL": f"{JOBS}/{job}"}
    assert shown["description"] == f"Revert of job {job}: wave 1"
    assert (shown["jobState"], shown["totalRecords"], shown["dryRun"]) == (1, 3, False)
    assert get(client, job)["revertedBy"] == {"refURL": f"{JOBS}/{undo}"}
    xml = client.get(f"{JOBS}/{undo}", headers=basic()).get_data(as_text=True)
    assert f"<revertOf><refURL>{JOBS}/{job}</refURL></revertOf>" in xml
    assert "<dryRun>false</dryRun>" in xml

    assert run(any_db, undo) == JobState.SUCCEEDED
    assert [state(a) for a in (amy, cal, dan)] == [
        ("amy", False, 2),
        ("cal", False, 2),
        ("dan", False, 2),
    ]
    assert log_of(undo)[2:5] == [
        "Processing line 1: Header",
        f"Processing line 2: agentId={dan}, userName=Dan, previousUserName=dan",
        f"Reverted /unifiedconfig/config/agent/{dan}",
    ]


def test_an_agent_changed_since_the_job_fails_its_line(any_db: Flask) -> None:
    with db.write() as conn:
        amy, bob, cal = factories.agents(conn, ["amy", "bob", "cal"])
    client = any_db.test_client()
    job = create(
        client, [["amy", "", "", "amy@sso"], ["bob", "", "", "bob@sso"], ["cal", "", "", "c@s"]]
    )
    run(any_db, job)
    with db.write() as conn:
        # amy edited since (a SCIM PUT moves the change stamp); bob's old name taken by another.
        conn.execute(update(agents).where(agents.c.id == amy).values(change_stamp=7))
        factories.agent(conn, "BOB")
    undo = int(revert(client, job).headers["Location"].rsplit("/", 1)[1])

    assert run(any_db, undo) == JobState.PARTIAL
    assert state(amy) == ("amy@sso", True, 7)
    assert state(bob) == ("bob@sso", True, 1)
    assert state(cal) == ("cal", False, 2)
    failed = b"".join(downloads.failed(db.engine, undo).body).decode().splitlines()
    assert failed[0] == "agentId,userName,previousUserName,changeStamp,lineNumber,error"
    assert failed[1].startswith(
        f"{bob},bob@sso,bob,1,3,previousUserName: changed since job {job}: the previous user "
        "name bob is now held by /unifiedconfig/config/agent/"
    )
    assert failed[2] == (
        f"{amy},amy@sso,amy,1,4,userName: changed since job {job}: its changeStamp is 7 "
        "(the job left 1)"
    )


def refusal(client: FlaskClient, job_id: int) -> tuple[int, dict[str, Any]]:
    response = revert(client, job_id)
    return response.status_code, response.get_json()["apiErrors"][0]


def test_what_cannot_be_reverted_is_refused_and_nothing_is_created(any_db: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob", "old"])
    client = any_db.test_client()
    dry = create(client, [["amy", "", "", "a@s"]], dryRun=True)
    nothing = create(client, [["ghost", "", "", ""]])
    queued = create(client, [["amy", "", "", "a@s"]])
    assert refusal(client, queued)[0] == 409
    for job in (dry, nothing, queued):
        run(any_db, job)
    old = create(client, [["old", "", "", "o@s"]])
    run(any_db, old)
    with db.write() as conn:  # as a job run before lines recorded their changes
        conn.execute(update(lines).where(lines.c.job_id == old).values(detail=None))
    count = len(client.get(JOBS, headers=JSON).get_json()["bulkJobs"])

    assert refusal(client, dry) == (
        400,
        {
            "errorType": "invalidInput.invalidValue",
            "errorData": str(dry),
            "errorMessage": f"Job {dry} is a dry run: it changed nothing",
        },
    )
    assert refusal(client, nothing)[0] == 400
    assert "nothing to revert" in refusal(client, nothing)[1]["errorMessage"]
    status, error = refusal(client, old)
    assert (status, error["errorType"]) == (409, "conflict")
    assert "ran before jobs recorded what they changed" in error["errorMessage"]
    assert revert(client, 999).status_code == 404
    assert client.post(f"{JOBS}/{queued}/revert", headers=basic("viewer")).status_code == 403
    assert len(client.get(JOBS, headers=JSON).get_json()["bulkJobs"]) == count

    undo = int(revert(client, queued).headers["Location"].rsplit("/", 1)[1])
    status, error = refusal(client, queued)
    assert (status, error["errorData"]) == (409, str(undo))
    assert error["errorMessage"] == f"Job {queued} is already reverted by job {undo} (Queued)"
    status, error = refusal(client, undo)
    assert status == 400
    assert error["errorMessage"].endswith(
        "only SSO migration, Agent, Call Type, Skill Group and Dialed Number jobs can be reverted"
    )


def test_a_revert_takes_a_description_in_json_or_xml(any_db: Flask) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob"])
    client = any_db.test_client()
    first = create(client, [["amy", "", "", "a@s"]])
    second = create(client, [["bob", "", "", "b@s"]])
    run(any_db, first)
    run(any_db, second)
    count = len(client.get(JOBS, headers=JSON).get_json()["bulkJobs"])
    bad = revert(client, first, json={"description": "x" * 256})
    assert bad.status_code == 400
    assert bad.get_json()["apiErrors"][0]["errorData"] == "description"
    assert len(client.get(JOBS, headers=JSON).get_json()["bulkJobs"]) == count
    response = revert(client, first, json={"description": "undo wave 1"})
    assert response.status_code == 201, response.get_data(as_text=True)
    xml = "<bulkJob><description>undo wave 2</description></bulkJob>"
    response = client.post(
        f"{JOBS}/{second}/revert",
        data=xml,
        headers={**basic(), "Content-Type": "application/xml"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    listed = client.get(f"{JOBS}?q=undo", headers=JSON).get_json()["bulkJobs"]
    assert sorted(job["description"] for job in listed) == ["undo wave 1", "undo wave 2"]


def test_of_two_reverts_at_once_one_is_created_and_the_other_refused(any_db: Flask) -> None:
    """Both requests may pass the checks before either commits: the unique ``revert_of``
    decides, and the loser gets the same 409 as a later request."""
    names = [f"agent{i}" for i in range(6)]
    with db.write() as conn:
        factories.agents(conn, names)
    client = any_db.test_client()
    originals = [create(client, [[name, "", "", f"{name}@sso"]]) for name in names]
    for job in originals:
        run(any_db, job)
    for job in originals:
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def race(
            job: int = job, barrier: threading.Barrier = barrier, answers: list[int] = answers
        ) -> None:
            mine = any_db.test_client()
            barrier.wait()
            answers.append(revert(mine, job).status_code)

        threads = [threading.Thread(target=race) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [201, 409]
        with db.read() as conn:
            reverts = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.revert_of == job)
            ).scalar_one()
        assert reverts == 1
