"""The Python client: against the real application (over httpx's WSGI transport) and against a
tiny scripted HTTP server for retries and odd answers."""

from __future__ import annotations

import ast
import io
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from flask import Flask

from app import client as client_module
from app.accounts import users
from app.client import BulkJobError, Client, JobState, _retry_after
from app.db import db
from app.jobs import engine
from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent


class CountingTransport(httpx.WSGITransport):
    """The app in-process, counting the requests it answers."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app=app)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def token(app: Flask) -> str:
    with db.write() as conn:
        return users.create_token(conn, "admin")


@pytest.fixture
def transport(app: Flask) -> CountingTransport:
    return CountingTransport(app)


@pytest.fixture
def api(transport: CountingTransport, token: str) -> Iterator[Client]:
    with Client("http://bulkjob.test", token, transport=transport) as c:
        yield c


def run_job(app: Flask, job_id: int) -> None:
    engine.run_job(db, app.config["SETTINGS"], job_id)


def _imported(module: str) -> set[str]:
    """Every module ``module``'s file imports, at any depth (``TYPE_CHECKING`` blocks too)."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }


def test_the_client_imports_nothing_else_of_the_application() -> None:
    """app.client and every module of the application it imports (only its own app.client_*
    modules) take nothing but the standard library and httpx."""
    modules: set[str] = set()
    todo = ["app.client"]
    while todo:
        module = todo.pop()
        modules.add(module)
        for name in _imported(module):
            top = name.split(".")[0]
            if top == "app":
                assert name.startswith("app.client_"), f"{module} imports {name}"
                if name not in modules:
                    todo.append(name)
            else:
                assert top in sys.stdlib_module_names or top == "httpx", f"{module} imports {name}"
    # docs/command.md ("The Python client") names the files a script carries when it copies the client.
    assert modules == {"app.client", "app.client_downloads", "app.client_model"}


def test_create_get_wait_and_download(app: Flask, api: Client) -> None:
    with db.write() as conn:
        factories.agents(conn, ["ann", "bob"])
    text = factories.csv_text([["ann", "", "", "ann@sso"], ["ghost", "", "", ""]])
    job = api.create(text, description="wave 1")
    assert (job.state, job.description, job.total_records) == (JobState.QUEUED, "wave 1", 2)
    assert job.data["refURL"] == f"/unifiedconfig/config/bulkjob/{job.id}"

    polled: list[int] = []

    def run_while_waiting(_seconds: float) -> None:
        run_job(app, job.id)

    api._sleep = run_while_waiting
    final = api.wait(job.id, interval=0.01, on_progress=lambda j: polled.append(j.state))
    assert polled == [JobState.QUEUED, JobState.PARTIALLY_SUCCEEDED]
    assert final.state_label == "Partially succeeded"
    assert (final.processed_records, final.succeeded_records, final.failed_records) == (2, 1, 1)
    assert final.finished

    assert "Error processing line 3" in api.log(job.id)
    out = io.BytesIO()
    assert api.download_csv(job.id, out) == len(text.encode())
    assert out.getvalue() == text.encode()
    out = io.BytesIO()
    api.download_failed(job.id, out)
    assert out.getvalue().decode().splitlines()[1].startswith("ghost,,,,3,")
    out = io.BytesIO()
    api.download_results(job.id, out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0].endswith(",lineNumber,outcome,refURL,error")
    assert [line.split(",")[5] for line in lines[1:]] == ["updated", "failed"]


def test_create_from_a_utf16_file_sends_its_bytes(app: Flask, api: Client, tmp_path: Path) -> None:
    with db.write() as conn:
        factories.agent(conn, "cat")
    path = tmp_path / "excel.txt"
    path.write_bytes(
        "userName\tfirstName\tlastName\tnewUserName\r\ncat\t\t\tcat@sso\r\n".encode("utf-16")
    )
    job = api.create_from_file(path, job_type=5)
    out = io.BytesIO()
    api.download_csv(job.id, out)
    assert out.getvalue() == path.read_bytes()


def test_list_iterates_every_page(app: Flask, api: Client, transport: CountingTransport) -> None:
    created = [
        api.create(factories.csv_text([["x", "", "", ""]]), description=f"job {i}")
        for i in range(5)
    ]
    transport.requests.clear()

    listed = list(api.list_jobs(page_size=2))

    assert [job.id for job in listed] == [job.id for job in reversed(created)]
    assert len(transport.requests) == 3
    assert [j.description for j in api.list_jobs(search="JOB 3")] == ["job 3"]
    assert [j.id for j in api.list_jobs(sort="createDateTime asc", page_size=100)] == [
        j.id for j in created
    ]


