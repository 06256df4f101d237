"""Retry and stop early (docs/concepts.md, "Retry" and "Stop early") through the API, the jobs
run by the engine directly, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.db import db
from app.db.models import Agent, Job, JobState, table
from app.jobs import downloads, engine, store
from tests import factories
from tests.conftest import PASSWORD, basic, migrated_app
from tests.directory.test_agent_job import agent_file, row

agents = table(Agent)
jobs = table(Job)
JOBS = "/unifiedconfig/config/bulkjob"
JSON = {**basic(), "Accept": "application/json"}


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    flask_app = migrated_app(tmp_path, url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
    yield flask_app
    db.dispose()


@pytest.fixture
def both(any_db: Flask) -> FlaskClient:
    """A client of the app on either database (what the unique retry_of and the line
    queries meet); the rest runs on SQLite only."""
    return any_db.test_client()


def created(response: Any) -> int:
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def create(client: FlaskClient, rows: list[list[str]], **extra: Any) -> int:
    body = {"fileContent": factories.csv_text(rows), "description": "wave 1", **extra}
    return created(client.post(JOBS, json=body, headers=basic()))


def run(app: Flask, job_id: int) -> int | None:
    return engine.run_job(db, app.config["SETTINGS"].replace(chunk_size=2), job_id).final_state


def get(client: FlaskClient, job_id: int) -> dict[str, Any]:
    return client.get(f"{JOBS}/{job_id}", headers=JSON).get_json()  # type: ignore[no-any-return]


def retry(client: FlaskClient, job_id: int, **kwargs: Any) -> Any:
    return client.post(f"{JOBS}/{job_id}/retry", headers=JSON, **kwargs)


def results(job_id: int) -> list[dict[str, str]]:
    text = b"".join(downloads.results(db.engine, job_id).body).decode()
    return list(csv.DictReader(io.StringIO(text)))


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())


def refused(response: Any, status: int, error_type: str, words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["apiErrors"][0]
    assert error["errorType"] == error_type
    assert words in error["errorMessage"], error["errorMessage"]


WAVE = [
    ["amy", "A", "Y", "amy@sso"],
    ["bob", "B", "O", "bob@sso"],
    ["cal", "C", "L", "cal@sso"],
    ["dan", "D", "N", "dan@sso"],
]


def test_a_retry_runs_the_failed_lines_again_on_their_line_numbers(
    any_db: Flask, both: FlaskClient
) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "cal"])
    original = create(both, WAVE)
    assert run(any_db, original) == JobState.PARTIAL
    with db.write() as conn:  # the directory is put right: bob and dan now exist
        factories.agents(conn, ["bob", "dan"])

    again = created(retry(both, original))

    job = get(both, again)
    assert job["retryOf"] == {"refURL": f"{JOBS}/{original}"}
    assert get(both, original)["retriedBy"] == {"refURL": f"{JOBS}/{again}"}
    assert job["description"] == f"Retry of job {original}: wave 1"
    assert (job["jobType"], job["totalRecords"], job["dryRun"]) == (5, 2, False)
    assert run(any_db, again) == JobState.SUCCEEDED
    assert [(r["userName"], r["lineNumber"], r["outcome"]) for r in results(again)] == [
        ("bob", "3", "updated"),
        ("dan", "5", "updated"),
    ]
    text = b"".join(downloads.log(db.engine, again).body).decode()
    assert f"Retry of job {original}: each line keeps the number it had in job {original}" in text
    assert "Processing line 5: userName=dan, newUserName=dan@sso" in text


def test_a_corrected_file_replaces_the_cells_of_the_lines_it_names(
    any_db: Flask, both: FlaskClient
) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob", "cal"])
    original = create(
        both, [["amy", "", "", "bad name"], ["bob", "", "", "b@"], ["cal", "", "", "x y"]]
    )
    assert run(any_db, original) == JobState.PARTIAL
    # The failed rows download, corrected: its error column may stay.
    failed = b"".join(downloads.failed(db.engine, original).body).decode()
    fixed = failed.replace("amy,,,bad name", "amy,,,amy@sso").replace("cal,,,x y", "cal,,,c@sso")

    again = created(retry(both, original, json={"fileContent": fixed}))

    assert run(any_db, again) == JobState.SUCCEEDED
    assert [(r["newUserName"], r["lineNumber"]) for r in results(again)] == [
        ("amy@sso", "2"),
        ("c@sso", "4"),
    ]


def test_a_corrected_file_may_name_some_lines_and_come_as_csv_or_multipart(
    app: Flask, client: FlaskClient
) -> None:
    first = create(client, WAVE)
    second = create(client, WAVE)
    for job_id in (first, second):
        assert run(app, job_id) == JobState.FAILED
    corrected = "lineNumber,userName,firstName,lastName,newUserName\n4,cal,C,L,cal2@sso\n"

    raw = client.post(
        f"{JOBS}/{first}/retry?description=only+cal",
        data=corrected,
        headers={**basic(), "Content-Type": "text/csv"},
    )
    form = client.post(
        f"{JOBS}/{second}/retry",
        data={"file": (io.BytesIO(corrected.encode()), "fixed.csv"), "description": "form"},
        headers=basic(),
    )

    for response, description in ((raw, "only cal"), (form, "form")):
        job = get(client, created(response))
        assert (job["description"], job["totalRecords"]) == (description, 1)
        assert run(app, int(job["refURL"].rsplit("/", 1)[1])) == JobState.FAILED
        assert [r["lineNumber"] for r in results(int(job["refURL"].rsplit("/", 1)[1]))] == ["4"]


def test_a_cancelled_jobs_unprocessed_lines_are_retried(client: FlaskClient) -> None:
    original = create(client, WAVE[:2])
    cancel = {"changeStamp": 0, "jobState": 5}
    assert client.put(f"{JOBS}/{original}", json=cancel, headers=basic()).status_code == 200

    again = created(retry(client, original))

    assert get(client, again)["totalRecords"] == 2


def test_a_dry_runs_retry_is_a_dry_run_and_keeps_stop_after_failures(
    app: Flask, client: FlaskClient
) -> None:
    original = create(client, WAVE, dryRun=True, stopAfterFailures=3)
    assert run(app, original) == JobState.FAILED

    job = get(client, created(retry(client, original)))

    assert (job["dryRun"], job["stopAfterFailures"]) == (True, 3)


def test_what_cannot_be_retried_is_refused_and_nothing_is_created(
    any_db: Flask, both: FlaskClient
) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy"])
    running = create(both, WAVE)
    done = create(both, WAVE[:1])
    assert run(any_db, done) == JobState.SUCCEEDED
    with db.write() as conn:  # running: claimed by a worker
        conn.execute(jobs.update().where(jobs.c.id == running).values(job_state=2))
    before = job_count()

    refused(retry(both, running), 409, "jobActive", "only a finished job can be retried")
    refused(retry(both, done), 409, "conflict", "there is nothing to retry")
    refused(retry(both, 999), 404, "notFound", "does not exist")
    assert job_count() == before


def test_a_retried_job_is_refused_a_second_retry(any_db: Flask, both: FlaskClient) -> None:
    original = create(both, WAVE)
    assert run(any_db, original) == JobState.FAILED
    again = created(retry(both, original))

    refused(retry(both, original), 409, "conflict", f"already retried by job {again} (Queued)")
    assert run(any_db, again) == JobState.FAILED
    with db.write() as conn:
        store.delete_job(conn, again)
    assert retry(both, original).status_code == 201  # deleting the retry allows another


HEADER = "lineNumber,userName,firstName,lastName,newUserName\n"
NOT_RETRYABLE = [
    ("userName,firstName,lastName,newUserName\namy,,,a\n", "columns and lineNumber"),
    (HEADER + "2,amy,,,a\n", "Line 2: lineNumber '2' is not a failed or unprocessed line"),
    (HEADER + "9,x,,,a\n", "Line 2: lineNumber '9'"),
    (HEADER + "three,x,,,a\n", "Line 2: lineNumber 'three'"),
    (HEADER + "3,b,,,a\n\n3,b,,,c\n", "Line 4: lineNumber 3 is named twice (first on line 2)"),
    (HEADER, "no lines"),
]


def test_a_corrected_file_that_names_other_lines_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy"])
    original = create(client, WAVE[:2])  # line 2 succeeds, line 3 fails
    assert run(app, original) == JobState.PARTIAL
    before = job_count()

    as_viewer = client.post(f"{JOBS}/{original}/retry", headers=basic("viewer"))
    assert as_viewer.status_code == 403  # only admin retries
    for corrected, words in NOT_RETRYABLE:
        kind = "fieldRequired" if words == "no lines" else "invalidValue"
        response = retry(client, original, json={"fileContent": corrected})
        refused(response, 400, f"invalidInput.{kind}", words)

    assert job_count() == before


def test_stop_after_failures_in_every_form_of_create(client: FlaskClient) -> None:
    text = factories.csv_text(WAVE)
    by_json = create(client, WAVE, stopAfterFailures=10)
    by_form = created(
        client.post(
            JOBS,
            data={"file": (io.BytesIO(text.encode()), "w.csv"), "stopAfterFailures": "11"},
            headers=basic(),
        )
    )
    by_csv = created(
        client.post(
            f"{JOBS}?stopAfterFailures=12",
            data=text,
            headers={**basic(), "Content-Type": "text/csv"},
        )
    )
    xml = (
        "<bulkJob><fileContent>" + text + "</fileContent>"
        "<stopAfterFailures>13</stopAfterFailures></bulkJob>"
    )
    by_xml = created(
        client.post(JOBS, data=xml, headers={**basic(), "Content-Type": "application/xml"})
    )

    assert [get(client, j)["stopAfterFailures"] for j in (by_json, by_form, by_csv, by_xml)] == [
        10,
        11,
        12,
        13,
    ]
    assert "stopAfterFailures" not in get(client, create(client, WAVE))


def test_a_stop_after_failures_the_service_would_not_take_is_refused(client: FlaskClient) -> None:
    before = job_count()
    body = {"fileContent": factories.csv_text(WAVE)}

    zero = client.post(JOBS, json={**body, "stopAfterFailures": 0}, headers=JSON)
    word = client.post(
        f"{JOBS}?stopAfterFailures=some",
        data=body["fileContent"],
        headers={**JSON, "Content-Type": "text/csv"},
    )

    refused(zero, 400, "invalidInput.outOfRange", "stopAfterFailures must be between 1 and")
    refused(word, 400, "invalidInput.invalidValue", "stopAfterFailures must be a whole number")
    assert job_count() == before


def test_an_agent_retry_keeps_the_sealed_password_a_corrected_cell_leaves_as_shown(
    app: Flask, client: FlaskClient
) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        factories.agent(conn, "taken")
    original = created(
        client.post(
            JOBS,
            json={
                "fileContent": agent_file(
                    row(
                        operation="CREATE",
                        userName="taken",
                        firstName="T",
                        lastName="K",
                        password="Pa55word",
                    ),
                    row(
                        operation="CREATE",
                        userName="other",
                        firstName="O",
                        lastName="T",
                        password="0therPass",
                    ),
                )
            },
            headers=basic(),
        )
    )
    assert run(app, original) == JobState.PARTIAL
    failed = b"".join(downloads.failed(db.engine, original).body).decode()
    assert ",taken,T,K,~," in failed  # the download never shows the password

    fixed = failed.replace(",taken,T,K,~,", ",fresh,T,K,~,")
    again = created(retry(client, original, json={"fileContent": fixed}))

    with db.read() as conn:
        stored = store.job_file(conn, again)
    assert b"Pa55word" not in stored and stored.count(b"{sealed}") == 1
    assert run(app, again) == JobState.SUCCEEDED
    with db.read() as conn:
        hashed = conn.execute(
            select(agents.c.password_hash).where(agents.c.user_name == "fresh")
        ).scalar_one()
    assert check_password_hash(hashed, "Pa55word")
