"""Thin tasks: each one calls the job engine with ids, never ORM objects."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from app.extensions import db
from app.queue import RUN_JOB
from app.services import engine


@shared_task(name=RUN_JOB, ignore_result=True)
def run_job(job_id: int) -> int | None:
    """Run bulk job ``job_id`` (a no-op if another worker holds it or it has finished)."""
    return engine.run_job(db, current_app.config["SETTINGS"], job_id)
