"""Reverting a job (docs/concepts.md, "Revert"): what may be reverted, and the revert job.

The revert is a job of the type that reverts the original's (``JobType.reverts``), made through
:func:`app.jobs.submit.submit` like every job. Its file lists what the original's succeeded lines
changed, last first, so that a name an earlier line freed is given back after the later line
that took it has given it up. ``jobs.revert_of`` is unique: of two requests at once, one wins
and the other is refused as for a job already reverted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from app.db import db
from app.db.models import JobState
from app.exceptions import Conflict, InvalidInput, JobActive
from app.jobs import store
from app.jobs import types as jobtypes
from app.jobs.check import MAX_DESCRIPTION
from app.jobs.submit import submit

if TYPE_CHECKING:
    from flask import Flask


@dataclass(frozen=True)
class RevertPlan:
    """A job that may be reverted: how many of what (``touches``: "agent", "skill group", ...)
    its revert puts back, by which type."""

    job_id: int
    description: str
    agents: int
    job_type: int
    touches: str = "agent"


def plan(conn: Connection, job_id: int) -> RevertPlan:
    """Whether ``job_id`` may be reverted now; raises saying why not (400 or 409)."""
    job = store.get_job(conn, job_id)
    reverting = jobtypes.reverting(job.job_type)
    if reverting is None:
        names = [jobtypes.name_of(t.reverts) for t in jobtypes.registry().values() if t.reverts]
        revertible = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        raise InvalidInput(
            f"Job {job_id} is a {jobtypes.name_of(job.job_type)} job; only {revertible} jobs "
            "can be reverted",
            str(job_id),
        )
    if job.dry_run:
        raise InvalidInput(f"Job {job_id} is a dry run: it changed nothing", str(job_id))
    if job.job_state in JobState.ACTIVE:
        raise JobActive(
            f"Job {job_id} is {JobState.NAMES[job.job_state]}; only a finished job can be reverted",
            str(job_id),
        )
    if job.succeeded_records == 0:
        raise InvalidInput(f"Job {job_id} changed nothing: there is nothing to revert", str(job_id))
    if job.reverted_by is not None:
        raise _already_reverted(conn, job_id, job.reverted_by)
    reverting.check_revertible(conn, job_id)
    touches = jobtypes.get(job.job_type).touches
    return RevertPlan(job_id, job.description, job.succeeded_records, reverting.code, touches)


def _already_reverted(conn: Connection, job_id: int, revert_id: int) -> Conflict:
    state = store.get_job(conn, revert_id).job_state
    return Conflict(
        f"Job {job_id} is already reverted by job {revert_id} ({JobState.NAMES[state]})",
        str(revert_id),
    )


def revert(app: Flask, job_id: int, *, description: str | None, created_by: str) -> int:
    """Create and queue the revert of ``job_id``; the new job's id."""
    with db.read() as conn:
        found = plan(conn, job_id)
        content = jobtypes.get(found.job_type).revert_content(conn, job_id)
    if description is None:
        description = f"Revert of job {job_id}: {found.description}"[:MAX_DESCRIPTION]
    try:
        return submit(
            app,
            content,
            description=description,
            created_by=created_by,
            job_type=found.job_type,
            uploaded=False,
            revert_of=job_id,
        )
    except IntegrityError:
        with db.read() as conn:
            raise _already_reverted(conn, job_id, store.get_job(conn, job_id).reverted_by) from None
