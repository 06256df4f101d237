"""The templates of the directory's own objects (docs/directory.md, "Templates"):
``skillgroup``, ``calltype`` and ``dialednumber``, each the live objects in its file's format."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select

from app.directory import call_type_job, dialed_number_job, skill_group_job
from app.directory.object_job import ObjectJob, download
from app.jobs.downloads import Download

TEMPLATES: dict[str, ObjectJob] = {
    "skillgroup": skill_group_job.JOB_TYPE,
    "calltype": call_type_job.JOB_TYPE,
    "dialednumber": dialed_number_job.JOB_TYPE,
}


def template(engine: Engine, name: str, start: str | None, limit: int) -> Download:
    """One piece of the template ``name`` (one of :data:`TEMPLATES`): at most ``limit`` objects
    by id from the ``start``-th."""
    return download(engine, TEMPLATES[name], start, limit)


def count(conn: Connection, name: str) -> int:
    """How many objects the template ``name`` holds in all (in pieces of the limit)."""
    t = TEMPLATES[name].spec.kind.table
    return int(conn.execute(select(func.count()).select_from(t)).scalar_one())
