"""A Python client for the bulkjob API (and Cisco UCCE's ``/unifiedconfig/config/bulkjob``).

It talks HTTP only (JSON representations) and needs only httpx and :mod:`app.client_model` (the
jobs, states and errors it hands back, re-exported here): nothing else from this package, so a
script can use it on its own::

    from app.client import Client, JobState

    with Client("http://localhost:8000", token="...") as client:
        job = client.create_from_file("sso.csv", description="wave 1")
        job = client.wait(job.id, on_progress=lambda j: print(j.processed_records))
        if job.state != JobState.SUCCEEDED:
            with open("failed.csv", "wb") as out:
                client.download_failed(job.id, out)

Every failure (a refusal by the service, an unreachable service, a timeout) raises
:class:`BulkJobError`, which carries the service's ``apiErrors`` and the HTTP status. Answers 429
and 503 are retried, waiting as long as their ``Retry-After`` asks (up to ``max_retry_wait``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx

from app.client_downloads import Downloads
from app.client_model import ApiError, BulkJobError, Job, JobState, Page, epoch_ms

KEEP = object()
"""``update(start_after=KEEP)`` (the default) leaves the start time as it is."""

__all__ = [
    "ApiError",
    "BulkJobError",
    "Client",
    "Job",
    "JobState",
    "Page",
]

API_BASE = "/unifiedconfig/config"
RETRY_STATUSES = frozenset({429, 503})
USER_AGENT = "bulkjob-client/0.1"


class Client(Downloads):
    """The bulkjob API over HTTP, authenticated with a bearer token (or HTTP Basic).

    ``url`` is the service's address (``http://host:8000``; a URL ending in
    ``/unifiedconfig/config`` is fine too). ``transport`` lets tests and embedders plug in
    another httpx transport.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        basic_auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = url.rstrip("/")
        if not base.endswith(API_BASE):
            base += API_BASE
        self.base_url = base
        self.retries = max(0, retries)
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base + "/",
            headers=headers,
            auth=basic_auth,
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- jobs --------------------------------------------------------------------------------

    def create(
        self,
        content: bytes | str,
        *,
        description: str | None = None,
        job_type: int | None = None,
        filename: str = "bulkjob.csv",
        dry_run: bool = False,
        start_after: datetime | int | None = None,
        notify_url: str | None = None,
        stop_after_failures: int | None = None,
    ) -> Job:
        """Create a job from CSV ``content`` (bytes are sent as they are: UTF-8 or UTF-16).

        ``dry_run``: decide every row and change nothing; ``start_after``: not before then (a
        datetime, naive meaning local time, or ms since the epoch); ``notify_url``: where the
        service POSTs the job when it ends; ``stop_after_failures``: the job stops, Failed,
        once that many lines failed."""
        if isinstance(content, str):
            content = content.encode("utf-8")
        form: dict[str, str] = {}
        if description is not None:
            form["description"] = description
        if job_type is not None:
            form["jobType"] = str(job_type)
        if dry_run:
            form["dryRun"] = "true"
        if start_after is not None:
            form["startAfter"] = str(epoch_ms(start_after))
        if notify_url is not None:
            form["notifyURL"] = notify_url
        if stop_after_failures is not None:
            form["stopAfterFailures"] = str(int(stop_after_failures))
        response = self._send(
            "POST", "bulkjob", files={"file": (filename, content, "text/csv")}, data=form
        )
        return self._created(response)

    def _created(self, response: httpx.Response) -> Job:
        location = response.headers.get("Location", "")
        try:
            job_id = int(location.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            raise BulkJobError.client_side(
                "invalidResponse",
                f"the service created a job but sent no usable Location: {location!r}",
            ) from None
        return self.get(job_id)

    def create_from_file(
        self,
        path: str | Path,
        *,
        description: str | None = None,
        job_type: int | None = None,
        dry_run: bool = False,
        start_after: datetime | int | None = None,
        notify_url: str | None = None,
        stop_after_failures: int | None = None,
    ) -> Job:
        """Create a job from the CSV file at ``path`` (options as :meth:`create`)."""
        path = Path(path)
        return self.create(
            path.read_bytes(),
            description=description,
            job_type=job_type,
            filename=path.name,
            dry_run=dry_run,
            start_after=start_after,
            notify_url=notify_url,
            stop_after_failures=stop_after_failures,
        )

    def retry(
        self,
        job_id: int,
        *,
        content: bytes | str | None = None,
        description: str | None = None,
        filename: str = "corrected.csv",
    ) -> Job:
        """Create the job that runs a finished job's failed and unprocessed lines again; with
        ``content``, a corrected file (the job's columns plus ``lineNumber``, as the failed
        rows download has them), only the lines it names, with its cells."""
        path = f"bulkjob/{int(job_id)}/retry"
        if content is None:
            body = {} if description is None else {"description": description}
            return self._created(self._send("POST", path, json=body))
        if isinstance(content, str):
            content = content.encode("utf-8")
        form = {} if description is None else {"description": description}
        files = {"file": (filename, content, "text/csv")}
        return self._created(self._send("POST", path, files=files, data=form))

    def revert(self, job_id: int, *, description: str | None = None) -> Job:
        """Create the job that puts back what a finished SSO-migration job changed."""
        body = {} if description is None else {"description": description}
        response = self._send("POST", f"bulkjob/{int(job_id)}/revert", json=body)
        return self._created(response)

    def get(self, job_id: int) -> Job:
        """One job."""
        return Job.from_json(self._json("GET", f"bulkjob/{int(job_id)}"))

    def page(
        self,
        start_index: int = 0,
        results_per_page: int = 25,
        *,
        q: str | None = None,
        sort: str | None = None,
    ) -> Page:
        """One page of jobs (``q`` and ``sort`` as the API takes them)."""
        params: dict[str, str | int] = {
            "startIndex": start_index,
            "resultsPerPage": results_per_page,
        }
        if q:
            params["q"] = q
        if sort:
            params["sort"] = sort
        body = self._json("GET", "bulkjob", params=params)
        info = body.get("pageInfo") or {}
        return Page(
            jobs=[Job.from_json(item) for item in body.get("bulkJobs") or []],
            start_index=int(info.get("startIndex", start_index)),
            results_per_page=int(info.get("resultsPerPage", results_per_page)),
            total=int(info.get("totalResults", 0)),
        )

    def list_jobs(
        self,
        *,
        search: str | None = None,
        state: int | None = None,
        job_type: int | None = None,
        sort: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """Every job matching, a page at a time (newest first unless ``sort`` says otherwise).

        ``search`` is matched as a substring of the description (it may also hold the API's
        ``field:value`` terms); ``state`` and ``job_type`` filter exactly.
        """
        terms = [search] if search else []
        if state is not None:
            terms.append(f"jobState:{int(state)}")
        if job_type is not None:
            terms.append(f"jobType:{int(job_type)}")
        q = " ".join(terms) or None
        seen: set[int] = set()
        start = 0
        while True:
            page = self.page(start, page_size, q=q, sort=sort)
            for job in page.jobs:
                # Jobs created while paging shift the pages; never yield one twice.
                if job.id not in seen:
                    seen.add(job.id)
                    yield job
            start = page.start_index + len(page.jobs)
            if not page.jobs or start >= page.total:
                return

    def wait(
        self,
        job_id: int,
        *,
        interval: float = 1.0,
        timeout: float | None = None,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll the job until it finishes; ``on_progress`` sees it after every poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.finished:
                return job
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BulkJobError.client_side(
                        "waitTimeout",
                        f"job {job_id} is still {job.state_label} after {timeout:g} s",
                        str(job_id),
                    )
                self._sleep(min(interval, remaining))
            else:
                self._sleep(interval)

    def update(
        self,
        job_id: int,
        change_stamp: int,
        *,
        description: str | None = None,
        job_state: int | None = None,
        start_after: datetime | int | object | None = KEEP,
    ) -> Job:
        """PUT: a new description, jobState 5 and/or a Queued job's new start time (None:
        start now), guarded by the job's current changeStamp."""
        body: dict[str, Any] = {"changeStamp": change_stamp}
        if description is not None:
            body["description"] = description
        if job_state is not None:
            body["jobState"] = job_state
        if start_after is not KEEP:
            body["startAfter"] = (
                None if start_after is None else epoch_ms(cast(datetime | int, start_after))
            )
        return Job.from_json(self._json("PUT", f"bulkjob/{int(job_id)}", json=body))

    def reschedule(self, job_id: int, start_after: datetime | int | None) -> Job:
        """Move a Queued job's start time (None: start it now)."""
        return self._with_current_stamp(
            job_id, lambda stamp: self.update(job_id, stamp, start_after=start_after)
        )

    def cancel(self, job_id: int) -> Job:
        """Cancel a Queued or Processing job (a Processing one stops at its next chunk)."""
        return self._with_current_stamp(
            job_id, lambda stamp: self.update(job_id, stamp, job_state=JobState.CANCELLED)
        )

    def _with_current_stamp(self, job_id: int, change: Callable[[int], Job]) -> Job:
        """``change(changeStamp)`` with the job's current stamp, read again if it raced."""
        for attempt in range(3):
            job = self.get(job_id)
            try:
                return change(job.change_stamp)
            except BulkJobError as exc:
                # Someone changed the job between our read and our write: read it again.
                if exc.error_type != "changeStampMismatch" or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def delete(self, job_id: int) -> None:
        """Delete a finished job with its file and log."""
        self._send("DELETE", f"bulkjob/{int(job_id)}")

    # --- HTTP --------------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BulkJobError.client_side(
                "invalidResponse",
                f"{method} {response.request.url} answered {response.status_code} without a "
                "JSON object; is the URL that of a bulkjob service?",
            )
        return body

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._stream(method, path, **kwargs) as response:
            response.read()
            return response

    @contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """The first answer that is not a 429/503 to retry, unread; an error raises."""
        attempt = 0
        while True:
            request = self._http.build_request(method, path, **kwargs)
            try:
                response = self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise BulkJobError.client_side(
                    "timeout", f"no answer from {request.url} in time ({_reason(exc)})"
                ) from exc
            except httpx.TransportError as exc:
                raise BulkJobError.client_side(
                    "connectionError", f"cannot reach {self.base_url}: {_reason(exc)}"
                ) from exc
            try:
                if response.status_code in RETRY_STATUSES and attempt < self.retries:
                    delay = self._retry_delay(response, attempt)
                    if delay is not None:
                        response.close()
                        self._sleep(delay)
                        attempt += 1
                        continue
                if response.is_error:
                    response.read()
                    raise BulkJobError.from_response(response)
                yield response
                return
            finally:
                response.close()

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the wait asked for is too long."""
        asked = _retry_after(response.headers.get("Retry-After"))
        if asked is None:
            return min(0.5 * 2**attempt, self.max_retry_wait)
        return asked if asked <= self.max_retry_wait else None


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    # "[Errno 111] Connection refused" reads better as "connection refused".
    if "] " in text and text.startswith("[Errno"):
        text = text.split("] ", 1)[1]
    return " ".join(text.split())
