"""Worker start-up and shutdown: fresh connections per process, the sweeper, graceful stop."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from billiard import process as billiard_process
from celery.signals import worker_process_init, worker_ready, worker_shutting_down
from celery.worker import state as worker_state
from flask import Flask

from app.db import db
from app.jobs import idempotency, notify, sweeper
from app.jobs.queue import dispatch

log = logging.getLogger(__name__)

# Set when this process should stop after the chunk in flight (read by the task).
stopping = threading.Event()
_sweeper_stop = threading.Event()
_in_pool_process = False


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    stopping.set()


@worker_process_init.connect
def _pool_process_init(**_kwargs: Any) -> None:
    """A forked pool process must not use the database connections it inherited; what start-up
    built is kept out of the cyclic garbage collector's way (gc.freeze), so a full collection
    does not pause a job for tens of milliseconds (docs/performance.md)."""
    global _in_pool_process
    _in_pool_process = True
    db.engine.dispose(close=False)
    gc.collect()
    gc.freeze()


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While a job runs in a pool process, SIGTERM means "stop after the chunk in flight".

    Billiard installs its own exit-at-once SIGTERM handler after the process starts, so ours
    is put in place for the length of a task and the previous one restored afterwards. (In a
    solo or threads pool the task runs in the main process: ``worker_shutting_down`` sets the
    flag there instead.)
    """
    if not _in_pool_process or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@worker_shutting_down.connect
def _shutting_down(**_kwargs: Any) -> None:
    """Warm shutdown: running jobs stop after their current chunk and are handed back."""
    stopping.set()
    _sweeper_stop.set()
    for child in billiard_process.active_children():
        if child.pid and child.pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)


def _free_slots(consumer: Any) -> int:
    concurrency = getattr(getattr(consumer, "controller", None), "concurrency", 1) or 1
    return int(concurrency) - len(worker_state.active_requests)


def _sweep_forever(app: Flask, consumer: Any) -> None:
    settings = app.config["SETTINGS"]
    while not _sweeper_stop.wait(settings.sweep_seconds):
        try:
            sweep(app, _free_slots(consumer))
        except Exception:
            log.exception("sweep failed; trying again in %s s", settings.sweep_seconds)


def sweep(app: Flask, free_slots: int) -> None:
    """One sweep: jobs and notifications the broker lost, and expired Idempotency-Keys."""
    settings = app.config["SETTINGS"]
    # Only with room to run a job: while every slot is busy, a Queued job is simply
    # waiting its turn in the broker, and re-sending it would only add duplicates.
    for job_id in sweeper.due_jobs(db, settings, free_slots):
        log.info("sweep: sending job %s again", job_id)
        if not dispatch(app, job_id):
            sweeper.mark_dispatched(db, job_id, dispatched=False)
    # Notifications the broker lost (or could not take when their job ended).
    for notification_id in notify.due(db, settings):
        if not notify.dispatch(app, notification_id):
            notify.unmark_dispatched(db, notification_id)
    idempotency.forget_expired(db)


@worker_ready.connect
def _start_sweeper(sender: Any = None, **_kwargs: Any) -> None:
    from worker import flask_app

    thread = threading.Thread(
        target=_sweep_forever, args=(flask_app, sender), name="bulkjob-sweeper", daemon=True
    )
    thread.start()
