"""What start-up builds is moved out of the cyclic garbage collector's way (gc.freeze) in the
processes that serve: a gunicorn worker once the app is loaded, and a Celery pool process
(docs/performance.md)."""

from __future__ import annotations

import gc
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from worker import lifecycle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()  # the test process's own objects go back to the collector


def test_gunicorn_finds_its_settings_and_freezes_each_worker(unfrozen: None) -> None:
    # gunicorn reads ./gunicorn.conf.py; the Procfile and `make run` start it from the root.
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "app:create_app()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"^post_worker_init\s+= <post_worker_init\(\)>$", printed, re.MULTILINE)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings["post_worker_init"](None)
    assert gc.get_freeze_count() > 0


def test_a_pool_process_freezes_what_it_inherited(
    app: Flask, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "_in_pool_process", False)  # restored afterwards
    lifecycle._pool_process_init()
    assert gc.get_freeze_count() > 0
