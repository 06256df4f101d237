"""The console's "Migration" page (SSO progress as bars) and a job's failures grouped by
reason, each group a link to its rows."""

from __future__ import annotations

import re

from flask import Flask

from app.db import db
from app.db.models import JobState
from tests import factories
from tests.console.test_pages import make_job, signed_in, text

REASON_DOES_NOT_EXIST = "userName: The specified agent userName does not exist"
REASON_ALREADY_SSO = "userName: The specified agent userName is already enabled for SSO"


def directory() -> None:
    """Peripheral 5000 with teams 1 and 2, peripheral 6000 with no team."""
    with db.write() as conn:
        factories.team(conn, 1, 5000, "Billing")
        factories.team(conn, 2, 5000, "Sales")
        factories.agents(conn, ["b1", "b2", "b3"], team_id=1)
        factories.agents(conn, ["b4"], team_id=1, sso=True)
        factories.agent(conn, "bsup", team_id=1, supervisor=True, sso=True)
        factories.agents(conn, ["s1", "s2"], team_id=2, sso=True)
        factories.agent(conn, "ssup", team_id=2, supervisor=True)
        factories.agents(conn, ["o1", "o2"], peripheral_id=6000)


def row_of(page: str, group: str) -> str:
    match = re.search(rf'<tr data-group="{re.escape(group)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {group}"
    return match.group(1)


def cell(row: str, kind: str) -> tuple[int, int]:
    match = re.search(rf'data-kind="{kind}" data-sso="(\d+)" data-total="(\d+)"', row)
    assert match, row
    return int(match.group(1)), int(match.group(2))


def test_migration_page_counts_the_directory_peripherals_and_teams(app: Flask) -> None:
    directory()
    page = text(signed_in(app, "viewer").get("/migration"))
    whole = row_of(page, "All agents and supervisors")
    assert (cell(whole, "agents"), cell(whole, "supervisors")) == ((3, 8), (1, 2))
    assert 'data-kind="not-sso">6<' in whole
    first = row_of(page, "CUCM_PG_1 (5000)")
    assert (cell(first, "agents"), cell(first, "supervisors")) == ((3, 6), (1, 2))
    assert "Peripheral CUCM_PG_1 (6000)" in page
    billing = row_of(page, "Billing (1)")
    assert (cell(billing, "agents"), cell(billing, "supervisors")) == ((1, 4), (1, 1))
    sales = row_of(page, "Sales (2)")
    assert (cell(sales, "agents"), cell(sales, "supervisors")) == ((2, 2), (0, 1))
    no_team = row_of(page, "No team")
    assert cell(no_team, "agents") == (0, 2)
    assert '<progress class="sso-bar" max="8" value="3"' in whole
    assert 'href="/static/' in page and "https://" not in page  # served from here, no CDN
    assert 'aria-current="page">Migration<' in page


def test_migration_page_of_an_empty_directory(app: Flask) -> None:
    page = text(signed_in(app).get("/migration"))
    assert "The directory has no agents yet." in page


def test_supervisors_role_cannot_see_it(app: Flask) -> None:
    assert signed_in(app, "super").get("/migration").status_code == 403


def test_failures_grouped_by_reason_biggest_first_each_a_link(app: Flask) -> None:
    failed = {n: f"{REASON_DOES_NOT_EXIST}: ghost{n}" for n in range(2, 5)}
    failed[5] = f"{REASON_ALREADY_SSO}: done5"
    failed[6] = "userName: userName is required"
    rows = [[f"u{n}", "", "", ""] for n in range(2, 8)]
    job_id = make_job(rows, state=JobState.PARTIAL, failed=failed)
    client = signed_in(app)
    page = text(client.get(f"/jobs/{job_id}"))
    groups = re.findall(r'<li data-reason="([^"]+)" data-count="(\d+)">', page)
    assert groups == [
        (REASON_DOES_NOT_EXIST, "3"),
        (REASON_ALREADY_SSO, "1"),
        ("userName: userName is required", "1"),
    ]
    link = re.search(r'<li data-reason="[^"]+" data-count="3">.*?href="([^"]+)"', page, re.S)
    assert link is not None
    only = text(client.get(link.group(1).replace("&amp;", "&")))
    lines = re.findall(r'<td class="num">(\d+)</td>', only)
    assert lines == ["2", "3", "4"]
    assert "ghost2" in only and "done5" not in only
    assert "Show every failed row" in only
    assert "(5, ready to fix and upload again)" in only  # the download holds every failed row
    everything = re.findall(r'<td class="num">(\d+)</td>', page)
    assert everything == ["2", "3", "4", "5", "6"]


def test_a_job_without_failures_lists_no_reasons(app: Flask) -> None:
    job_id = make_job(state=JobState.SUCCEEDED)
    assert 'id="reasons"' not in text(signed_in(app).get(f"/jobs/{job_id}"))
