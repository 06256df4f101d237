"""The embedded broker writes each message atomically (kombu issue #1551: a consumer that takes a
message file while it is still being written stops with a JSONDecodeError)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from kombu.transport import virtual

from app.jobs import brokerfs


def test_the_embedded_broker_uses_the_atomic_transport(app: Flask) -> None:
    celery = app.extensions["celery"]
    with celery.connection_for_write() as connection:
        assert connection.get_transport_cls() is brokerfs.Transport


def test_a_message_is_whole_when_it_appears_and_partial_files_are_skipped(
    app: Flask, tmp_path: Path
) -> None:
    celery = app.extensions["celery"]
    folder = Path(app.config["SETTINGS"].data_dir) / "broker" / "queue"
    with celery.connection_for_write() as connection:
        channel = connection.default_channel
        # What a slow writer leaves behind while it writes: a consumer must not take it.
        (folder / "0_torn.celery.msg.part").write_bytes(b"")
        channel._put("celery", {"body": "x" * 100_000})
        names = sorted(path.name for path in folder.iterdir())
        # The torn file sorts first (kombu names messages by a monotonic clock in ms, never
        # starting with 0), so the consumer meets it first, and must pass it by.
        assert names[0] == "0_torn.celery.msg.part"
        assert len(names) == 2 and names[1].endswith(".celery.msg"), names
        assert channel._get("celery") == {"body": "x" * 100_000}
        assert [path.name for path in folder.iterdir()] == ["0_torn.celery.msg.part"]


def test_one_wait_for_messages_is_short_so_a_worker_stops_promptly(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery's loop asks for 2 s per wait and waits once more after SIGTERM; the embedded broker
    # waits at most DRAIN_SECONDS, so a worker begins to stop within about a second.
    asked: list[float | None] = []

    def drain(self: Any, connection: Any, timeout: float | None = None) -> None:
        asked.append(timeout)
        raise TimeoutError()

    monkeypatch.setattr(virtual.Transport, "drain_events", drain)
    celery = app.extensions["celery"]
    with celery.connection_for_write() as connection:
        for timeout in (2.0, 0.1, None):
            with pytest.raises(TimeoutError):
                connection.drain_events(timeout=timeout)

    assert asked == [brokerfs.DRAIN_SECONDS, 0.1, None]
    assert brokerfs.DRAIN_SECONDS <= 0.5
