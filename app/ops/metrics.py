"""Prometheus metrics computed from the jobs table when they are scraped.

Workers run jobs on other processes and other machines; the jobs table is where all their
figures meet. So there is no shared registry or multiprocess directory: every web process (any
gunicorn worker on any node) answers a scrape with the same numbers, read by two aggregate
queries (one row per job type and state, and one per job type with the histogram buckets summed
in SQL), whatever the number of jobs.

The totals are of the jobs the database holds: deleting a job lowers them, which Prometheus reads
as a counter reset (``rate``/``increase`` over a window holding a deletion overstate it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, func, select

from app.db import Database
from app.db.models import Job, JobState, table
from app.db.sql import now_ms
from app.jobs import types as jobtypes

jobs = table(Job)

STATE_LABELS = {
    JobState.QUEUED: "queued",
    JobState.PROCESSING: "processing",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
    JobState.PARTIAL: "partially_succeeded",
}
# Seconds. A job of a few rows takes well under a second; a 3 MB file a few seconds.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Seconds from the create to the start; over 60 means no worker picked the job up.
WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


def _bucket_sums(value: ColumnElement[Any], bounds: Sequence[float]) -> list[Any]:
    """``SUM(CASE WHEN value <= bound THEN 1 ELSE 0 END)`` per bound, ``value`` in ms."""
    return [func.sum(case((value <= round(bound * 1000), 1), else_=0)) for bound in bounds]


def _histogram(
    name: str, doc: str, bounds: Sequence[float], rows: list[tuple[str, int, float, list[int]]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["job_type"])
    for job_type, count, total_seconds, cumulative in rows:
        buckets = [(_le(bound), float(n or 0)) for bound, n in zip(bounds, cumulative, strict=True)]
        buckets.append(("+Inf", float(count)))
        family.add_metric([job_type], buckets, total_seconds)
    return family


def _le(bound: float) -> str:
    return repr(float(bound))


class JobsCollector(Collector):
    """The bulkjob_* metrics, read from the database at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        # A scheduled job waits from its start time on, not from its creation.
        due = func.coalesce(jobs.c.start_after_ms, jobs.c.create_ms)
        wait = jobs.c.start_ms - due
        duration = jobs.c.end_ms - jobs.c.start_ms
        with self.database.read() as conn:
            by_state = conn.execute(
                select(
                    jobs.c.job_type,
                    jobs.c.job_state,
                    func.count(),
                    func.coalesce(func.sum(jobs.c.processed_records), 0),
                    func.coalesce(func.sum(jobs.c.failed_records), 0),
                    func.min(due),
                ).group_by(jobs.c.job_type, jobs.c.job_state)
            ).all()
            timings = conn.execute(
                select(
                    jobs.c.job_type,
                    func.count(),
                    func.coalesce(func.sum(wait), 0),
                    func.count(jobs.c.end_ms),
                    func.coalesce(func.sum(duration), 0),
                    *_bucket_sums(wait, WAIT_BUCKETS),
                    *_bucket_sums(duration, DURATION_BUCKETS),
                )
                .where(jobs.c.start_ms.is_not(None))
                .group_by(jobs.c.job_type)
            ).all()

        # Every registered type and finished state is present from the start (at 0), so a
        # first job shows as an increase rather than as a new series.
        types = {str(code) for code in jobtypes.registry()} | {str(r[0]) for r in by_state}
        created = dict.fromkeys(types, 0)
        finished = {(t, s): 0 for t in types for s in JobState.FINISHED}
        processed = dict.fromkeys(types, 0)
        failed = dict.fromkeys(types, 0)
        active = dict.fromkeys(JobState.ACTIVE, 0)
        oldest_queued: int | None = None
        for job_type, state, count, n_processed, n_failed, first_create in by_state:
            key = str(job_type)
            created[key] += count
            processed[key] += int(n_processed)
            failed[key] += int(n_failed)
            if state in JobState.FINISHED:
                finished[(key, state)] += count
            elif state in active:
                active[state] += count
            if state == JobState.QUEUED and first_create is not None:
                oldest_queued = min(first_create, oldest_queued or first_create)

        family = CounterMetricFamily(
            "bulkjob_jobs_created", "Jobs created, by job type.", labels=["job_type"]
        )
        for key, n in sorted(created.items()):
            family.add_metric([key], n)
        yield family

        family = CounterMetricFamily(
            "bulkjob_jobs_finished",
            "Jobs finished, by job type and final state.",
            labels=["job_type", "state"],
        )
        for (key, state), n in sorted(finished.items()):
            family.add_metric([key, STATE_LABELS[state]], n)
        yield family

        family = CounterMetricFamily(
            "bulkjob_records_processed", "Data records processed, by job type.", labels=["job_type"]
        )
        for key, n in sorted(processed.items()):
            family.add_metric([key], n)
        yield family

        family = CounterMetricFamily(
            "bulkjob_records_failed", "Data records that failed, by job type.", labels=["job_type"]
        )
        for key, n in sorted(failed.items()):
            family.add_metric([key], n)
        yield family

        yield GaugeMetricFamily(
            "bulkjob_jobs_queued",
            "Jobs waiting for a worker.",
            value=active[JobState.QUEUED],
        )
        yield GaugeMetricFamily(
            "bulkjob_jobs_processing",
            "Jobs a worker is running.",
            value=active[JobState.PROCESSING],
        )
        age = 0.0 if oldest_queued is None else max(0.0, (now_ms() - oldest_queued) / 1000)
        yield GaugeMetricFamily(
            "bulkjob_oldest_queued_job_age_seconds",
            "How long the oldest Queued job has waited (0 when none waits).",
            value=age,
        )

        n_wait = len(WAIT_BUCKETS)
        by_type = {str(row[0]): row[1:] for row in timings}
        wait_rows = []
        duration_rows = []
        for key in sorted(types | set(by_type)):
            started, wait_ms, ended, duration_ms, *buckets = by_type.get(
                key, (0, 0, 0, 0, *[0] * (n_wait + len(DURATION_BUCKETS)))
            )
            wait_rows.append((key, int(started), int(wait_ms) / 1000, buckets[:n_wait]))
            duration_rows.append((key, int(ended), int(duration_ms) / 1000, buckets[n_wait:]))
        yield _histogram(
            "bulkjob_job_queue_wait_seconds",
            "Time from a job's creation to its start, by job type.",
            WAIT_BUCKETS,
            wait_rows,
        )
        yield _histogram(
            "bulkjob_job_duration_seconds",
            "Time from a finished job's start to its end, by job type.",
            DURATION_BUCKETS,
            duration_rows,
        )
