"""Thin tasks: each one calls the job engine with ids, never ORM objects."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from app.api.schemas import bulk_job_schema
from app.db import db
from app.jobs import engine, notify, sweeper
from app.jobs.queue import RUN_JOB, dispatch
from worker.lifecycle import stop_on_sigterm, stopping


@shared_task(name=RUN_JOB, ignore_result=True)
def run_job(job_id: int) -> int | None:
    """Run bulk job ``job_id`` (a no-op if another worker holds it or it has finished)."""
    if stopping.is_set():
        # This process is shutting down and must not start a job: pass it on.
        sweeper.mark_dispatched(db, job_id, dispatched=dispatch(current_app, job_id))
        return None
    with stop_on_sigterm():
        runner = engine.run_job(db, current_app.config["SETTINGS"], job_id, stopping.is_set)
    if runner.released:
        # This worker is shutting down: send the job on so another worker resumes it now.
        sweeper.mark_dispatched(db, job_id, dispatched=dispatch(current_app, job_id))
    if runner.final_state is not None:
        notify.send_pending(current_app, db, job_id)
    return runner.final_state


@shared_task(name=notify.NOTIFY, ignore_result=True)
def notify_job(notification_id: int) -> None:
    """One try of a job's end notification; the next try, if any, is sent with its delay."""
    delay = notify.deliver(
        db, current_app.config["SETTINGS"], notification_id, bulk_job_schema.dump
    )
    if delay is not None and notify.dispatch(current_app, notification_id, countdown=delay):
        notify.mark_dispatched(db, notification_id)
