"""The console in a real browser: Debian's headless Chromium driven by Playwright, against a real
HTTP server and a real Celery worker (SQLite and the embedded filesystem broker).

Screenshots of every page land in ``artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from app.db import db
from app.db import migrate as schema
from app.db.models import Job, table
from tests import factories
from tests.conftest import PASSWORD, overrides_for, services_unavailable
from tests.live import ROOT, Worker

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 30_000
HEADER = ["userName", "firstName", "lastName", "newUserName"]
KOLKATA = ZoneInfo("Asia/Kolkata")  # the browser's zone (see ``tab``)


@dataclass
class Stack:
    app: Flask
    base_url: str
    worker: Worker


@dataclass
class Tab:
    """A browser tab, with every request it made and every error its console printed."""

    page: Any
    base_url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def shot(self, name: str, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def sign_in(self, user: str = "admin", password: str = PASSWORD) -> None:
        self.page.goto(self.url("/"))
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def mark(self) -> None:
        """Tag the document, so a later check can tell the page was never reloaded."""
        self.page.evaluate("window.__notReloaded = true")

    def not_reloaded(self) -> bool:
        return bool(self.page.evaluate("window.__notReloaded === true"))

    def check(self, expected_error: str | None = None) -> None:
        """No request left 127.0.0.1, and the console printed no error (CSP, script, ...)."""
        local = self.base_url + "/"
        strays = [url for url in self.requests if not url.startswith(local)]
        assert strays == [], f"requests left 127.0.0.1: {strays}"
        errors = [e for e in self.errors if expected_error is None or expected_error not in e]
        assert errors == [], f"errors in the browser console: {errors}"


def job_count() -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table(Job))).scalar_one())


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The web app on a real port in a thread, and one worker committing every record."""
    if not CHROMIUM.exists():
        services_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    tmp_path = tmp_path_factory.mktemp("browser")
    app = create_app(overrides={**overrides_for(tmp_path), "chunk_size": 1})
    schema.upgrade(app.config["SETTINGS"].database_url)
    with db.write() as conn:
        factories.user(conn, "admin", "admin", PASSWORD)
        factories.user(conn, "super", "supervisor", PASSWORD)
        factories.peripheral(conn, 5000, "CUCM_PG_1")
        factories.peripheral(conn, 5001, "CUCM_PG_2")
        for team_id, peripheral_id, name in (
            (12, 5000, "Sales North"),
            (13, 5000, "Support East"),
            (14, 5001, "Billing West"),
        ):
            factories.team(conn, team_id, peripheral_id, name)
        factories.agents(conn, [f"agent{i:03}" for i in range(240)], team_id=12)
        factories.agents(conn, [f"west{i:03}" for i in range(40)], peripheral_id=5001, team_id=14)
        factories.agents(conn, [f"done{i:03}" for i in range(20)], sso=True)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-http", daemon=True)
    thread.start()
    worker = Worker(app.config["SETTINGS"], "worker-1", tmp_path)
    try:
        worker.wait_ready()
        yield Stack(app, f"http://127.0.0.1:{server.server_port}", worker)
    finally:
        worker.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        db.dispose()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def javascript() -> bool:
    return True


