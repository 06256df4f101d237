"""The Celery worker: ``celery -A worker:celery_app worker``.

Besides running tasks, every worker sweeps the database for jobs the broker lost (see
``app.jobs.sweeper``) and turns SIGTERM into "finish the chunk in flight, then hand the
job back" (see ``worker.lifecycle``).
"""

from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

from worker import lifecycle, tasks  # noqa: E402,F401  (registers signal handlers and tasks)
