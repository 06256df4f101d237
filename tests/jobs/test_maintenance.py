"""Maintenance-window parsing and the open/closed decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import create_app
from app.config import Settings
from app.jobs.maintenance import open_window, parse_windows

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


def at(day_offset: int, clock: str) -> datetime:
    hours, minutes = (int(x) for x in clock.split(":"))
    return MONDAY.replace(day=23 + day_offset, hour=hours, minute=minutes)


def test_single_day_window() -> None:
    windows = parse_windows("Sun 02:00-04:00")
    assert open_window(windows, at(6, "03:00")) is not None
    assert open_window(windows, at(6, "04:00")) is None
    assert open_window(windows, at(0, "03:00")) is None


def test_window_past_midnight_belongs_to_its_start_day() -> None:
    windows = parse_windows("Mon 23:30-00:30")
    found = open_window(windows, at(1, "00:15"))  # Tuesday morning
    assert found is not None and found[1] == at(1, "00:30")
    assert open_window(windows, at(2, "00:15")) is None  # Wednesday: Tuesday has no window


def test_daily_ranges_and_several_windows() -> None:
    windows = parse_windows("daily 12:00-12:15; Sat-Sun 08:00-09:00, fri-mon 22:00-23:00")
    assert open_window(windows, at(2, "12:10")) is not None
    assert open_window(windows, at(5, "08:30")) is not None
    assert open_window(windows, at(4, "08:30")) is None
    assert open_window(windows, at(0, "22:30")) is not None  # Fri-Mon wraps the week
    assert open_window(windows, at(1, "22:30")) is None


def test_seconds_and_empty() -> None:
    assert parse_windows("") == ()
    window = parse_windows("Mon 10:00:05-10:00:10")[0]
    assert (window.start, window.end) == (36005, 36010)


@pytest.mark.parametrize(
    "text", ["Mon 25:00-26:00", "Funday 01:00-02:00", "Mon 1-2", "always", "Mon 10:61-11:00"]
)
def test_bad_windows_refused_at_start_up(text: str) -> None:
    with pytest.raises(ValueError, match="maintenance window"):
        create_app(Settings.from_env({"BULKJOB_MAINTENANCE_WINDOWS": text}))
