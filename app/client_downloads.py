"""The downloads of :class:`app.client.Client`: logs, files, results, plans, failed rows and
templates, streamed into a binary file or a path. Kept apart so the client's module stays small;
like it, this needs only httpx."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from app.client_model import TEMPLATES

Destination = IO[bytes] | str | Path


class Downloads:
    """What :class:`app.client.Client` fetches as a file rather than as a job."""

    if TYPE_CHECKING:

        def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...

        def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]: ...

        def _stream(
            self, method: str, path: str, **kwargs: Any
        ) -> AbstractContextManager[httpx.Response]: ...

    def log(self, job_id: int) -> str:
        """The whole log as text (use :meth:`download_log` to stream a large one)."""
        return self._send("GET", f"bulkjob/{int(job_id)}/log").text

    def download_log(self, job_id: int, to: Destination) -> int:
        """Stream the job's log into ``to`` (a binary file or a path); return bytes written."""
        return self._download(f"bulkjob/{int(job_id)}/log", to)

    def download_csv(self, job_id: int, to: Destination) -> int:
        """Stream the file as uploaded, byte for byte."""
        return self._download(f"bulkjob/{int(job_id)}/csv", to)

    def download_results(self, job_id: int, to: Destination) -> int:
        """Stream a finished job's results: every line's original columns plus ``lineNumber``,
        ``outcome``, ``refURL`` and ``error``."""
        return self._download(f"bulkjob/{int(job_id)}/results", to)

    def plan(self, job_id: int, action: str | None = None) -> dict[str, Any]:
        """A finished dry run's plan: ``counts`` per action, the objects it would ``create``
        and its ``lines`` (each with its action, object, changed fields and error); ``action``:
        only the lines of that action."""
        params = {"action": action} if action else None
        return self._json("GET", f"bulkjob/{int(job_id)}/plan", params=params)

    def download_plan(self, job_id: int, to: Destination) -> int:
        """Stream a finished dry run's plan as CSV, a row per changed field."""
        return self._download(f"bulkjob/{int(job_id)}/plan", to, headers={"Accept": "text/csv"})

    def download_failed(self, job_id: int, to: Destination) -> int:
        """Stream the failed rows (the original columns plus ``lineNumber`` and ``error``)."""
        return self._download(f"bulkjob/{int(job_id)}/failed", to)

    def download_template(
        self,
        to: Destination,
        *,
        kind: str = "ssomigration",
        peripheral_id: int | None = None,
        team_id: int | None = None,
        start_index: int | None = None,
    ) -> int:
        """Stream a template (``kind``: ``ssomigration``, the agents not yet on SSO; ``agent``,
        the agents as an agent file, 12,000 from ``start_index``, optionally for one peripheral
        and/or team; ``skillgroup``, ``calltype`` or ``dialednumber``, those objects as their
        file, 12,000 from ``start_index``)."""
        if kind not in TEMPLATES:
            raise ValueError(f"kind must be one of {', '.join(TEMPLATES)}, not {kind!r}")
        terms = []
        if peripheral_id is not None:
            terms.append(f"peripheralId:{int(peripheral_id)}")
        if team_id is not None:
            terms.append(f"agentTeamId:{int(team_id)}")
        params = {"q": " ".join(terms)} if terms else {}
        if start_index is not None:
            params["startIndex"] = str(int(start_index))
        return self._download(f"bulkjob/templates/{kind}", to, params=params or None)

    def _download(
        self,
        path: str,
        to: Destination,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        with self._stream("GET", path, params=params, headers=headers) as response:
            if isinstance(to, str | Path):
                with open(to, "wb") as out:
                    return _copy(response, out)
            return _copy(response, to)


def _copy(response: httpx.Response, out: IO[bytes]) -> int:
    written = 0
    for chunk in response.iter_bytes():
        out.write(chunk)
        written += len(chunk)
    return written
