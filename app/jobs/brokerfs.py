"""The embedded broker: kombu's filesystem transport, with each message written atomically.

kombu writes a message file in place, so a consumer polling the folder can take it while it is
still empty and stop with "Unrecoverable error: JSONDecodeError" (kombu issue #1551). It
happened here when a worker's sweeper re-sent a job while the same worker polled: that worker
consumed nothing more. Here a message is written under a name consumers skip (it does not end
in ``.<queue>.msg``) and renamed into place; a rename within one folder is atomic.

One wait for messages also lasts at most DRAIN_SECONDS, so a worker on this broker stops within
about a second of SIGTERM, not several.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

# Celery's ``broker_transport`` for a ``filesystem://`` broker URL (app.queue).
TRANSPORT = "app.jobs.brokerfs:Transport"
DRAIN_SECONDS = 0.5  # the longest one wait for messages lasts (see Transport.drain_events)


class Channel(filesystem.Channel):
    # kombu's own base classes name the second parameter differently (message / payload).
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's own name (milliseconds first, so files sort in sending order), then the rename.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(dumps(payload).encode("utf-8"))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: Any = None, **_kwargs: Any) -> Any:
        # Celery's loop for polling transports waits up to 2 s per call, and calls once more
        # after a shutdown signal: a worker took about 4 s to begin stopping on SIGTERM. Shorter
        # calls let it stop within about a second; the folder is polled as often as before.
        if timeout is not None:
            timeout = min(timeout, DRAIN_SECONDS)
        return super().drain_events(connection, timeout=timeout)
