"""The `bulkjob` command end to end: a real HTTP server, a real Celery worker, SQLite and the
embedded filesystem broker."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from app import create_app
from app.accounts import users
from app.cli import cli
from app.client import Client
from app.db import db
from app.db import migrate as schema
from tests import factories
from tests.conftest import PASSWORD, overrides_for
from tests.live import ROOT, Worker

pytestmark = pytest.mark.e2e

BULKJOB = str(Path(sys.executable).parent / "bulkjob")


class Stack:
    """The web app served over HTTP in this process, and a worker started when wanted."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.app: Flask = create_app(overrides={**overrides_for(tmp), "chunk_size": 50})
        schema.upgrade(self.app.config["SETTINGS"].database_url)
        with db.write() as conn:
            factories.user(conn, "admin", "admin", PASSWORD)
            self.token = users.create_token(conn, "admin")
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.worker: Worker | None = None
        self._names = 0

    def ensure_worker(self) -> Worker:
        if self.worker is None:
            # The worker logs JSON: its job events must carry the job id.
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("LOG_FORMAT", "json")
                self.worker = Worker(self.app.config["SETTINGS"], "cli-worker", self.tmp)
            self.worker.wait_ready()
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def agents(self, count: int) -> list[str]:
        """New agents, not yet on SSO; returns their user names."""
        names = [f"cli{self._names + i:04}" for i in range(count)]
        self._names += count
        with db.write() as conn:
            factories.agents(conn, names)
        return names

    def csv_file(self, rows: list[list[str]]) -> Path:
        self._names += 1
        path = self.tmp / f"upload{self._names}.csv"
        path.write_text(factories.csv_text(rows))
        return path

    def client(self) -> Client:
        return Client(self.url, self.token)

    def close(self) -> None:
        self.stop_worker()
        self.server.shutdown()
        self.server.server_close()
        db.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    live = Stack(tmp_path_factory.mktemp("cli"))
    yield live
    live.close()


