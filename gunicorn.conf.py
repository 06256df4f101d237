"""gunicorn's settings for the web process; gunicorn reads this file from the working directory
(the repository's root, where the Procfile and ``make run`` start it). Command-line flags and
``GUNICORN_CMD_ARGS`` still override it.
"""

import gc
from typing import Any


def on_starting(server: Any) -> None:
    """Check the settings once, in the master, before any worker starts: a malformed one stops
    gunicorn with one line naming it (``app.load_settings``), where a worker failing to load
    the app would be started again and again."""
    from app import load_settings

    load_settings()


def post_worker_init(worker: Any) -> None:
    """Once the app is loaded, keep what start-up built out of the cyclic garbage collector's
    way (``gc.freeze``): a full collection then walks a request's objects, not the whole
    application's, and stops pausing a request now and then for tens of milliseconds
    (docs/performance.md)."""
    gc.collect()
    gc.freeze()
