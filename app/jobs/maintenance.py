"""Maintenance windows: times when Queued jobs wait instead of starting.

The setting ``BULKJOB_MAINTENANCE_WINDOWS`` is a comma- or semicolon-separated list of windows,
each ``DAYS HH:MM[:SS]-HH:MM[:SS]`` in UTC, where DAYS is ``daily``, a day (``Mon`` ... ``Sun``)
or a range of days (``Mon-Fri``). A window whose end is not after its start runs past midnight
into the next day. Examples: ``Sun 02:00-04:00``, ``daily 23:30-00:30``, ``Mon-Fri 12:00-12:15``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^\s*(?P<days>daily|[a-z]{3}(?:-[a-z]{3})?)\s+"
    r"(?P<start>\d{1,2}:\d{2}(?::\d{2})?)\s*-\s*(?P<end>\d{1,2}:\d{2}(?::\d{2})?)\s*$",
    re.IGNORECASE,
)


def _seconds(clock: str, text: str) -> int:
    parts = [int(p) for p in clock.split(":")]
    hours, minutes, seconds = [*parts, 0][:3]
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"maintenance window {text!r}: {clock} is not a time of day")
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class Window:
    """One window: the days it starts on (0 = Monday), and its start and end within a day."""

    text: str
    days: frozenset[int]
    start: int
    end: int

    def open_until(self, now: datetime) -> datetime | None:
        """When this window closes, if it is open at ``now`` (UTC); else None."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for days_back in (0, 1):
            day = midnight - timedelta(days=days_back)
            if day.weekday() not in self.days:
                continue
            opens = day + timedelta(seconds=self.start)
            length = (self.end - self.start) % 86400 or 86400
            closes = opens + timedelta(seconds=length)
            if opens <= now < closes:
                return closes
        return None


def parse_windows(text: str) -> tuple[Window, ...]:
    """Parse the setting; raise ValueError naming the bad part."""
    windows = []
    for part in re.split(r"[,;]", text):
        if not part.strip():
            continue
        match = _WINDOW.match(part)
        if match is None:
            raise ValueError(
                f"maintenance window {part.strip()!r} is not 'DAYS HH:MM-HH:MM' "
                "(DAYS: daily, Mon, or Mon-Fri; times in UTC)"
            )
        days_text = match.group("days").lower()
        if days_text == "daily":
            days = frozenset(range(7))
        else:
            first, _, last = days_text.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise ValueError(f"maintenance window {part.strip()!r}: unknown day")
            a, b = DAYS.index(first), DAYS.index(last or first)
            days = (
                frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(b + 1)])
            )
        windows.append(
            Window(
                part.strip(),
                days,
                _seconds(match.group("start"), part),
                _seconds(match.group("end"), part),
            )
        )
    return tuple(windows)


@cache
def windows(text: str) -> tuple[Window, ...]:
    """The windows of a ``BULKJOB_MAINTENANCE_WINDOWS`` value, parsed once per value;
    ValueError for a malformed one (``create_app`` asks at start-up, so it fails loudly)."""
    return parse_windows(text)


def open_window(
    windows: tuple[Window, ...], now: datetime | None = None
) -> tuple[Window, datetime] | None:
    """The window open at ``now`` and when it closes (the latest, if several overlap)."""
    now = now or datetime.now(UTC)
    found = [(w, until) for w in windows if (until := w.open_until(now)) is not None]
    return max(found, key=lambda pair: pair[1]) if found else None
