"""A malformed setting stops every process at start-up with one line naming the setting and its
value, and a non-zero exit, never a traceback (docs/configuration.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Each process the Procfile and `make run` start, and a flask command.
PROCESSES = {
    "web": [str(BIN / "gunicorn"), "-b", "127.0.0.1:0", "app:create_app()"],
    "worker": [str(BIN / "celery"), "-A", "worker:celery_app", "worker", "--loglevel", "INFO"],
    "flask": [str(BIN / "flask"), "--app", "app", "init-db"],
}
WINDOWS = ("BULKJOB_MAINTENANCE_WINDOWS", "Funday 25:00-26:00", "Funday 25:00-26:00")
# Every process reads the settings through one function: each process with one malformed
# setting, and the flask command with each kind of malformed value.
CASES = [
    ("web", *WINDOWS),
    ("worker", *WINDOWS),
    ("flask", *WINDOWS),
    ("flask", "BULKJOB_CHUNK_SIZE", "lots", "'lots': must be a whole number"),
    ("web", "LOG_LEVEL", "loud", "'loud': must be one of"),
]


def start(process: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        PROCESSES[process],
        cwd=ROOT,  # gunicorn reads ./gunicorn.conf.py, as the Procfile runs it
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("process", "name", "value", "said"), CASES)
def test_a_malformed_setting_stops_the_process_with_one_line(
    process: str, name: str, value: str, said: str, tmp_path: Path
) -> None:
    ended = start(process, tmp_path, **{name: value})

    assert ended.returncode != 0
    assert "Traceback" not in ended.stderr
    ours = [line for line in ended.stderr.splitlines() if line.startswith("bulkjob: ")]
    assert len(ours) == 1, ended.stderr
    assert ours[0].startswith(f"bulkjob: {name}=") and said in ours[0]


def test_a_database_url_is_checked_without_repeating_it(tmp_path: Path) -> None:
    ended = start("flask", tmp_path, DATABASE_URL="postgres//admin:s3cret@db/bulkjob")

    assert ended.returncode != 0 and "Traceback" not in ended.stderr
    assert "bulkjob: DATABASE_URL: is not a database URL" in ended.stderr
    assert "s3cret" not in ended.stderr


def test_settings_errors_name_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"^BULKJOB_LEASE_SECONDS='2x': must be a whole number"):
        Settings.from_env({"BULKJOB_LEASE_SECONDS": "2x"})
    with pytest.raises(SettingsError, match="BULKJOB_SWEEP_SECONDS='soon': must be a number"):
        Settings.from_env({"BULKJOB_SWEEP_SECONDS": "soon"})
    assert Settings.from_env({}).log_level == "INFO"
    assert Settings.from_env({"LOG_LEVEL": "warning"}).log_level == "WARNING"
