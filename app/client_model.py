"""What :mod:`app.client` hands back: jobs and their states, pages of jobs, and its errors.

Plain data, read from the API's JSON; like the client it imports nothing else from this package,
and not even httpx (the ``bulkjob`` command imports these to start quickly, and loads the client
only when it sends a request).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ACTIVE_STATES",
    "STATE_LABELS",
    "TEMPLATES",
    "ApiError",
    "BulkJobError",
    "Job",
    "JobState",
    "Page",
]


class JobState(IntEnum):
    """A job's ``jobState``."""

    QUEUED = 1
    PROCESSING = 2
    SUCCEEDED = 3
    FAILED = 4
    CANCELLED = 5
    PARTIALLY_SUCCEEDED = 6

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[int, str] = {
    JobState.QUEUED: "Queued",
    JobState.PROCESSING: "Processing",
    JobState.SUCCEEDED: "Succeeded",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
    JobState.PARTIALLY_SUCCEEDED: "Partially succeeded",
}
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.PROCESSING})


@dataclass(frozen=True)
class ApiError:
    """One ``apiError`` of an error response."""

    error_type: str
    error_data: str = ""
    error_message: str = ""


class BulkJobError(Exception):
    """Anything that went wrong: the service's ``apiErrors`` and HTTP status.

    Client-side failures have ``status`` None and one error whose ``error_type`` is
    ``connectionError`` (the service cannot be reached), ``timeout`` (no answer in time),
    ``waitTimeout`` (:meth:`app.client.Client.wait` gave up) or ``invalidResponse``.
    """

    def __init__(
        self, message: str, *, status: int | None = None, errors: list[ApiError] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors: list[ApiError] = errors or []

    @property
    def error_type(self) -> str | None:
        return self.errors[0].error_type if self.errors else None

    @classmethod
    def client_side(cls, error_type: str, message: str, error_data: str = "") -> BulkJobError:
        return cls(message, errors=[ApiError(error_type, error_data, message)])

    @classmethod
    def from_response(cls, response: httpx.Response) -> BulkJobError:
        """The error a non-2xx response stands for (an apiErrors body, or whatever came)."""
        status = response.status_code
        errors = _api_errors(response)
        if errors:
            detail = "; ".join(
                f"{e.error_type}: {e.error_message or e.error_data}".rstrip(": ") for e in errors
            )
        else:
            reason = response.reason_phrase or "error"
            text = " ".join(response.text.split())[:200]
            detail = f"{reason}" + (f": {text}" if text else "")
            errors = [ApiError(f"http{status}", "", detail)]
        return cls(f"{status} {detail}", status=status, errors=errors)


def _api_errors(response: httpx.Response) -> list[ApiError]:
    try:
        body = response.json()
    except ValueError:
        return []
    items = body.get("apiErrors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [
        ApiError(
            str(item.get("errorType", "")),
            str(item.get("errorData", "")),
            str(item.get("errorMessage", "")),
        )
        for item in items
        if isinstance(item, dict)
    ]


@dataclass(frozen=True)
class Job:
    """A bulk job as the service shows it; ``data`` is its JSON as received."""

    id: int
    state: int
    job_type: int
    description: str
    change_stamp: int
    host_name: str
    created_ms: int | None
    started_ms: int | None
    ended_ms: int | None
    total_records: int
    processed_records: int
    succeeded_records: int
    failed_records: int
    data: Mapping[str, Any] = field(repr=False, compare=False)
    # Not started before this time (ms since the epoch), and where its end is POSTed.
    start_after_ms: int | None = None
    notify_url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        try:
            ref_url = str(data["refURL"])
            return cls(
                id=int(ref_url.rstrip("/").rsplit("/", 1)[-1]),
                state=int(data["jobState"]),
                job_type=int(data.get("jobType", 0)),
                description=str(data.get("description", "")),
                change_stamp=int(data.get("changeStamp", 0)),
                host_name=str(data.get("jobHostName", "")),
                created_ms=_opt_int(data.get("createDateTime")),
                started_ms=_opt_int(data.get("startDateTime")),
                ended_ms=_opt_int(data.get("endDateTime")),
                total_records=int(data.get("totalRecords", 0)),
                processed_records=int(data.get("processedRecords", 0)),
                succeeded_records=int(data.get("succeededRecords", 0)),
                failed_records=int(data.get("failedRecords", 0)),
                data=dict(data),
                start_after_ms=_opt_int(data.get("startAfter")),
                notify_url=_opt_str(data.get("notifyURL")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BulkJobError.client_side(
                "invalidResponse", f"the service sent a job this client cannot read: {exc!r}"
            ) from exc

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE_STATES

    @property
    def dry_run(self) -> bool:
        """A dry run: it decided every row and changed nothing."""
        return bool(self.data.get("dryRun", False))

    @property
    def revert_of(self) -> int | None:
        """The job this job reverts, if it is a revert."""
        return _linked_id(self.data.get("revertOf"))

    @property
    def reverted_by(self) -> int | None:
        """The job that reverts this one, if any."""
        return _linked_id(self.data.get("revertedBy"))

    @property
    def retry_of(self) -> int | None:
        """The job whose failed and unprocessed lines this job runs again, if it is a retry."""
        return _linked_id(self.data.get("retryOf"))

    @property
    def retried_by(self) -> int | None:
        """The job that retries this one, if any."""
        return _linked_id(self.data.get("retriedBy"))

    @property
    def stop_after_failures(self) -> int | None:
        """How many failed lines stop the job early, if it has such a limit."""
        return _opt_int(self.data.get("stopAfterFailures"))

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, f"state {self.state}")


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def epoch_ms(when: datetime | int) -> int:
    """A start time as the API takes it: ms since the epoch (a naive datetime is local time)."""
    if isinstance(when, datetime):
        return int(when.timestamp() * 1000)
    return int(when)


@dataclass(frozen=True)
class Page:
    """One page of a job list."""

    jobs: list[Job]
    start_index: int
    results_per_page: int
    total: int


def _linked_id(link: Any) -> int | None:
    if not isinstance(link, Mapping) or "refURL" not in link:
        return None
    return int(str(link["refURL"]).rstrip("/").rsplit("/", 1)[-1])


# The templates the service offers (GET /bulkjob/templates/<kind>).
TEMPLATES = ("ssomigration", "agent", "skillgroup", "calltype", "dialednumber")
