"""The Celery binding: every task runs inside an application context.

The web side only ever sends task *names* (``send_task``): nothing in ``app`` imports ``worker``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from flask import Flask

from app.jobs.brokerfs import TRANSPORT

RUN_JOB = "worker.tasks.run_job"
log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    settings = app.config["SETTINGS"]

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=settings.broker_url,
        task_ignore_result=True,
        result_backend=None,
        # A job is acknowledged when its task ends; a redelivery after a crash is harmless
        # because the job row's lease decides who runs it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        worker_hijack_root_logger=False,
    )
    if settings.broker_url.startswith("filesystem://"):
        # The embedded broker: messages are files under DATA_DIR, shared by web and worker.
        folder = settings.data_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        celery_app.conf.broker_transport = TRANSPORT  # writes each message atomically
        celery_app.conf.broker_transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.25,
        }
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def dispatch(app: Flask, job_id: int) -> bool:
    """Ask a worker to run ``job_id``; the job is committed, so a failure only delays it."""
    try:
        app.extensions["celery"].send_task(RUN_JOB, args=[job_id])
    except Exception:  # the broker is down: the job stays Queued in the database
        log.warning("could not queue job %s; it stays Queued", job_id, exc_info=True)
        return False
    return True
