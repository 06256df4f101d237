"""`bulkjob submit --start-at/--notify-url` and `bulkjob reschedule`, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_command import Stack, bulkjob, one_error_line

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    live = Stack(tmp_path_factory.mktemp("cli-schedule"))
    yield live
    live.close()


def test_submit_with_a_start_time_then_reschedule_and_start_now(stack: Stack) -> None:
    path = stack.csv_file([[name, "", "", ""] for name in stack.agents(1)])
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    shown = bulkjob(stack, "submit", str(path), "--start-at", when.isoformat())
    assert shown.exit_code == 0, shown.stderr
    assert "start after" in shown.stdout
    job = json.loads(
        bulkjob(stack, "submit", str(path), "--start-at", when.isoformat(), "--json").stdout
    )
    assert job["startAfter"] == int(when.timestamp() * 1000) and job["jobState"] == 1
    job_id = job["refURL"].rsplit("/", 1)[1]

    # Without an offset: the local time of the machine running the command.
    local = datetime.now().replace(microsecond=0) + timedelta(hours=5)
    moved = bulkjob(stack, "reschedule", job_id, "--start-at", local.isoformat(), "--json")
    assert moved.exit_code == 0, moved.stderr
    assert json.loads(moved.stdout)["startAfter"] == int(local.astimezone().timestamp() * 1000)
    now = bulkjob(stack, "reschedule", job_id, "--now", "--json")
    assert "startAfter" not in json.loads(now.stdout)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--start-at", "tomorrow"], "is not an ISO 8601 date and time"),
    ],
)
def test_a_bad_start_time_is_a_usage_error(stack: Stack, args: list[str], expected: str) -> None:
    path = stack.csv_file([["x", "", "", ""]])
    result = bulkjob(stack, "submit", str(path), *args)
    assert result.exit_code == 2 and expected in result.stderr


def test_refusals_are_one_line_and_exit_1(stack: Stack) -> None:
    path = stack.csv_file([["x", "", "", ""]])
    far = (datetime.now(UTC) + timedelta(days=120)).isoformat()
    result = bulkjob(stack, "submit", str(path), "--start-at", far)
    assert result.exit_code == 1 and "90 days" in one_error_line(result)
    hook = bulkjob(stack, "submit", str(path), "--notify-url", "http://127.0.0.1:9/x")
    assert hook.exit_code == 1 and "notifyURL" in one_error_line(hook)
    both = bulkjob(stack, "reschedule", "1", "--now", "--start-at", far)
    assert both.exit_code == 2
