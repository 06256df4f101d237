"""The console's retry page (docs/console.md): the failed rows of a finished job, each cell
editable in the page, a password shown only as ~ and kept unless changed; then the retry job."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.db import db
from app.db.models import Agent, JobState, table
from app.jobs import engine, store
from tests import factories
from tests.console.test_pages import csrf_of, job_count, job_row, signed_in, text
from tests.directory.test_agent_job import agent_file, row, submitted

agents = table(Agent)


def failed_agent_job(app: Flask) -> int:
    """An agent job whose first row (a CREATE with a password) failed: its name was taken."""
    with db.write() as conn:
        factories.peripheral(conn, 5000)
        factories.agent(conn, "taken")
    job_id = submitted(
        app,
        agent_file(
            row(
                operation="CREATE",
                userName="taken",
                firstName="T",
                lastName="K",
                password="Pa55word",
            ),
            row(operation="CREATE", userName="other", firstName="O", lastName="T"),
        ),
    )
    assert engine.run_job(db, app.config["SETTINGS"], job_id).final_state == JobState.PARTIAL
    return job_id


def test_failed_cells_are_corrected_in_the_page_and_a_password_is_kept(app: Flask) -> None:
    job_id = failed_agent_job(app)
    client = signed_in(app)
    assert 'id="retry-link"' in text(client.get(f"/jobs/{job_id}"))

    form = text(client.get(f"/jobs/{job_id}/retry"))

    assert 'name="c2-2" value="taken"' in form  # line 2, userName
    assert 'name="c2-5" value="~"' in form  # the password, never shown
    assert "Pa55word" not in form and "{sealed}" not in form
    sent = {"csrf_token": csrf_of(client), "mode": "edit", "line": "2", "c2-5": "~"}
    cells = {f"c2-{i}": v for i, v in enumerate(["CREATE", "", "fresh", "T", "K"])}
    response = client.post(f"/jobs/{job_id}/retry", data={**sent, **cells})

    assert response.status_code == 303, text(response)
    again = int(response.headers["Location"].rsplit("/", 1)[1])
    assert job_row(again).retry_of == job_id and job_row(again).total_records == 1
    with db.read() as conn:
        assert b"Pa55word" not in store.job_file(conn, again)
    assert engine.run_job(db, app.config["SETTINGS"], again).final_state == JobState.SUCCEEDED
    with db.read() as conn:
        hashed = conn.execute(
            select(agents.c.password_hash).where(agents.c.user_name == "fresh")
        ).scalar_one()
    assert check_password_hash(hashed, "Pa55word")
    page = text(client.get(f"/jobs/{job_id}"))
    assert "Retried by" in page and 'id="retry-link"' not in page


def test_a_form_without_a_row_chosen_is_refused_on_the_page(app: Flask) -> None:
    job_id = failed_agent_job(app)
    client = signed_in(app)
    before = job_count()

    response = client.post(
        f"/jobs/{job_id}/retry", data={"csrf_token": csrf_of(client), "mode": "edit"}
    )

    assert response.status_code == 400
    assert "Choose at least one row to retry." in text(response)
    assert job_count() == before


def test_a_job_with_nothing_to_retry_says_so(app: Flask) -> None:
    with db.write() as conn:
        factories.agent(conn, "asmith")
        job_id = factories.stored_job(conn, factories.csv_text([["asmith", "", "", ""]]))
    engine.run_job(db, app.config["SETTINGS"], job_id)
    client = signed_in(app)

    page = text(client.get(f"/jobs/{job_id}/retry"))

    assert 'id="refusal"' in page and "there is nothing to retry" in page
    assert 'id="retry-link"' not in text(client.get(f"/jobs/{job_id}"))