@pytest.fixture
def tab(browser: Any, stack: Stack, javascript: bool) -> Iterator[Tab]:
    """A fresh browser profile (no cookies) on a laptop-sized screen, in a non-UTC time zone."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768},
        timezone_id="Asia/Kolkata",
        locale="en-GB",
        accept_downloads=True,
        java_script_enabled=javascript,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    result = Tab(page, stack.base_url)
    context.on("request", lambda request: result.requests.append(request.url))
    page.on("pageerror", lambda error: result.errors.append(str(error)))
    page.on(
        "console",
        lambda message: result.errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield result
    finally:
        context.close()


def test_sign_in_and_roles(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.url("/templates"))
    assert "/login?next=" in page.url
    tab.shot("01-login")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The user name or password is wrong.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(tab.url("/templates"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    tab.sign_in("super")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Not allowed")
    expect(page.locator("main")).to_contain_text("no access to bulk jobs or templates")
    tab.shot("09-supervisor-403")
    tab.check(expected_error="the server responded with a status of 403")


def test_template_upload_watch_it_finish_and_download_the_log(tab: Tab, stack: Stack) -> None:
    page = tab.page
    tab.sign_in()
    expect(page.get_by_role("heading", name="Bulk jobs")).to_be_visible()
    tab.shot("02-jobs-empty")

    page.get_by_role("link", name="Templates").click()
    expect(page.locator("#remaining")).to_contain_text("280")
    page.get_by_label("Peripheral").select_option("5000")
    page.get_by_label("Agent team").select_option("12")
    page.get_by_role("button", name="Count").click()
    expect(page.locator("#matching")).to_contain_text("240 match these filters")
    tab.shot("03-templates")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download template").click()
    template = Path(download_info.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(template)))
    assert rows[0] == HEADER and len(rows) == 241
    filled = [HEADER] + [[r[0], r[1], r[2], f"{r[0]}@sso.example.com"] for r in rows[1:]]
    filled += [["ghost1", "", "", ""], ["ghost2", "", "", "g@sso"]]

    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("link", name="New", exact=True).click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    tab.shot("04-new-job")
    page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": "wave1.csv", "mimeType": "text/csv", "buffer": to_csv(filled)}]
    )
    expect(page.locator("#file-chosen")).to_contain_text("Chosen: wave1.csv")
    page.get_by_label("Description").fill("Migration wave 1")
    page.get_by_role("button", name="Create job").click()

    expect(page).to_have_url(tab.url("/jobs/1"))
    expect(page.get_by_role("status")).to_contain_text("Job 1 created")
    tab.mark()
    badge = page.locator("#job-live [data-field='jobState']").first
    expect(badge).to_have_text("Partially succeeded")
    assert tab.not_reloaded(), "the page was reloaded to show the final state"
    expect(page.locator("#job-live [data-field='processedRecords']").first).to_have_text("242")
    expect(page.locator("dd[data-field='failedRecords']")).to_have_text("2")
    # The regions swapped in on finishing: the failed rows, and Delete instead of Cancel.
    expect(page.locator("table.failures tbody tr")).to_have_count(2)
    expect(page.locator("table.failures")).to_contain_text(
        "The specified agent userName does not exist: ghost1"
    )
    expect(page.get_by_role("link", name="Delete job…")).to_be_visible()
    # Times are in the browser's zone (India), the UTC text kept as the title.
    created = page.locator("[data-field='createDateTime'] time")
    assert "UTC" not in created.inner_text() and created.get_attribute("title").endswith("UTC")
    tab.shot("05-job-finished")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the log").click()
    log = Path(download_info.value.path()).read_text()
    assert "Job started on worker-1" in log
    assert log.count(" - Updated /unifiedconfig/config/agent/") == 240
    assert log.rstrip().endswith("242 lines processed, 240 succeeded, 2 failed")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the failed rows").click()
    failed = Path(download_info.value.path()).read_text().splitlines()
    assert failed[0] == "userName,firstName,lastName,newUserName,lineNumber,error"
    assert failed[1].startswith("ghost1,,,,242,")

    page.get_by_role("link", name="Jobs").click()
    expect(page.locator("tr[data-job-id='1'] [data-field='jobState']")).to_have_text(
        "Partially succeeded"
    )
    tab.shot("06-jobs-list")
    tab.check()


def test_a_bad_file_dropped_on_the_page_is_refused_inline(tab: Tab) -> None:
    page = tab.page
    tab.sign_in()
    before = job_count()
    page.goto(tab.url("/jobs/new"))
    bad = "userName,firstName,lastName,newUserName\nasmith,A,Smith,a@sso\nbjones,B\n"
    data_transfer = page.evaluate_handle(
        """(text) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], "bad.csv", {type: "text/csv"}));
            return dt;
        }""",
        bad,
    )
    page.dispatch_event("main", "dragover", {"dataTransfer": data_transfer})
    expect(page.locator("form[data-dropzone]")).to_have_class("card stack dragging")
    page.dispatch_event("main", "drop", {"dataTransfer": data_transfer})
    expect(page.locator("#file-chosen")).to_contain_text("Chosen: bad.csv")
    page.get_by_label("Description").fill("broken")
    page.get_by_role("button", name="Create job").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("no job was created")
    expect(alert).to_contain_text("Line 3: 2 fields where the header has 4.")
    expect(alert).to_contain_text("userName,firstName,lastName,newUserName")
    expect(page.get_by_label("Description")).to_have_value("broken")
    assert job_count() == before
    tab.shot("07-new-job-refused")
    tab.check(expected_error="the server responded with a status of 400")


def test_progress_moves_live_and_a_running_job_is_cancelled(tab: Tab) -> None:
    page = tab.page
    tab.sign_in()
    # 20,000 unknown users, one record a transaction: the job runs for a good while.
    rows = [HEADER] + [[f"nobody{i:05}", "", "", ""] for i in range(20_000)]
    page.goto(tab.url("/jobs/new"))
    # As a paste would: typing 360 kB key by key takes the browser far too long.
    page.get_by_label("paste its contents").evaluate(
        "(el, text) => { el.value = text; }", to_csv(rows).decode()
    )
    page.get_by_label("Description").fill("Long wave")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    job_id = page.url.rsplit("/", 1)[1]

    page.get_by_role("link", name="Jobs").click()
    tab.mark()
    row = f"tr[data-job-id='{job_id}']"
    page.wait_for_function(
        f'() => document.querySelector("{row} progress").value > 0', timeout=TIMEOUT_MS
    )
    first = page.eval_on_selector(f"{row} progress", "p => p.value")
    page.wait_for_function(
        f'() => document.querySelector("{row} progress").value > {first}', timeout=TIMEOUT_MS
    )
    expect(page.locator(f"{row} [data-field='jobState']")).to_have_text("Processing")
    assert tab.not_reloaded()
    tab.shot("06b-jobs-list-running")

    page.get_by_role("link", name="Long wave").click()
    tab.shot("05b-job-running", full_page=False)
    page.get_by_role("link", name="Cancel job…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Cancel job {job_id}?")
    tab.shot("08-confirm-cancel")
    page.get_by_role("button", name=f"Yes, cancel job {job_id}").click()
    expect(page).to_have_url(tab.url(f"/jobs/{job_id}"))
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Cancelled")
    processed = int(page.locator("dd[data-field='processedRecords']").inner_text().replace(",", ""))
    assert 0 < processed < 20_000
    expect(page.get_by_role("link", name="Delete job…")).to_be_visible()

    page.get_by_role("link", name="Delete job…").click()
    tab.shot("08b-confirm-delete")
    page.get_by_role("button", name=f"Yes, delete job {job_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} deleted.")
    expect(page.locator(f"tr[data-job-id='{job_id}']")).to_have_count(0)
    tab.check()


@pytest.mark.parametrize("javascript", [False])
def test_every_page_works_without_javascript(tab: Tab) -> None:
    page = tab.page
    tab.sign_in()
    page.get_by_role("link", name="New", exact=True).click()
    expect(page.get_by_text("drag a file anywhere")).to_be_hidden()
    page.get_by_label("paste its contents").fill(
        "userName,firstName,lastName,newUserName\nwest000,,,\n"
    )
    page.get_by_label("Description").fill("No script")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    job_id = page.url.rsplit("/", 1)[1]
    # Without the script the page shows UTC, and a reload shows progress.
    created = page.locator("[data-field='createDateTime'] time")
    assert created.inner_text().endswith(" UTC")
    for _ in range(300):
        if page.locator("#job-live").get_attribute("data-active") == "0":
            break
        page.wait_for_timeout(100)
        page.reload()
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    tab.shot("10-no-javascript-job")
    page.get_by_role("link", name="Delete job…").click()
    page.get_by_role("button", name=f"Yes, delete job {job_id}").click()
    expect(page.get_by_role("status")).to_have_text(f"Job {job_id} deleted.")
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("button", name="Count").click()
    expect(page.locator("#remaining")).to_be_visible()
    tab.check()


def test_a_dry_run_is_run_for_real_then_reverted(tab: Tab) -> None:
    """The two wave flows (docs/concepts.md, "Dry run" and "Revert"): the new-job form's dry-run checkbox, "Run it
    for real" on the finished dry run, and "Revert…" with its count of agents."""
    page = tab.page
    tab.sign_in()
    rows = [HEADER] + [[f"west{i:03}", "", "", f"west{i:03}@sso"] for i in range(30, 33)]
    page.goto(tab.url("/jobs/new"))
    page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": "west.csv", "mimeType": "text/csv", "buffer": to_csv(rows)}]
    )
    page.get_by_label("Description").fill("West wave")
    page.get_by_label("Dry run").check()
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    expect(page.locator("#dry-run")).to_contain_text("nothing was changed")
    tab.shot("20-dry-run-finished")

    before = job_count()
    page.get_by_role("link", name="Run it for real…").click()
    expect(page.get_by_role("heading", name="for real?")).to_be_visible()
    tab.shot("21-run-for-real-confirm")
    page.get_by_role("button", name="Yes, run it for real").click()
    expect(page.get_by_role("status")).to_contain_text("it changes the agents for real")
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    assert job_count() == before + 1
    real_url = page.url

    page.get_by_role("link", name="Revert…").click()
    expect(page.locator("#revert-count")).to_contain_text("3 agents")
    tab.shot("22-revert-confirm")
    page.get_by_role("button", name="Yes, revert job").click()
    expect(page.get_by_role("status")).to_contain_text("it reverts job")
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    page.goto(real_url)
    expect(page.get_by_role("link", name="Revert…")).to_have_count(0)
    expect(page.locator("dl.fields")).to_contain_text("Reverted by")
    tab.shot("23-reverted")