def test_cancel_and_delete(app: Flask, api: Client) -> None:
    job = api.create(factories.csv_text([["x", "", "", ""]]))
    with pytest.raises(BulkJobError) as refused:
        api.delete(job.id)
    assert refused.value.status == 409
    assert refused.value.error_type == "jobActive"

    cancelled = api.cancel(job.id)
    assert cancelled.state == JobState.CANCELLED
    assert cancelled.change_stamp == job.change_stamp + 1
    assert [j.id for j in api.list_jobs(state=JobState.CANCELLED)] == [job.id]

    api.delete(job.id)
    with pytest.raises(BulkJobError) as missing:
        api.get(job.id)
    assert missing.value.status == 404
    assert missing.value.errors[0].error_type == "notFound"
    assert missing.value.errors[0].error_data == str(job.id)


def test_a_refused_create_carries_the_api_errors(api: Client) -> None:
    with pytest.raises(BulkJobError) as refused:
        api.create("userName,firstName,lastName,newUserName\n")
    error = refused.value
    assert error.status == 400
    assert error.errors[0].error_type == "invalidInput.fieldRequired"
    assert error.errors[0].error_data == "fileContent"
    assert str(error).startswith("400 invalidInput.fieldRequired: ")


def test_template_download_with_filters(app: Flask, api: Client, tmp_path: Path) -> None:
    with db.write() as conn:
        factories.peripheral(conn, 5001)
        factories.agent(conn, "north", peripheral_id=5000)
        factories.agent(conn, "south", peripheral_id=5001)
    target = tmp_path / "t.csv"
    api.download_template(target, peripheral_id=5001)
    assert target.read_text().splitlines() == [
        "userName,firstName,lastName,newUserName",
        "south,First,Last,",
    ]


def test_agent_template_download_in_pieces(app: Flask, api: Client, tmp_path: Path) -> None:
    with db.write() as conn:
        for name in ("p1", "p2", "p3"):
            factories.agent(conn, name, peripheral_id=5000)
    target = tmp_path / "agents.csv"
    api.download_template(target, kind="agent", start_index=1)
    lines = target.read_text().splitlines()
    assert lines[0].startswith("operation,agentId,userName,firstName,lastName,password,")
    assert [line.split(",")[2] for line in lines[1:]] == ["p2", "p3"]
    assert all(line.startswith("UPDATE,") and ",~," in line for line in lines[1:])
    with pytest.raises(ValueError, match="kind must be one of ssomigration, agent, skillgroup"):
        api.download_template(target, kind="inventory")
    with db.write() as conn:
        factories.skill_group(conn, "SG_Client")
    api.download_template(target, kind="skillgroup", start_index=0)
    assert target.read_text().splitlines()[1].startswith("UPDATE,SG_Client,,")


def test_wrong_token_and_wait_timeout(app: Flask, transport: CountingTransport, token: str) -> None:
    wrong = Client("http://bulkjob.test", "not-a-token", transport=transport)
    with wrong, pytest.raises(BulkJobError) as refused:
        wrong.get(1)
    assert refused.value.status == 401
    assert refused.value.error_type == "notAuthorized"

    with Client("http://bulkjob.test/unifiedconfig/config/", token, transport=transport) as api:
        job = api.create(factories.csv_text([["x", "", "", ""]]))
        with pytest.raises(BulkJobError) as waited:
            api.wait(job.id, timeout=0)
    assert waited.value.error_type == "waitTimeout"
    assert waited.value.status is None


# --- a scripted server: retries and answers that are not the API's ------------------------------

JOB = {
    "refURL": "/unifiedconfig/config/bulkjob/7",
    "changeStamp": 0,
    "jobType": 5,
    "jobState": 3,
    "totalRecords": 1,
    "processedRecords": 1,
    "succeededRecords": 1,
    "failedRecords": 0,
}


