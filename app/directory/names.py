"""Cisco's rule for the names of the contact-center directory's objects (teams, skill groups,
attributes, desk settings, departments, call types, ...): at most 32 characters, letters,
digits, ``.`` and ``_``, starting with a letter or digit; unique per kind, case-insensitively
(docs/directory.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_NAME = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._]*")


# The case-insensitive form a name is unique by, as the keys are stored (``str.lower`` itself:
# it runs several times a row).
name_key: Callable[[str], str] = str.lower


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid enterprise name, or None."""
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters"
    if not _NAME.fullmatch(name):
        return "may hold only letters, digits, . and _, starting with a letter or digit"
    return None
