"""The registry of job types. A new type is a module with a ``JobType`` subclass, imported below."""

from __future__ import annotations

from app.errors import InvalidInput
from app.jobtypes.base import JobType, Outcome, Run
from app.jobtypes.csvfile import CsvFile, Record

REGISTRY: dict[int, JobType] = {}


def register(job_type: JobType) -> JobType:
    REGISTRY[job_type.code] = job_type
    return job_type


def get(code: int) -> JobType:
    try:
        return REGISTRY[code]
    except KeyError:
        valid = ", ".join(str(c) for c in sorted(REGISTRY))
        raise InvalidInput(
            f"jobType {code} is not supported; valid values: {valid}", "jobType"
        ) from None


def _expected(job_type: JobType) -> str:
    return ",".join(job_type.columns)


def match_header(header: list[str], code: int | None) -> JobType:
    """The job type whose columns ``header`` holds (each once, no others, any order)."""
    found = None
    names = sorted(header)
    uploadable = [job_type for job_type in REGISTRY.values() if job_type.uploadable]
    for job_type in uploadable:
        if names == sorted(c.lower() for c in job_type.columns):
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
        expected = "; ".join(f"jobType {jt.code} ({jt.name}): {_expected(jt)}" for jt in uploadable)
        raise InvalidInput(
            f"The CSV header matches no job type; expected columns: {expected}", "fileContent"
        )
    return found


from app.jobtypes import scim_bulk, sso  # noqa: E402  (register themselves)

__all__ = [
    "REGISTRY",
    "CsvFile",
    "JobType",
    "Outcome",
    "Record",
    "Run",
    "get",
    "match_header",
    "scim_bulk",
    "sso",
]
