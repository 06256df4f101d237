"""Prometheus metrics, read from the database when they are scraped.

Workers run jobs on other processes and other machines; the database is where all their
figures meet. So there is no shared registry or multiprocess directory: every web process (any
gunicorn worker on any node) answers a scrape with the same numbers. The counters and
histograms come from the running totals the engine keeps (app/jobs/totals.py: a few rows per
job type, whatever the number of jobs, and deleting a job lowers none of them); the gauges from
the active jobs (an indexed count of Queued and Processing jobs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db import Database
from app.db.models import Job, JobState, table
from app.db.sql import now_ms
from app.jobs import totals
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


def _histogram(
    name: str,
    doc: str,
    histogram: str,
    bounds: Sequence[float],
    types: Sequence[int],
    kept: dict[tuple[int, str], int],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["job_type"])
    for code in types:
        buckets = [
            (repr(float(bound)), float(kept.get((code, totals.bucket_name(histogram, bound)), 0)))
            for bound in bounds
        ]
        buckets.append(("+Inf", float(kept.get((code, f"{histogram}_count"), 0))))
        family.add_metric([str(code)], buckets, kept.get((code, f"{histogram}_sum_ms"), 0) / 1000)
    return family


def _counter(
    name: str, doc: str, types: Sequence[int], kept: dict[tuple[int, str], int], total: str
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["job_type"])
    for code in types:
        family.add_metric([str(code)], kept.get((code, total), 0))
    return family


class JobsCollector(Collector):
    """The bulkjob_* metrics, read from the database at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        with self.database.read() as conn:
            kept = totals.read(conn)
            active: dict[int, int] = {
                state: count
                for state, count in conn.execute(
                    select(jobs.c.job_state, func.count())
                    .where(jobs.c.job_state.in_(JobState.ACTIVE))
                    .group_by(jobs.c.job_state)
                )
            }
            # A scheduled job waits from its start time on, not from its creation.
            due = func.coalesce(jobs.c.start_after_ms, jobs.c.create_ms)
            oldest_queued = conn.execute(
                select(func.min(due)).where(jobs.c.job_state == JobState.QUEUED)
            ).scalar()

        # Every registered type and finished state is present from the start (at 0), so a
        # first job shows as an increase rather than as a new series.
        types = sorted(set(jobtypes.registry()) | {code for code, _name in kept})
        yield _counter("bulkjob_jobs_created", "Jobs created, by job type.", types, kept, "created")
        family = CounterMetricFamily(
            "bulkjob_jobs_finished",
            "Jobs finished, by job type and final state.",
            labels=["job_type", "state"],
        )
        for code in types:
            for state in sorted(JobState.FINISHED):
                n = kept.get((code, f"finished:{state}"), 0)
                family.add_metric([str(code), STATE_LABELS[state]], n)
        yield family
        yield _counter(
            "bulkjob_records_processed",
            "Data records processed by finished jobs, by job type.",
            types,
            kept,
            "processed",
        )
        yield _counter(
            "bulkjob_records_failed",
            "Data records that failed in finished jobs, by job type.",
            types,
            kept,
            "failed",
        )
        yield GaugeMetricFamily(
            "bulkjob_jobs_queued",
            "Jobs waiting for a worker.",
            value=active.get(JobState.QUEUED, 0),
        )
        yield GaugeMetricFamily(
            "bulkjob_jobs_processing",
            "Jobs a worker is running.",
            value=active.get(JobState.PROCESSING, 0),
        )
        age = 0.0 if oldest_queued is None else max(0.0, (now_ms() - oldest_queued) / 1000)
        yield GaugeMetricFamily(
            "bulkjob_oldest_queued_job_age_seconds",
            "How long the oldest Queued job has waited (0 when none waits).",
            value=age,
        )
        yield _histogram(
            "bulkjob_job_queue_wait_seconds",
            "Time from a job's creation to its start, by job type.",
            "wait",
            totals.WAIT_BUCKETS,
            types,
            kept,
        )
        yield _histogram(
            "bulkjob_job_duration_seconds",
            "Time from a finished job's start to its end, by job type.",
            "duration",
            totals.DURATION_BUCKETS,
            types,
            kept,
        )
