"""A dry run asked for in each create form; its representation and the jobs list's filter
(docs/concepts.md, "Dry run")."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import basic

JOBS = "/unifiedconfig/config/bulkjob"
JSON = {**basic(), "Accept": "application/json"}
GOOD = factories.csv_text([["asmith", "A", "S", "asmith@sso"]])


def job_id(response: object) -> int:
    assert response.status_code == 201, response.get_data(as_text=True)  # type: ignore[attr-defined]
    return int(response.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]


def test_every_create_form_can_ask_for_a_dry_run(client: FlaskClient) -> None:
    made = {
        "json": job_id(client.post(JOBS, json={"fileContent": GOOD, "dryRun": True}, headers=JSON)),
        "xml": job_id(
            client.post(
                JOBS,
                data=f"<bulkJob><fileContent>{GOOD}</fileContent><dryRun>true</dryRun></bulkJob>",
                headers={**basic(), "Content-Type": "application/xml"},
            )
        ),
        "multipart": job_id(
            client.post(
                JOBS,
                data={"file": (io.BytesIO(GOOD.encode()), "w.csv"), "dryRun": "true"},
                content_type="multipart/form-data",
                headers=basic(),
            )
        ),
        "raw": job_id(
            client.post(f"{JOBS}?dryRun=true", data=GOOD, content_type="text/csv", headers=basic())
        ),
        "real": job_id(client.post(JOBS, json={"fileContent": GOOD}, headers=JSON)),
        "false": job_id(
            client.post(JOBS, json={"fileContent": GOOD, "dryRun": False}, headers=JSON)
        ),
    }
    shown = {form: client.get(f"{JOBS}/{n}", headers=JSON).get_json() for form, n in made.items()}
    assert {form: job["dryRun"] for form, job in shown.items()} == {
        "json": True,
        "xml": True,
        "multipart": True,
        "raw": True,
        "real": False,
        "false": False,
    }
    assert all(type(job["dryRun"]) is bool for job in shown.values())  # true/false, not 1/0
    xml = client.get(f"{JOBS}/{made['raw']}", headers=basic()).get_data(as_text=True)
    assert "<dryRun>true</dryRun>" in xml
    assert "revertOf" not in xml and "revertedBy" not in xml

    listed = client.get(f"{JOBS}?q=dryRun:true", headers=JSON).get_json()["bulkJobs"]
    assert sorted(job["refURL"] for job in listed) == sorted(
        f"{JOBS}/{made[form]}" for form in ("json", "xml", "multipart", "raw")
    )
    real = client.get(f"{JOBS}?q=dryRun:false", headers=JSON).get_json()["bulkJobs"]
    assert len(real) == 2
    log = client.get(f"{JOBS}/{made['json']}/log", headers=basic()).get_data(as_text=True)
    assert log.splitlines()[1].endswith(" - Dry run: no changes will be made")


@pytest.mark.parametrize(
    ("form", "value"),
    [("json", "maybe"), ("multipart", "yes"), ("raw", "1"), ("query", "x")],
)
def test_a_bad_dry_run_value_is_refused_and_creates_nothing(
    client: FlaskClient, form: str, value: str
) -> None:
    if form == "json":
        response = client.post(JOBS, json={"fileContent": GOOD, "dryRun": value}, headers=JSON)
    elif form == "multipart":
        response = client.post(
            JOBS,
            data={"file": (io.BytesIO(GOOD.encode()), "w.csv"), "dryRun": value},
            content_type="multipart/form-data",
            headers=JSON,
        )
    elif form == "raw":
        response = client.post(
            f"{JOBS}?dryRun={value}", data=GOOD, content_type="text/csv", headers=JSON
        )
    else:
        response = client.get(f"{JOBS}?q=dryRun:{value}", headers=JSON)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["apiErrors"][0]
    assert error["errorData"] == ("q" if form == "query" else "dryRun")
    listed = client.get(JOBS, headers=JSON).get_json()
    assert listed["pageInfo"]["totalResults"] == 0
