"""Near misses (docs/concepts.md, "Near misses"): a name that must exist and does not is
answered with the closest existing names; a name a row would create that is a small edit away
from an existing one (``Sales_Tier_1`` beside ``Sales_Tier1``) is flagged in the plan and
logged as a warning when created, since it is more likely a misspelling than a new object."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from app.directory.objects import Kind

WARNING = "Warning: "
_PUNCTUATION = re.compile(r"[._\-\s]")


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean X?)`` naming the existing names closest to ``name``, or nothing."""
    by_key = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_key), n=3, cutoff=0.75)
    found = [by_key[key] for key in close if key != name.lower()]
    return f" (did you mean {' or '.join(found)}?)" if found else ""


def _bare(name: str) -> str:
    return _PUNCTUATION.sub("", name.lower())


def _one_apart(short: str, long: str) -> bool:
    """Whether ``long`` is ``short`` with one character more."""
    return any(long[:i] == short[:i] and long[i + 1 :] == short[i:] for i in range(len(long)))


def near(name: str, names: Iterable[str]) -> list[str]:
    """The existing names a small edit away from ``name``: the same but for ``_``, ``.``,
    ``-`` and spaces (``Sales_Tier1``, ``Sales_Tier_1``), or one letter more or less
    (``Sales_Tir1``). A different digit (``Sales_Tier2``) is another object, not a slip."""
    bare = _bare(name)
    found = []
    for other in names:
        if other.lower() == name.lower():
            continue
        candidate = _bare(other)
        if len(candidate) - len(bare) in (-1, 0, 1) and (
            candidate == bare
            or (len(candidate) > len(bare) and _one_apart(bare, candidate))
            or (len(candidate) < len(bare) and _one_apart(candidate, bare))
        ):
            found.append(other)
    return sorted(found)[:3]


def warning(name: str, close: list[str]) -> str:
    return f"{WARNING}{name} is a small edit away from the existing {' and '.join(close)}"


def existing(conn: Connection, memo: dict[str, Any], kind: Kind) -> Iterable[str]:
    """Every name of ``kind`` as the run's first look found it, and those it made since
    (:func:`made`): read once per run."""
    key = f"names:{kind.segment}"
    if key not in memo:
        names = conn.execute(select(kind.table.c.name)).scalars()
        memo[key] = {name.lower(): name for name in names}
    known: dict[str, str] = memo[key]
    return known.values()


def made(memo: dict[str, Any], kind: Kind, name: str) -> None:
    """A name the run created (or would): later rows compare with it too."""
    known = memo.get(f"names:{kind.segment}")
    if known is not None:
        known.setdefault(name.lower(), name)