def test_a_plan_then_a_retry_corrected_in_the_page(tab: Tab) -> None:
    """A dry run's plan (docs/concepts.md, "Plan") with a near miss, run for real, then its
    failed row corrected in the retry page (docs/concepts.md, "Retry") and run again."""
    page = tab.page
    tab.sign_in()
    rows = [HEADER, ["west034", "", "", "west034@sso"], ["west35", "", "", "west035@sso"]]
    page.goto(tab.url("/jobs/new"))
    page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": "plan.csv", "mimeType": "text/csv", "buffer": to_csv(rows)}]
    )
    page.get_by_label("Description").fill("Planned wave")
    page.get_by_label("Dry run").check()
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text(
        "Partially succeeded"
    )
    page.get_by_role("link", name="See the plan").click()
    counts = page.locator("#plan-counts")
    expect(counts.locator("[data-action='update']")).to_contain_text("update: 1")
    expect(counts.locator("[data-action='fail']")).to_contain_text("fail: 1")
    lines = page.locator("#plan-lines")
    expect(lines).to_contain_text("west034@sso")
    expect(lines).to_contain_text("(did you mean west035")
    tab.shot("30-plan")
    page.get_by_role("link", name="fail", exact=True).click()
    expect(lines.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Run it for real…").click()
    page.get_by_role("button", name="Yes, run it for real").click()
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text(
        "Partially succeeded"
    )
    page.get_by_role("link", name="Retry failed rows…").click()
    page.get_by_label("Line 3, userName").fill("west035")
    tab.shot("31-retry-corrected-in-the-page")
    page.get_by_role("button", name="Create the retry job").click()
    expect(page.get_by_role("status")).to_contain_text("it retries rows of job")
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    expect(page.locator("dl.fields")).to_contain_text("Retries")
    tab.shot("32-retried")
    tab.check()


def test_where_the_migration_stands_and_failures_by_reason(tab: Tab) -> None:
    """The Migration page's bars for a peripheral and team of its own, a job with two kinds of
    failure grouped by reason (each group a link to its rows), then the bars moved on."""
    with db.write() as conn:
        factories.peripheral(conn, 7000, "CUCM_PG_7")
        factories.team(conn, 70, 7000, "Wave Team")
        factories.agents(conn, [f"wave{i}" for i in range(6)], peripheral_id=7000, team_id=70)
        factories.agent(conn, "wavesso", peripheral_id=7000, team_id=70, sso=True)
        factories.agent(conn, "wavesup", peripheral_id=7000, team_id=70, supervisor=True)
    page = tab.page
    tab.sign_in()
    page.get_by_role("link", name="Migration", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where the migration stands")
    team = page.locator("tr[data-group='Wave Team (70)']")
    agents_bar = team.locator("td[data-kind='agents'] progress")
    expect(agents_bar).to_be_visible()
    assert (agents_bar.get_attribute("value"), agents_bar.get_attribute("max")) == ("1", "7")
    expect(team.locator("td[data-kind='agents']")).to_contain_text("1 of 7 (14%)")
    expect(team.locator("td[data-kind='supervisors']")).to_contain_text("0 of 1 (0%)")
    expect(team.locator("td[data-kind='not-sso']")).to_have_text("7")
    assert agents_bar.bounding_box()["width"] > 50  # drawn as a bar, not collapsed
    tab.shot("11-migration")

    rows = [HEADER] + [[f"wave{i}", "", "", f"wave{i}@sso"] for i in range(3)]
    rows += [[f"ghost{c}", "", "", ""] for c in "abc"] + [["wavesso", "", "", ""]]
    page.goto(tab.url("/jobs/new"))
    page.get_by_label("paste its contents").fill(to_csv(rows).decode())
    page.get_by_label("Description").fill("Wave with failures")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text(
        "Partially succeeded"
    )
    groups = page.locator("#reasons li")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_contain_text("3")
    expect(groups.nth(0)).to_contain_text("userName does not exist")
    expect(groups.nth(1)).to_contain_text("already enabled for SSO")
    tab.shot("12-failures-by-reason")
    groups.nth(0).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Failed rows: userName:")).to_be_visible()
    failures = page.locator("table.failures tbody tr")
    expect(failures).to_have_count(3)
    for i in range(3):
        expect(failures.nth(i)).to_contain_text("does not exist: ghost")
    tab.shot("13-failed-rows-of-one-reason")
    page.get_by_role("link", name="Show every failed row").click()
    expect(failures).to_have_count(4)

    page.get_by_role("link", name="Migration", exact=True).click()
    expect(team.locator("td[data-kind='agents']")).to_contain_text("4 of 7 (57%)")
    tab.check()


def test_a_start_time_is_read_in_the_browsers_zone(tab: Tab) -> None:
    """The new-job form's date and time is the browser's (India, UTC+05:30), sent as ms."""
    local = (datetime.now(KOLKATA) + timedelta(days=2)).replace(
        hour=10, minute=30, second=0, microsecond=0
    )
    with db.write() as conn:
        factories.agent(conn, "tonight1")
    page = tab.page
    tab.sign_in()
    page.goto(tab.url("/jobs/new"))
    page.get_by_label("paste its contents").fill(
        to_csv([HEADER, ["tonight1", "", "", ""]]).decode()
    )
    page.get_by_label("Description").fill("Tonight's wave")
    page.get_by_label("Start at").fill(local.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Create job").click()
    utc = local.astimezone(UTC).isoformat(timespec="seconds")
    expect(page.get_by_role("status")).to_contain_text(f"created; it starts at {utc}")
    job_id = int(page.url.rsplit("/", 1)[1])
    with db.read() as conn:
        start_after = conn.execute(
            select(table(Job).c.start_after_ms).where(table(Job).c.id == job_id)
        ).scalar_one()
    assert start_after == int(local.timestamp() * 1000)
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Queued")
    expect(page.locator("dd [data-field='startAfter'] time")).to_contain_text("10:30")
    tab.shot("14-scheduled-job")
    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_role("status")).to_contain_text("starts as soon as a worker takes it")
    expect(page.locator("#job-live [data-field='jobState']").first).to_have_text("Succeeded")
    tab.check()


def test_look_up_an_agent_then_its_team_in_the_directory(tab: Tab) -> None:
    """The Directory: search for an agent, open it, then its team and the team's members."""
    page = tab.page
    tab.sign_in()
    page.get_by_role("link", name="Directory", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory")
    page.get_by_label("Search", exact=True).fill("agent007")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.directory tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sales North")
    tab.shot("30-directory-search")
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("agent007")
    tab.shot("31-directory-agent")
    page.locator("#agent-team").get_by_role("link", name="Sales North").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team Sales North")
    members = page.locator("#team-agents li")
    expect(members).to_have_count(240)
    expect(members.first).to_contain_text("agent000")
    tab.shot("32-directory-team")
    tab.check()
