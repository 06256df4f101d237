"""The job engine: claim a job, run its records in chunks, record each outcome, finish it.

Plain Python over the database; Celery only delivers "run job N". Every chunk commits its
records' outcomes, the agents it changed, the job's counters and a renewed lease together, so
a crash loses at most the chunk in flight, and a worker that resumes the job starts after the
last committed line. The lease (owner + expiry on the job row) is taken with one conditional
UPDATE, so two deliveries of the same task can never both run a job.

Transient database errors (a dropped connection, a lock or serialization failure, SQLite's
"database is locked") are retried with backoff for ``db_retry_seconds``; past that the runner
gives up *for now* (the job is not failed: its lease lapses and the sweeper has it resumed).
A job fails only for what retrying cannot mend. A stop request (SIGTERM) ends the run after the
chunk in flight commits; the runner then releases the job so another worker resumes it at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Integer, cast, false, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError, SQLAlchemyError

from app.config import Settings
from app.db import Database
from app.db.models import Job, JobEvent, JobFile, JobLine, JobState, table
from app.db.sql import db_now_ms, insert_rows
from app.jobs import totals
from app.jobs import types as jobtypes
from app.jobs.store import add_event, hold_for_window, record_notification
from app.jobs.types.base import Run
from app.jobs.types.csvfile import Record

jobs = table(Job)
files = table(JobFile)
lines = table(JobLine)
events = table(JobEvent)
log = logging.getLogger(__name__)

_LINE_COLUMNS = ("job_id", "line_number", "at_ms", "ok", "message", "detail")


T = TypeVar("T")


class LeaseLost(Exception):
    """Another worker took the job over (our lease lapsed); stop without writing."""


def is_transient(exc: BaseException) -> bool:
    """A database error that may well not happen again: worth retrying."""
    if isinstance(exc, PendingRollbackError):  # a connection left unusable by such an error
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError)
    )


@dataclass
class _Counts:
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    last_line: int = 0


def worker_identity(host_name: str) -> str:
    return f"{host_name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Runs one job to its end (or until cancelled, or until its lease is lost)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        job_id: int,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db = db
        self.settings = settings
        self.job_id = job_id
        self.should_stop = should_stop
        self.owner = worker_identity(settings.host_name)
        self.counts = _Counts()
        # True when the run ended by handing the job back (shutdown): the caller re-dispatches.
        self.released = False
        self.retries = 0
        self.final_state: int | None = None
        self.run_state = Run(job_id, settings, None)
        # Known once claimed: for the totals /metrics reads (app/jobs/totals.py).
        self.job_type_code = 0
        self.start_ms = 0
        self._renewed = 0.0  # time.monotonic() of the last lease renewal

    def _retrying(self, what: str, action: Callable[[], T]) -> T:
        """``action()``, retried with backoff while it fails with a transient database error."""
        deadline = time.monotonic() + self.settings.db_retry_seconds
        delay = 0.1
        while True:
            try:
                return action()
            except SQLAlchemyError as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                self.retries += 1
                log.warning(
                    "job %s: transient database error while %s, retrying in %.1f s: %s",
                    self.job_id,
                    what,
                    delay,
                    str(exc).splitlines()[0],
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _lease_until(self, now: int) -> int:
        return now + self.settings.lease_seconds * 1000

    def claim(self) -> bool:
        """Take the job if it is Queued, or Processing with a lapsed lease."""
        return self._retrying("claiming the job", self._claim)

    def _claim(self) -> bool:
        with self.db.write() as conn:
            now = db_now_ms(conn)  # the database's clock: every node compares leases on it
            job = conn.execute(
                select(
                    jobs.c.start_ms,
                    jobs.c.create_ms,
                    jobs.c.job_state,
                    jobs.c.job_type,
                    jobs.c.lease_owner,
                    jobs.c.runs_without_progress,
                    jobs.c.start_after_ms,
                ).where(jobs.c.id == self.job_id)
            ).first()
            if job is None:
                return False
            started_before = job.start_ms
            if job.job_state == JobState.QUEUED and (job.start_after_ms or 0) > now:
                # Scheduled for later: the sweep sends it again once its time has come.
                conn.execute(
                    update(jobs).where(jobs.c.id == self.job_id).values(dispatched_ms=None)
                )
                return False
            if job.job_state == JobState.QUEUED and hold_for_window(
                conn, self.job_id, self.settings.maintenance_windows, now
            ):
                return False
            claimable = (
                jobs.c.id == self.job_id,
                (
                    (jobs.c.job_state == JobState.QUEUED)
                    & (jobs.c.cancel_requested == false())
                    & (jobs.c.start_after_ms.is_(None) | (jobs.c.start_after_ms <= now))
                )
                | ((jobs.c.job_state == JobState.PROCESSING) & (jobs.c.lease_until_ms < now)),
            )
            if job.runs_without_progress >= self.settings.max_attempts:
                return self._give_up(conn, claimable, job)
            result = conn.execute(
                update(jobs)
                .where(*claimable)
                .values(
                    job_state=JobState.PROCESSING,
                    lease_owner=self.owner,
                    lease_until_ms=self._lease_until(now),
                    start_ms=func.coalesce(jobs.c.start_ms, now),
                    # Reset when a chunk commits or the job is handed back: what is left counts
                    # the runs in a row that died before committing anything.
                    runs_without_progress=jobs.c.runs_without_progress + 1,
                )
            )
            if result.rowcount != 1:
                return False
            self.counts = self._committed(conn)
            host = self.settings.host_name
            self.job_type_code = job.job_type
            self.start_ms = now if started_before is None else started_before
            if started_before is None:
                # The queue wait of a scheduled job counts from its start time.
                totals.started(conn, job.job_type, now - (job.start_after_ms or job.create_ms))
                add_event(conn, self.job_id, f"Job started on {host}", now=now)
                if jobtypes.get(job.job_type).header:
                    add_event(conn, self.job_id, "Processing line 1: Header", now=now)
            else:
                add_event(
                    conn,
                    self.job_id,
                    f"Job resumed on {host} after {jobtypes.get(job.job_type).unit} "
                    f"{self.counts.last_line}",
                    after_line=self.counts.last_line,
                    now=now,
                )
        return True

    def _committed(self, conn: Connection) -> _Counts:
        """The job's counts as its committed lines give them."""
        done = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(cast(lines.c.ok, Integer)), 0),
                func.coalesce(func.max(lines.c.line_number), 0),
            ).where(lines.c.job_id == self.job_id)
        ).one()
        return _Counts(done[0], done[1], done[0] - done[1], last_line=done[2])

    def _give_up(self, conn: Connection, claimable: tuple[Any, ...], job: Any) -> bool:
        """A poison job (each run dies before committing a chunk): fail it instead of running
        it again. Lines already applied stay applied. Returns False: there is nothing to run."""
        done = self._committed(conn)
        now = db_now_ms(conn)
        result = conn.execute(
            update(jobs)
            .where(*claimable)
            .values(
                job_state=JobState.FAILED,
                end_ms=now,
                lease_owner=None,
                lease_until_ms=None,
                processed_records=done.processed,
                succeeded_records=done.succeeded,
                failed_records=done.failed,
            )
        )
        if result.rowcount != 1:
            return False
        runs = job.runs_without_progress
        duration = None if job.start_ms is None else now - job.start_ms
        totals.finished(conn, job.job_type, JobState.FAILED, done.processed, done.failed, duration)
        record_notification(conn, self.job_id, now)
        host = (job.lease_owner or "").split(":", 1)[0] or "an unknown worker"
        self.counts = done
        for message in (
            f"Job failed: gave up after {runs} runs that stopped without progress; last on {host}",
            self._summary(),
        ):
            add_event(conn, self.job_id, message, after_line=done.last_line, now=now)
        self.final_state = JobState.FAILED
        log.error("job %s: gave up after %s runs without progress", self.job_id, runs)
        return False

    def load(self) -> tuple[jobtypes.JobType, Iterator[Record]]:
        """The job's type and the records not yet committed."""
        with self.db.read() as conn:
            job = conn.execute(
                select(
                    jobs.c.job_type, jobs.c.origin, jobs.c.dry_run, jobs.c.stop_after_failures
                ).where(jobs.c.id == self.job_id)
            ).one()
            content = conn.execute(
                select(files.c.content).where(files.c.job_id == self.job_id)
            ).scalar_one()
        job_type = jobtypes.get(job.job_type)
        self.run_state = Run(
            self.job_id, self.settings, job.origin, job_type.unit, dry_run=job.dry_run
        )
        self.run_state.stop_after_failures = job.stop_after_failures
        last = self.counts.last_line
        records = job_type.read(bytes(content))
        del content
        return job_type, (r for r in records if r.line_number > last)

    def run(self) -> int | None:
        """Claim and run the job; return its final state, or None if it was not ours to run."""
        if not self.claim():
            if self.final_state is None:  # else: the claim failed a poison job
                log.info("job %s: not claimed (running elsewhere or finished)", self.job_id)
            return self.final_state
        log.info("job %s claimed", self.job_id, extra={"job_id": self.job_id, "worker": self.owner})
        return self.process()

    def process(self) -> int | None:
        """Run the claimed job's remaining records to the end, a chunk at a time."""
        try:
            job_type, records = self._retrying("reading the file", self.load)
            while True:
                chunk = list(itertools.islice(records, self.settings.chunk_size))
                done = self.counts
                if chunk and self.run_state.failed_enough(done.failed, done.last_line):
                    return self._retrying("stopping", lambda: self.finish(False, True))
                if not chunk:
                    return self._retrying("finishing", lambda: self.finish(cancelled=False))
                if self.run_chunk(job_type, chunk) is not None:
                    return self._retrying("cancelling", lambda: self.finish(cancelled=True))
                if self.run_state.stopped is not None:
                    return self._retrying("finishing", lambda: self.finish(cancelled=False))
                if self.should_stop():
                    self._retrying("handing the job back", self.release)
                    return None
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; stopping", self.job_id)
            return None
        except SQLAlchemyError as exc:
            if not is_transient(exc):
                log.exception("job %s failed", self.job_id)
                return self.fail(f"{type(exc).__name__}: {exc}")
            # Not a failure of the job: the database is unreachable. The lease lapses and the
            # sweeper has the job resumed from its last committed chunk.
            log.error(
                "job %s: database unavailable for %s s; leaving the job to be resumed: %s",
                self.job_id,
                self.settings.db_retry_seconds,
                str(exc).splitlines()[0],
            )
            return None
        except Exception as exc:
            log.exception("job %s failed", self.job_id)
            return self.fail(f"{type(exc).__name__}: {exc}")

    def run_chunk(self, job_type: jobtypes.JobType, chunk: list[Record]) -> str | None:
        """Apply one chunk and commit it with its outcomes; return who cancelled, if anyone."""
        self.run_state.keep_alive = self._keep_alive
        self._renewed = time.monotonic()
        job_type.prepare(chunk, self.run_state)
        return self._retrying("applying a chunk", lambda: self._run_chunk(job_type, chunk))

    def _keep_alive(self) -> None:
        """Renew the lease once a third of it has passed since the last renewal (work between
        chunks that takes longer than a lease: hashing an agent file's passwords)."""
        if time.monotonic() - self._renewed < self.settings.lease_seconds / 3:
            return

        def renew() -> None:
            with self.db.write() as conn:
                until = self._lease_until(db_now_ms(conn))
                self._save_counts(conn, self.counts, lease_until_ms=until)

        self._retrying("renewing the lease", renew)
        self._renewed = time.monotonic()

    def _run_chunk(self, job_type: jobtypes.JobType, chunk: list[Record]) -> str | None:
        with self.db.write() as conn:
            cancelled_by = self._check_lease(conn)
            if cancelled_by is not None:
                return cancelled_by
            run = self.run_state
            run.failed = self.counts.failed
            run.stopped = None
            outcomes = job_type.apply_chunk(conn, chunk, run)
            at = db_now_ms(conn)
            insert_rows(
                conn,
                "job_lines",
                _LINE_COLUMNS,
                [(self.job_id, o.line_number, at, o.ok, o.message, o.detail) for o in outcomes],
            )
            succeeded = sum(1 for o in outcomes if o.ok)
            counts = self.counts
            new = _Counts(
                processed=counts.processed + len(outcomes),
                succeeded=counts.succeeded + succeeded,
                failed=counts.failed + len(outcomes) - succeeded,
                last_line=outcomes[-1].line_number if outcomes else counts.last_line,
            )
            self._save_counts(
                conn, new, lease_until_ms=self._lease_until(at), runs_without_progress=0
            )
        self.counts = new
        return None

    def _check_lease(self, conn: Connection) -> str | None:
        """Raise LeaseLost if the job is no longer ours; return the canceller if cancelled."""
        row = conn.execute(
            select(jobs.c.lease_owner, jobs.c.cancel_requested).where(jobs.c.id == self.job_id)
        ).first()
        if row is None or row.lease_owner != self.owner:
            raise LeaseLost
        if row.cancel_requested:
            return "cancelled"
        return None

    def _save_counts(self, conn: Connection, counts: _Counts, **values: Any) -> None:
        result = conn.execute(
            update(jobs)
            .where(jobs.c.id == self.job_id, jobs.c.lease_owner == self.owner)
            .values(
                processed_records=counts.processed,
                succeeded_records=counts.succeeded,
                failed_records=counts.failed,
                **values,
            )
        )
        if result.rowcount != 1:
            raise LeaseLost

    def finish(self, cancelled: bool, failed_enough: bool = False) -> int:
        counts = self.counts
        unit = self.run_state.unit
        stopped = self.run_state.stopped
        if cancelled:
            state, message = JobState.CANCELLED, f"Job cancelled after {unit} {counts.last_line}"
        elif counts.failed == 0 and counts.processed > 0:
            state, message = JobState.SUCCEEDED, "Job completed successfully"
        elif counts.succeeded == 0 or failed_enough:
            state, message = JobState.FAILED, "Job failed due to errors"
        else:
            state, message = JobState.PARTIAL, "Job partially completed due to errors"
        messages = [message, self._summary()]
        if stopped is not None:
            messages.insert(0, f"Job stopped early: {stopped}")
        self._end(state, messages)
        return state

    def release(self) -> None:
        """Hand the job back after a committed chunk (shutdown): another worker resumes it."""
        with self.db.write() as conn:
            now = db_now_ms(conn)
            self._save_counts(
                conn,
                self.counts,
                lease_owner=None,
                lease_until_ms=0,
                dispatched_ms=None,
                runs_without_progress=0,  # a graceful hand-back is not a run that died
            )
            add_event(
                conn,
                self.job_id,
                f"Worker {self.settings.host_name} stopping after {self.run_state.unit} "
                f"{self.counts.last_line}; "
                "the job will resume on another worker",
                after_line=self.counts.last_line,
                now=now,
            )
        self.released = True

    def fail(self, reason: str) -> int | None:
        try:
            self._retrying(
                "failing the job",
                lambda: self._end(JobState.FAILED, [f"Job failed: {reason}", self._summary()]),
            )
        except (LeaseLost, SQLAlchemyError):
            log.exception("job %s: could not record its failure", self.job_id)
            return None
        return JobState.FAILED

    def _tally(self, conn: Connection) -> str | None:
        """The type's last log line (what the job created, updated and deleted), if any."""
        if not self.job_type_code:
            return None
        return jobtypes.get(self.job_type_code).summary(conn, self.job_id, self.run_state.dry_run)

    def _summary(self) -> str:
        c = self.counts
        unit = self.run_state.unit
        return f"{c.processed} {unit}s processed, {c.succeeded} succeeded, {c.failed} failed"

    def _end(self, state: int, messages: list[str]) -> None:
        with self.db.write() as conn:
            now = db_now_ms(conn)
            self._save_counts(
                conn,
                self.counts,
                job_state=state,
                end_ms=now,
                lease_owner=None,
                lease_until_ms=None,
            )
            tally = self._tally(conn)
            for message in [*messages, *([tally] if tally else [])]:
                add_event(conn, self.job_id, message, after_line=self.counts.last_line, now=now)
            record_notification(conn, self.job_id, now)
            c = self.counts
            totals.finished(
                conn, self.job_type_code, state, c.processed, c.failed, now - self.start_ms
            )
        log.info(
            "job %s finished: %s",
            self.job_id,
            JobState.NAMES.get(state, state),
            extra={
                "job_id": self.job_id,
                "state": state,
                "processed": c.processed,
                "succeeded": c.succeeded,
                "failed": c.failed,
            },
        )


def run_job(
    db: Database,
    settings: Settings,
    job_id: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> JobRunner:
    """Run job ``job_id`` if it is ours to run; the runner tells what happened."""
    runner = JobRunner(db, settings, job_id, should_stop)
    runner.final_state = runner.run()
    return runner