class Script:
    """Answers to send in order (status, headers, body); the requests that came."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, str, float]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.seen.append((self.command, self.path, time.monotonic()))
            status, headers, body = script.answers.pop(0)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", script
    server.shutdown()
    server.server_close()


def ok_job() -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(JOB).encode()


def busy(status: int, retry_after: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {
        "apiErrors": [{"errorType": "serviceUnavailable", "errorData": "", "errorMessage": "busy"}]
    }
    return status, headers, json.dumps(body).encode()


def test_503_is_retried_after_the_seconds_retry_after_asks(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers = [busy(503, "1"), ok_job()]
    with Client(url, "t") as api:
        started = time.monotonic()
        job = api.get(7)
    assert job.id == 7 and job.state == JobState.SUCCEEDED
    assert len(script.seen) == 2
    assert script.seen[1][2] - script.seen[0][2] >= 0.95
    assert time.monotonic() - started < 5


def test_429_and_503_retries_honour_retry_after_and_give_up(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    waits: list[float] = []
    script.answers = [busy(429, "3"), busy(503, None), busy(503, None), ok_job()]
    with Client(url, "t", retries=3, sleep=waits.append) as api:
        assert api.get(7).id == 7
    assert waits == [3.0, 1.0, 2.0]  # Retry-After, then backing off 0.5 * 2**attempt

    waits.clear()
    script.answers = [busy(503, "0")] * 3
    with (
        Client(url, "t", retries=2, sleep=waits.append) as api,
        pytest.raises(BulkJobError) as gave_up,
    ):
        api.get(7)
    assert waits == [0.0, 0.0]
    assert gave_up.value.status == 503
    assert gave_up.value.errors[0].error_type == "serviceUnavailable"

    # A wait longer than the client will sleep is not slept: the caller hears at once.
    waits.clear()
    script.answers = [busy(429, "600")]
    with (
        Client(url, "t", max_retry_wait=30, sleep=waits.append) as api,
        pytest.raises(BulkJobError) as limited,
    ):
        api.get(7)
    assert waits == []
    assert limited.value.status == 429


def test_retry_after_as_an_http_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = _retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None and 28 <= seconds <= 30
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("soon") is None
    assert _retry_after(None) is None


def test_an_answer_that_is_not_the_apis_is_still_one_clear_error(
    scripted: tuple[str, Script],
) -> None:
    url, script = scripted
    script.answers = [(502, {"Content-Type": "text/html"}, b"<html><h1>Bad gateway</h1>\n</html>")]
    with Client(url, "t") as api, pytest.raises(BulkJobError) as bad:
        api.get(7)
    assert bad.value.status == 502
    assert bad.value.error_type == "http502"
    assert "\n" not in str(bad.value)

    script.answers = [(200, {"Content-Type": "text/html"}, b"<html>a login page</html>")]
    with Client(url, "t") as api, pytest.raises(BulkJobError) as odd:
        api.get(7)
    assert odd.value.error_type == "invalidResponse"


def test_an_unreachable_service_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", "t") as api, pytest.raises(BulkJobError) as down:
        api.get(1)
    assert down.value.status is None
    assert down.value.error_type == "connectionError"
    assert f"127.0.0.1:{port}" in str(down.value)


def test_the_module_exports_what_scripts_use() -> None:
    assert {"Client", "BulkJobError", "Job", "JobState", "ApiError", "Page"} <= set(
        client_module.__all__
    )


def test_dry_run_and_revert(app: Flask, api: Client) -> None:
    with db.write() as conn:
        factories.agents(conn, ["amy", "bob"])
    content = factories.csv_text([["amy", "", "", "amy@sso"], ["bob", "", "", ""]])
    dry = api.create(content, description="wave", dry_run=True)
    assert dry.dry_run and dry.revert_of is None
    run_job(app, dry.id)
    with pytest.raises(BulkJobError) as refused:
        api.revert(dry.id)
    assert refused.value.status == 400
    real = api.create(content, description="wave")
    assert not real.dry_run
    run_job(app, real.id)
    undo = api.revert(real.id, description="undo")
    assert (undo.revert_of, undo.description, undo.total_records) == (real.id, "undo", 2)
    assert api.get(real.id).reverted_by == undo.id
    with pytest.raises(BulkJobError) as again:
        api.revert(real.id)
    assert (again.value.status, again.value.errors[0].error_type) == (409, "conflict")


def test_stop_after_failures_and_retry(app: Flask, api: Client) -> None:
    content = factories.csv_text([["amy", "", "", "amy@sso"], ["bob", "", "", ""]])
    job = api.create(content, description="wave", stop_after_failures=5)
    assert (job.stop_after_failures, job.retry_of) == (5, None)
    run_job(app, job.id)
    with db.write() as conn:
        factories.agents(conn, ["amy"])
    corrected = "lineNumber,userName,firstName,lastName,newUserName\n2,amy,,,a@sso\n"

    again = api.retry(job.id, content=corrected, description="fixed")

    assert (again.retry_of, again.description, again.total_records) == (job.id, "fixed", 1)
    assert api.get(job.id).retried_by == again.id
    run_job(app, again.id)
    with pytest.raises(BulkJobError) as nothing:
        api.retry(again.id)
    assert (nothing.value.status, nothing.value.error_type) == (409, "conflict")
