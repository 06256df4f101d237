"""The job types: an explicit list of the modules that define them, each holding one
``JOB_TYPE`` (or several, as ``JOB_TYPES``).

The list names modules rather than importing them, so that this package (and the engine above
it) never imports a domain that builds on jobs: SCIM's bulk type lives with SCIM
(``app/scim/bulkjob.py``) and SCIM imports jobs, not the other way round. The modules are loaded
the first time a type is asked for.
"""

from __future__ import annotations

import importlib
from functools import cache

from app.exceptions import InvalidInput
from app.jobs.types.base import Extra, JobType, Outcome, Record, Run

TYPE_MODULES = (
    "app.directory.dialed_number_job",  # 1: Dialed Number
    "app.directory.agent_job",  # 2: Agent
    "app.directory.agent_revert",  # 102: the revert of an agent job
    "app.directory.call_type_job",  # 3: Call Type
    "app.directory.skill_group_job",  # 4: Skill Group
    "app.directory.object_revert",  # 103, 104, 105: the reverts of 3, 4 and 1 (JOB_TYPES)
    "app.jobs.types.sso",  # 5: SSO migration
    "app.jobs.types.sso_revert",  # 101: the revert of an SSO migration
    "app.scim.bulkjob",  # 100: SCIM bulk request
)


@cache
def registry() -> dict[int, JobType]:
    """Every job type by code, in code order."""
    types: list[JobType] = []
    for name in TYPE_MODULES:
        module = importlib.import_module(name)
        types += getattr(module, "JOB_TYPES", None) or [module.JOB_TYPE]
    return {job_type.code: job_type for job_type in sorted(types, key=lambda t: t.code)}


def get(code: int) -> JobType:
    try:
        return registry()[code]
    except KeyError:
        valid = ", ".join(str(c) for c in registry())
        raise InvalidInput(
            f"jobType {code} is not supported; valid values: {valid}", "jobType"
        ) from None


def name_of(code: int) -> str:
    """The type's name, or the bare code for a type this code base no longer knows."""
    job_type = registry().get(code)
    return job_type.name if job_type else str(code)


def uploadable() -> list[JobType]:
    """The types a CSV upload may create, in code order."""
    return [job_type for job_type in registry().values() if job_type.uploadable]


def extra_names() -> list[str]:
    """The names of every extra download some type offers (each a path segment of its own)."""
    return sorted({extra.name for job_type in registry().values() for extra in job_type.extras})


def _fits(header: list[str], job_type: JobType) -> bool:
    """Each of the type's columns once, no others, any order; optional ones may be left out."""
    names = set(header)
    columns = {c.lower() for c in job_type.columns}
    required = columns - {c.lower() for c in job_type.optional_columns}
    return len(names) == len(header) and required <= names <= columns


def _expected(job_type: JobType) -> str:
    expected = ",".join(job_type.columns)
    if job_type.optional_columns:
        expected += f" ({', '.join(job_type.optional_columns)} optional)"
    return expected


def match_header(header: list[str], code: int | None) -> JobType:
    """The job type whose columns ``header`` holds (each once, no others, any order)."""
    found = None
    for job_type in uploadable():
        if _fits(header, job_type):
            found = job_type
            break
    if code is not None:
        wanted = get(code)
        if not wanted.uploadable:
            raise InvalidInput(
                f"jobType {code} ({wanted.name}) jobs are not made from a CSV upload", "jobType"
            )
        if found is not wanted:
            raise InvalidInput(
                f"The CSV header does not match jobType {code} ({wanted.name}); "
                f"expected columns: {_expected(wanted)}",
                "fileContent",
            )
        return wanted
    if found is None:
        expected = "; ".join(
            f"jobType {jt.code} ({jt.name}): {_expected(jt)}" for jt in uploadable()
        )
        raise InvalidInput(
            f"The CSV header matches no job type; expected columns: {expected}", "fileContent"
        )
    return found


__all__ = [
    "TYPE_MODULES",
    "Extra",
    "JobType",
    "Outcome",
    "Record",
    "Run",
    "extra_names",
    "get",
    "match_header",
    "name_of",
    "registry",
    "reverting",
    "uploadable",
]


def reverting(code: int) -> JobType | None:
    """The type whose jobs revert jobs of type ``code``, if there is one."""
    return next((t for t in registry().values() if t.reverts == code), None)
