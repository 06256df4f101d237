"""What is checked before a job exists (docs/api.md, "What is checked before a job exists"):
the description, the file's size, and whatever its job type requires of the file."""

from __future__ import annotations

from dataclasses import dataclass

from app.exceptions import FieldRequired, FieldTooLong, InvalidInput, OutOfRange
from app.jobs import types as jobtypes
from app.jobs.types.csvfile import CsvFile, decode

MAX_DESCRIPTION = 255
MAX_INT = 2**31 - 1


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed its job type's check."""

    content: bytes
    encoding: str
    job_type: int
    total_records: int


def check_description(description: str | None) -> str:
    description = description or ""
    if len(description) > MAX_DESCRIPTION:
        raise FieldTooLong(
            f"description must be at most {MAX_DESCRIPTION} characters", "description"
        )
    return description


def check_file(
    content: bytes,
    job_type: int | None,
    max_bytes: int,
    *,
    uploaded: bool = True,
    pre_checked: tuple[int, str] | None = None,
) -> CheckedFile:
    """Refuse a file before any job exists. ``uploaded``: a CSV upload, whose header chooses
    (or must match) the job type; otherwise ``job_type`` names a type that is not uploaded
    (a SCIM bulk request). ``pre_checked``: what the type's own check gave the caller, who
    has just run it (SCIM's /Bulk parses the request it answers), so it is not run twice."""
    if not content.strip():
        raise FieldRequired("fileContent is required", "fileContent")
    if len(content) > max_bytes:
        raise FieldTooLong(
            f"fileContent is {len(content)} bytes; the limit is {max_bytes} bytes (3 MB)",
            "fileContent",
        )
    if uploaded:
        text, _encoding = decode(content)
        chosen = jobtypes.match_header(CsvFile(text).header(), job_type)
    elif job_type is None:
        raise FieldRequired("jobType is required", "jobType")
    else:
        chosen = jobtypes.get(job_type)
    total, encoding = chosen.check(content) if pre_checked is None else pre_checked
    return CheckedFile(content, encoding, chosen.code, total)


def check_dry_run(job_type: int) -> None:
    """Refuse a dry run of a type whose jobs cannot be dry-run."""
    chosen = jobtypes.get(job_type)
    if not chosen.dry_runs:
        raise InvalidInput(f"jobType {chosen.code} ({chosen.name}) has no dry run", "dryRun")


def check_stop_after_failures(value: int | None) -> int | None:
    """``stopAfterFailures`` (docs/concepts.md, "Stop early"): a whole number from 1, or None
    (never stop early)."""
    if value is not None and not 1 <= value <= MAX_INT:
        raise OutOfRange(f"stopAfterFailures must be between 1 and {MAX_INT}", "stopAfterFailures")
    return value


def parse_stop_after_failures(raw: str | None) -> int | None:
    """A form field or query parameter ``stopAfterFailures`` (absent or empty: None)."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise InvalidInput(
            f"stopAfterFailures must be a whole number, not {raw[:40]!r}", "stopAfterFailures"
        )
    return check_stop_after_failures(int(text))
