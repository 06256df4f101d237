"""The Celery worker: ``celery -A worker:celery_app worker``."""

from celery.signals import worker_process_init

from app import create_app
from app.extensions import db

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

from worker import tasks  # noqa: E402,F401  (registers the tasks)


@worker_process_init.connect
def _fresh_connections(**_kwargs: object) -> None:
    """A forked pool process must not share the parent's database connections."""
    db.engine.dispose(close=False)