def bulkjob(stack: Stack, *args: str, token: str | None = None, url: str | None = None) -> Result:
    """`bulkjob --url ... --token ... ARGS`, in this process."""
    base = ["--url", url or stack.url, "--token", token or stack.token]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def one_error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("bulkjob: error: ")
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_cancel_a_job_submitted_with_wait_while_no_worker_runs(stack: Stack) -> None:
    """The installed console script, waiting; `bulkjob cancel` from elsewhere; exit code 5."""
    stack.stop_worker()
    path = stack.csv_file([[name, "", "", ""] for name in stack.agents(3)])
    env = {**os.environ, "BULKJOB_URL": stack.url, "BULKJOB_TOKEN": stack.token}
    waiting = subprocess.Popen(
        [BULKJOB, "submit", str(path), "-d", "to cancel", "--wait", "--poll-interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        with stack.client() as api:
            while not (found := list(api.list_jobs(search="to cancel"))):
                assert time.monotonic() < deadline and waiting.poll() is None
                time.sleep(0.1)
        job_id = found[0].id
        cancelled = bulkjob(stack, "cancel", str(job_id))
        assert cancelled.exit_code == 0, cancelled.stderr
        assert f"Job {job_id} cancelled" in cancelled.stdout
        stdout, stderr = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 5, stderr
    assert stderr == ""  # stderr is not a terminal: no progress bar
    assert "Cancelled" in stdout


def submit_and_wait(stack: Stack, rows: list[list[str]], *extra: str) -> Result:
    path = stack.csv_file(rows)
    return bulkjob(stack, "submit", str(path), "--wait", "--poll-interval", "0.1", *extra)


def test_exit_codes_of_submit_wait(stack: Stack) -> None:
    worker = stack.ensure_worker()
    names = stack.agents(4)

    succeeded = submit_and_wait(stack, [[names[0], "", "", f"{names[0]}@sso"]], "--json")
    assert succeeded.exit_code == 0, succeeded.stderr
    job = json.loads(succeeded.stdout)
    assert (job["jobState"], job["succeededRecords"]) == (3, 1)
    assert succeeded.stderr == ""
    too_late = bulkjob(stack, "cancel", job["refURL"].rsplit("/", 1)[1])
    assert too_late.exit_code == 1
    assert "400 invalidInput.invalidValue: Job" in one_error_line(too_late)

    partial = submit_and_wait(stack, [[names[1], "", "", ""], ["ghost", "", "", ""]], "-d", "p")
    assert partial.exit_code == 6, partial.stderr
    assert "Partially succeeded" in partial.stdout
    assert "2 total, 2 processed, 1 succeeded, 1 failed" in partial.stdout

    failed = submit_and_wait(stack, [["ghost", "", "", ""]])
    assert failed.exit_code == 4, failed.stderr
    assert "Failed" in failed.stdout

    # The worker logs JSON with the job id on its job events.
    failed_id = int(failed.stdout.split()[1])
    events = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    finished = [e for e in events if e.get("job_id") == failed_id and "state" in e]
    assert finished and finished[-1]["state"] == 4 and finished[-1]["failed"] == 1


def test_a_progress_bar_when_stderr_is_a_terminal(stack: Stack) -> None:
    stack.ensure_worker()
    name = stack.agents(1)[0]
    path = stack.csv_file([[name, "", "", ""]])
    controller, terminal = pty.openpty()
    env = {**os.environ, "BULKJOB_URL": stack.url, "BULKJOB_TOKEN": stack.token}
    drawn = bytearray()

    def drain() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(controller, 4096):
                drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [BULKJOB, "submit", str(path), "--wait", "--poll-interval", "0.1", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
    reader.join(timeout=10)
    os.close(controller)
    assert done.returncode == 0
    job_id = json.loads(done.stdout)["refURL"].rsplit("/", 1)[1]
    bar = drawn.decode(errors="replace")
    assert f"job {job_id}" in bar and "Succeeded" in bar and "1/1" in bar


def test_status_log_csv_and_failed(stack: Stack, tmp_path: Path) -> None:
    stack.ensure_worker()
    names = stack.agents(1)
    rows = [[names[0], "", "", ""], ["ghost", "", "", ""]]
    submitted = submit_and_wait(stack, rows, "--json")
    job_id = int(json.loads(submitted.stdout)["refURL"].rsplit("/", 1)[1])

    status = bulkjob(stack, "status", str(job_id), "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout)["failedRecords"] == 1
    human = bulkjob(stack, "status", str(job_id))
    assert f"Job {job_id}" in human.stdout and "Partially succeeded" in human.stdout

    log = bulkjob(stack, "log", str(job_id))
    assert log.stdout.rstrip().endswith("2 lines processed, 1 succeeded, 1 failed")
    events = json.loads(bulkjob(stack, "log", str(job_id), "--json").stdout)
    assert events[0]["message"] == "Job created by admin on web-test"
    assert events[-1]["message"] == "2 lines processed, 1 succeeded, 1 failed"

    original = bulkjob(stack, "csv", str(job_id))
    assert original.stdout_bytes == factories.csv_text(rows).encode()
    failed_rows = json.loads(bulkjob(stack, "failed", str(job_id), "--json").stdout)
    assert [(r["userName"], r["lineNumber"]) for r in failed_rows] == [("ghost", "3")]
    target = tmp_path / "failed.csv"
    assert bulkjob(stack, "failed", str(job_id), "-o", str(target)).exit_code == 0
    assert target.read_text().startswith("userName,firstName,lastName,newUserName,lineNumber,error")


def test_list_iterates_pages_and_filters(stack: Stack) -> None:
    with stack.client() as api:
        total = api.page(0, 1).total
        failed_total = api.page(0, 1, q="jobState:4").total
    assert total >= 3

    listed = bulkjob(stack, "list", "--page-size", "1", "--json")
    assert listed.exit_code == 0
    jobs = json.loads(listed.stdout)
    assert len(jobs) == total
    assert len({job["refURL"] for job in jobs}) == total
    assert [j["createDateTime"] for j in jobs] == sorted(
        (j["createDateTime"] for j in jobs), reverse=True
    )

    only_failed = json.loads(bulkjob(stack, "list", "--state", "failed", "--json").stdout)
    assert len(only_failed) == failed_total and {j["jobState"] for j in only_failed} == {4}
    searched = json.loads(bulkjob(stack, "list", "--search", "TO CANCEL", "--json").stdout)
    assert [j["description"] for j in searched] == ["to cancel"]
    oldest = bulkjob(stack, "list", "--sort", "createDateTime asc", "--limit", "1", "--json")
    assert json.loads(oldest.stdout)[0]["description"] == "to cancel"
    table = bulkjob(stack, "list", "--state", "6")
    assert "Partially succeeded" in table.stdout

    bad = bulkjob(stack, "list", "--state", "sleeping")
    assert bad.exit_code == 2


def test_template_to_a_file(stack: Stack, tmp_path: Path) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 6001, "other")
        factories.agent(conn, "elsewhere", peripheral_id=6001)
    target = tmp_path / "sso.csv"
    result = bulkjob(stack, "template", "--peripheral", "6001", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text().splitlines() == [
        "userName,firstName,lastName,newUserName",
        "elsewhere,First,Last,",
    ]
    rows = json.loads(bulkjob(stack, "template", "--peripheral", "6001", "--json").stdout)
    assert rows == [
        {"userName": "elsewhere", "firstName": "First", "lastName": "Last", "newUserName": ""}
    ]


def test_results(stack: Stack) -> None:
    stack.ensure_worker()
    name = stack.agents(1)[0]
    done = json.loads(submit_and_wait(stack, [[name, "", "", f"{name}@sso"]], "--json").stdout)
    job_id = done["refURL"].rsplit("/", 1)[1]
    rows = json.loads(bulkjob(stack, "results", job_id, "--json").stdout)
    assert [(r["userName"], r["lineNumber"], r["outcome"]) for r in rows] == [
        (name, "2", "updated")
    ]
    assert rows[0]["refURL"].startswith("/unifiedconfig/config/agent/")


def test_agent_template(stack: Stack, tmp_path: Path) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 6002, "third")
        factories.agent(conn, "thirdone", peripheral_id=6002)
    rows = json.loads(bulkjob(stack, "template", "agent", "--peripheral", "6002", "--json").stdout)
    assert [(r["operation"], r["userName"], r["password"]) for r in rows] == [
        ("UPDATE", "thirdone", "~")
    ]
    assert bulkjob(stack, "template", "inventory").exit_code == 2
    with db.write() as conn:
        factories.skill_group(conn, "SG_Command", peripheral_id=6002)
    groups = json.loads(bulkjob(stack, "template", "skillgroup", "--json").stdout)
    assert [(r["operation"], r["name"], r["peripheralId"]) for r in groups] == [
        ("UPDATE", "SG_Command", "6002")
    ]


def test_delete(stack: Stack) -> None:
    stack.ensure_worker()
    done = submit_and_wait(stack, [["ghost", "", "", ""]], "--json")
    job_id = json.loads(done.stdout)["refURL"].rsplit("/", 1)[1]
    deleted = bulkjob(stack, "delete", job_id, "--json")
    assert deleted.exit_code == 0
    assert json.loads(deleted.stdout) == {"id": int(job_id), "deleted": True}
    gone = bulkjob(stack, "status", job_id)
    assert gone.exit_code == 1
    assert one_error_line(gone) == (
        f"bulkjob: error: 404 notFound: Bulk job {job_id} does not exist"
    )


def test_errors_are_one_line_and_exit_1(stack: Stack) -> None:
    wrong = bulkjob(stack, "status", "1", token="not-a-token")
    assert wrong.exit_code == 1
    line = one_error_line(wrong)
    assert "401 notAuthorized" in line and "BULKJOB_TOKEN" in line

    port = free_port()
    down = bulkjob(stack, "list", url=f"http://127.0.0.1:{port}")
    assert down.exit_code == 1
    line = one_error_line(down)
    assert f"cannot reach http://127.0.0.1:{port}" in line and "BULKJOB_URL" in line

    missing = bulkjob(stack, "submit", str(stack.tmp / "no-such.csv"))
    assert missing.exit_code == 2


def test_the_installed_command(stack: Stack) -> None:
    """The console script itself: help with the exit codes, an error line, no traceback."""
    shown = subprocess.run([BULKJOB, "--help"], capture_output=True, text=True, check=True)
    for code in ("0 ", "1 ", "2 ", "4 ", "5 ", "6 ", "7 "):
        assert f"\n    {code}" in shown.stdout
    env = {**os.environ, "BULKJOB_URL": f"http://127.0.0.1:{free_port()}", "BULKJOB_TOKEN": "x"}
    down = subprocess.run([BULKJOB, "status", "1"], capture_output=True, text=True, env=env)
    assert down.returncode == 1
    assert down.stdout == ""
    assert down.stderr.count("\n") == 1 and down.stderr.startswith("bulkjob: error: cannot reach")


def lazily_loaded(args: list[str] | None, env: dict[str, str] | None = None) -> list[str]:
    """Which of httpx, rich and app.client a fresh interpreter has loaded after importing
    app.cli and, unless ``args`` is None, running ``bulkjob ARGS`` (exit code 0)."""
    run = "" if args is None else f"sys.argv = ['bulkjob', *{args!r}]; app.cli.main()"
    probe = (
        "import atexit, json, sys, app.cli\n"
        "atexit.register(lambda: print(json.dumps(sorted(m for m in ('httpx', 'rich', 'app.client')"
        " if m in sys.modules)), file=sys.stderr))\n"
        f"{run}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("args", [None, ["--help"], ["submit", "--help"], ["list", "--help"]])
def test_help_loads_neither_httpx_nor_rich(args: list[str] | None) -> None:
    """Importing the command, or asking it for help, loads click only: the client and httpx come
    with the first request, rich with the first table or progress bar (or with httpx)."""
    assert lazily_loaded(args) == []


def test_a_request_loads_the_client(stack: Stack) -> None:
    """The other side of the lazy imports: the first request brings the client and httpx (and,
    as httpx imports its own command line when rich is installed, rich)."""
    env = {**os.environ, "BULKJOB_URL": stack.url, "BULKJOB_TOKEN": stack.token}
    assert {"app.client", "httpx"} <= set(lazily_loaded(["list", "--limit", "1", "--json"], env))


def test_the_workers_figures_reach_metrics(stack: Stack) -> None:
    """A job run by the worker process shows on the web process's /metrics: each total it
    counts in goes up by what it did (other tests of this stack ran and deleted jobs before)."""
    stack.ensure_worker()

    def scrape() -> dict[tuple[str, Any], float]:
        body = httpx.get(stack.url + "/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    sso = (("job_type", "5"),)
    keys = {
        "created": ("bulkjob_jobs_created_total", sso),
        "succeeded": ("bulkjob_jobs_finished_total", (*sso, ("state", "succeeded"))),
        "failed": ("bulkjob_jobs_finished_total", (*sso, ("state", "failed"))),
        "processed": ("bulkjob_records_processed_total", sso),
        "started": ("bulkjob_job_queue_wait_seconds_count", sso),
        "ended": ("bulkjob_job_duration_seconds_count", sso),
    }
    before = scrape()
    names = stack.agents(2)
    rows = [[names[0], "", "", f"{names[0]}@sso"], [names[1], "", "", f"{names[1]}@sso"]]
    assert submit_and_wait(stack, rows).exit_code == 0
    after = scrape()
    grew = {name: after[key] - before.get(key, 0) for name, key in keys.items()}
    assert grew == {
        "created": 1,
        "succeeded": 1,
        "failed": 0,
        "processed": 2,
        "started": 1,
        "ended": 1,
    }


def test_submit_dry_run_and_revert_with_wait(stack: Stack) -> None:
    stack.ensure_worker()
    names = stack.agents(2)
    path = stack.csv_file([[n, "", "", f"{n}@sso"] for n in names])

    dry = bulkjob(stack, "submit", str(path), "--dry-run", "--wait", "--poll-interval", "0.1")
    assert dry.exit_code == 0, dry.stderr
    assert "dry run" in dry.stdout and "no changes were made" in dry.stdout
    assert "plan  2 update" in dry.stdout  # the counts per action
    listed = json.loads(bulkjob(stack, "list", "--json").stdout)
    dry_id = max(int(j["refURL"].rsplit("/", 1)[1]) for j in listed if j.get("dryRun"))
    planned = json.loads(bulkjob(stack, "plan", str(dry_id), "--json").stdout)
    assert planned["counts"]["update"] == 2
    assert planned["lines"][0]["changes"][0] == {
        "field": "userName",
        "before": names[0],
        "after": f"{names[0]}@sso",
    }
    table = bulkjob(stack, "plan", str(dry_id), "--action", "update")
    assert table.exit_code == 0 and f"{names[0]}@sso" in table.stdout
    as_csv = bulkjob(stack, "plan", str(dry_id), "--csv")
    assert as_csv.stdout.splitlines()[0] == "lineNumber,action,object,field,before,after,error"
    real = bulkjob(stack, "submit", str(path), "--wait", "--json", "--poll-interval", "0.1")
    assert real.exit_code == 0, real.stderr
    real_id = json.loads(real.stdout)["refURL"].rsplit("/", 1)[1]

    undo = bulkjob(stack, "revert", real_id, "--wait", "--json", "--poll-interval", "0.1")
    assert undo.exit_code == 0, undo.stderr
    job = json.loads(undo.stdout)
    assert (job["jobState"], job["succeededRecords"]) == (3, 2)
    assert job["revertOf"]["refURL"].endswith(f"/bulkjob/{real_id}")
    with stack.client() as client:
        assert client.get(int(real_id)).reverted_by == int(job["refURL"].rsplit("/", 1)[1])
    again = bulkjob(stack, "revert", real_id)
    assert again.exit_code == 1
    assert "409 conflict: Job" in one_error_line(again)


def test_submit_stop_after_failures_then_retry_a_corrected_file(
    stack: Stack, tmp_path: Path
) -> None:
    """The real worker stops a job whose first chunk (50 lines) fails, before its last 10
    lines; the retry of its results, corrected, runs every line on its original number."""
    stack.ensure_worker()
    names = stack.agents(60)
    rows = [[n, "", "", "bad name" if i < 50 else f"{n}@sso"] for i, n in enumerate(names)]
    path = stack.csv_file(rows)
    wait = ["--wait", "--json", "--poll-interval", "0.1"]

    stopped = bulkjob(stack, "submit", str(path), "--stop-after-failures", "3", *wait)

    assert stopped.exit_code == 4, stopped.stderr  # Failed
    job = json.loads(stopped.stdout)
    assert (job["stopAfterFailures"], job["processedRecords"], job["failedRecords"]) == (3, 50, 50)
    job_id = job["refURL"].rsplit("/", 1)[1]
    results = tmp_path / "results.csv"
    assert bulkjob(stack, "results", job_id, "-o", str(results)).exit_code == 0
    with results.open(newline="") as text:
        lines = list(csv.DictReader(text))
    assert [r["outcome"] for r in lines[49:]] == ["failed"] + ["not processed"] * 10
    for line in lines:
        line["newUserName"] = f"{line['userName']}@sso"
    corrected = tmp_path / "corrected.csv"
    with corrected.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)

    again = bulkjob(stack, "retry", job_id, "--file", str(corrected), *wait)

    assert again.exit_code == 0, again.stderr
    retried = json.loads(again.stdout)
    assert retried["retryOf"]["refURL"].endswith(f"/bulkjob/{job_id}")
    assert (retried["succeededRecords"], retried["stopAfterFailures"]) == (60, 3)
    with stack.client() as client:
        assert client.get(int(job_id)).retried_by == int(retried["refURL"].rsplit("/", 1)[1])
