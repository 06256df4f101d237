"""The plan of a finished dry run (docs/concepts.md, "Plan"): for every line, what a real run
would do (``create``, ``update``, ``delete``, ``unchanged`` or ``fail``), the object (its refURL,
or the name of one it would create), each field an update would change as before and after, the
error of a failing line; and the objects the file would create implicitly.

Read from what the dry run recorded: each line's log (``Would create ...``, ``Would update
...``) and, where its type keeps one, the record of the fields it would change
(:meth:`JobType.plan_changes`). Passwords never appear: only that one would be set.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from app.db.models import JobLine, JobState, table
from app.exceptions import InvalidInput, JobActive
from app.jobs import store
from app.jobs import types as jobtypes
from app.jobs.downloads import CSV_TYPE, Download
from app.jobs.types.csvfile import as_bytes, csv_rows

lines = table(JobLine)

ACTIONS = ("create", "update", "delete", "unchanged", "fail")
CSV_COLUMNS = ("lineNumber", "action", "object", "field", "before", "after", "error")
STREAM_ROWS = 2000

_SAID = re.compile(
    r"^(Would create|Would update|Would delete|Unchanged|Created|Updated|Deleted) "
    r"(\S+?)(?: \((.*)\))?$"
)
_ACTION = {
    "Would create": "create",
    "Created": "create",
    "Would update": "update",
    "Updated": "update",
    "Would delete": "delete",
    "Deleted": "delete",
    "Unchanged": "unchanged",
}


@dataclass
class PlanLine:
    line_number: int
    action: str
    object: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    creates: list[tuple[str, str]] = field(default_factory=list)  # (kind's path, name)
    close: dict[str, list[str]] = field(default_factory=dict)  # a new name -> names near it
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"lineNumber": self.line_number, "action": self.action}
        if self.object:
            found["object"] = self.object
        if self.action == "create" and self.object in self.close:
            found["closeTo"] = self.close[self.object]
        if self.changes:
            found["changes"] = [{"field": f, "before": b, "after": a} for f, b, a in self.changes]
        if self.creates:
            found["creates"] = [
                {"kind": k, "name": n, **({"closeTo": self.close[n]} if n in self.close else {})}
                for k, n in self.creates
            ]
        if self.error:
            found["error"] = self.error
        return found


_CLOSE = re.compile(r"^Warning: (.+) is a small edit away from the existing (.+)$")


def _said(message: str) -> tuple[str, str, list[tuple[str, str]], dict[str, list[str]]]:
    """(action, object, what it creates first, the names near those) of a succeeded line's
    log."""
    parts = message.split("\n")
    creates = []
    close = {}
    for part in parts[:-1]:
        found = _SAID.match(part)
        if found is not None and found.group(3) is not None:
            creates.append((found.group(2), found.group(3)))
        warned = _CLOSE.match(part)
        if warned is not None:
            close[warned.group(1)] = warned.group(2).split(" and ")
    last = _SAID.match(parts[-1])
    if last is None:
        return "update", "", creates, close
    action = _ACTION[last.group(1)]
    target = last.group(3) if last.group(3) is not None else last.group(2)
    return action, target, creates, close


def _check(engine: Engine, job_id: int) -> jobtypes.JobType:
    with engine.connect() as conn:
        job = store.get_job(conn, job_id)
    if not job.dry_run:
        raise InvalidInput(
            f"Bulk job {job_id} is not a dry run: only a dry run has a plan (its results say "
            "what it did)",
            str(job_id),
        )
    if job.job_state in JobState.ACTIVE:
        raise JobActive(
            f"Bulk job {job_id} is {JobState.NAMES[job.job_state]}; its plan is ready when it ends",
            str(job_id),
        )
    return jobtypes.get(job.job_type)


def plan_lines(engine: Engine, job_id: int) -> Iterator[PlanLine]:
    """Every line the dry run decided, in file order (a finished dry run; else raises, at
    once)."""
    return _lines(engine, job_id, _check(engine, job_id))


def _lines(engine: Engine, job_id: int, job_type: jobtypes.JobType) -> Iterator[PlanLine]:
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=STREAM_ROWS).execute(
            select(lines.c.line_number, lines.c.ok, lines.c.message, lines.c.detail)
            .where(lines.c.job_id == job_id)
            .order_by(lines.c.line_number)
        )
        for row in rows:
            if not row.ok:
                yield PlanLine(row.line_number, "fail", error=row.message)
                continue
            action, target, creates, close = _said(row.message)
            changes = job_type.plan_changes(row.detail) if action != "unchanged" else []
            yield PlanLine(row.line_number, action, target, changes, creates, close)


def summary(planned: Sequence[PlanLine]) -> dict[str, Any]:
    """Counts per action and the objects the lines would create implicitly (each once, with
    the first line that creates it)."""
    counts = Counter(line.action for line in planned)
    creates: dict[tuple[str, str], int] = {}
    close: dict[str, list[str]] = {}
    for line in planned:
        close.update(line.close)
        for kind, name in line.creates:
            creates.setdefault((kind, name.lower()), line.line_number)
    names = {(kind, name.lower()): name for line in planned for kind, name in line.creates}
    return {
        "counts": {action: counts.get(action, 0) for action in ACTIONS},
        "creates": [
            {
                "kind": kind,
                "name": names[(kind, key)],
                "lineNumber": number,
                **({"closeTo": close[names[(kind, key)]]} if names[(kind, key)] in close else {}),
            }
            for (kind, key), number in creates.items()
        ],
    }


def plan_json(engine: Engine, job_id: int, action: str | None = None) -> dict[str, Any]:
    """The whole plan as one document (``action``: only the lines of that action)."""
    if action is not None and action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}: {action}", "action")
    planned = list(plan_lines(engine, job_id))
    shown = [line for line in planned if action is None or line.action == action]
    return {"jobId": job_id, **summary(planned), "lines": [line.as_dict() for line in shown]}


def plan_csv(engine: Engine, job_id: int) -> Download:
    """The plan as CSV: a row per changed field (a line that changes no field: one row)."""
    planned = plan_lines(engine, job_id)  # checks before the response starts

    def rows() -> Iterator[Sequence[str]]:
        yield CSV_COLUMNS
        for line in planned:
            number = str(line.line_number)
            if not line.changes:
                yield (number, line.action, line.object, "", "", "", line.error)
            for name, before, after in line.changes:
                yield (number, line.action, line.object, name, before, after, line.error)

    return Download(as_bytes(csv_rows(rows())), CSV_TYPE, f"bulkjob-{job_id}-plan.csv")
