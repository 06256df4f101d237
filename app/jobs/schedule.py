"""Scheduled start (docs/concepts.md, "Scheduled start"): a Queued job is not started before
its time."""

from __future__ import annotations

from datetime import UTC, datetime

from app.exceptions import InvalidInput

MAX_AHEAD_DAYS = 90
MAX_AHEAD_MS = MAX_AHEAD_DAYS * 24 * 3600 * 1000


def check_start_after(value: int | None, now: int) -> int | None:
    """The start time to store: None (as soon as possible), ``now`` for a time already past,
    or ``value``; more than 90 days ahead is refused."""
    if value is None:
        return None
    if value < 0:
        raise InvalidInput("startAfter must be milliseconds since the epoch", "startAfter")
    if value > now + MAX_AHEAD_MS:
        raise InvalidInput(
            f"startAfter must be at most {MAX_AHEAD_DAYS} days ahead ({format_ms(value)} is "
            "further)",
            "startAfter",
        )
    return max(value, now)


def parse_param(raw: str | None) -> int | None:
    """``startAfter`` given as a form field or query parameter ("" or absent: none)."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if not text.lstrip("+-").isdigit() or len(text) > 20:
        raise InvalidInput(
            f"startAfter must be milliseconds since the epoch, not {raw[:40]!r}", "startAfter"
        )
    return int(text)


def format_ms(value: int) -> str:
    """A time for the log: ISO 8601 in UTC, to the second."""
    try:
        moment = datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{value} ms since the epoch"
    return moment.isoformat(timespec="seconds")


def scheduled_message(start_after_ms: int) -> str:
    return f"Job scheduled to start at {format_ms(start_after_ms)}"
