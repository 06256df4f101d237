"""What the ``bulkjob`` command prints, and where: tables, JSON, the progress bar of ``--wait``.

rich is imported in the functions that draw with it, so that ``bulkjob --help`` (and a command
printing JSON) never loads it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from app.client import Client
    from app.client_model import Job


class LocalError(Exception):
    """A problem on this side (a file that cannot be written): exit 2 with one line."""


# --- JSON and downloads ----------------------------------------------------------------------


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def write_json(data: Any, output: Path | None) -> None:
    with destination(output) as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")


@contextmanager
def destination(output: Path | None) -> Iterator[IO[bytes]]:
    """Standard output (no ``output``, or ``-``), or the file ``output``."""
    if output is None or str(output) == "-":
        stdout = sys.stdout.buffer
        yield stdout
        stdout.flush()
        return
    try:
        out = output.open("wb")
    except OSError as exc:
        raise LocalError(f"cannot write {output}: {exc.strerror or exc}") from None
    with out:
        yield out
    note(f"wrote {output}")


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """A CSV download as a list of {column: value}, read as the service reads uploads."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    header = text.split("\n", 1)[0]
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]


# --- for a person ----------------------------------------------------------------------------


def _stdout_console() -> Console:
    from rich.console import Console

    # Piped into grep or a file: one row a line, never wrapped to a terminal's width.
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=10_000, force_terminal=False)


def note(message: str) -> None:
    """A remark for a person at a terminal; scripts (stderr not a terminal) see nothing."""
    if stderr_is_terminal():
        from rich.console import Console

        Console(stderr=True, highlight=False).print(message)


def stderr_is_terminal() -> bool:
    # Asked of the stream itself: rich would also say yes under FORCE_COLOR, which CI sets.
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return False


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def show_job(job: Job, as_json: bool, title: str | None = None) -> None:
    """One job: its JSON, or its state, times and record counts."""
    if as_json:
        echo_json(dict(job.data))
        return
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("state", job.state_label)
    if job.description:
        table.add_row("description", job.description)
    table.add_row("type", str(job.job_type))
    if job.dry_run:
        table.add_row("dry run", "yes: no changes were made")
    if job.revert_of is not None:
        table.add_row("reverts", f"job {job.revert_of}")
    if job.reverted_by is not None:
        table.add_row("reverted by", f"job {job.reverted_by}")
    if job.retry_of is not None:
        table.add_row("retries", f"job {job.retry_of} (its line numbers)")
    if job.retried_by is not None:
        table.add_row("retried by", f"job {job.retried_by}")
    if job.stop_after_failures is not None:
        table.add_row("stops early", f"when {job.stop_after_failures} lines fail")
    table.add_row("host", job.host_name)
    for name, ms in (
        ("created", job.created_ms),
        ("start after", job.start_after_ms),
        ("started", job.started_ms),
        ("ended", job.ended_ms),
    ):
        if ms is not None:
            table.add_row(name, _time(ms))
    if job.notify_url:
        table.add_row("notify", job.notify_url)
    table.add_row(
        "records",
        f"{job.total_records} total, {job.processed_records} processed, "
        f"{job.succeeded_records} succeeded, {job.failed_records} failed",
    )
    console = _stdout_console()
    console.print(title or f"Job {job.id}", markup=False)
    console.print(table)


def show_jobs(jobs: list[Job], as_json: bool) -> None:
    """Jobs: a JSON array of them, or a table with one row each."""
    if as_json:
        echo_json([dict(job.data) for job in jobs])
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("ID", "State", "Type", "Records", "Failed", "Created", "Description"):
        table.add_column(column, justify="right" if column in ("ID", "Failed") else "left")
    for job in jobs:
        table.add_row(
            str(job.id),
            job.state_label,
            str(job.job_type),
            f"{job.processed_records}/{job.total_records}",
            str(job.failed_records),
            _time(job.created_ms),
            job.description,
        )
    _stdout_console().print(table)


def wait_showing_progress(client: Client, job: Job, timeout: float | None, interval: float) -> Job:
    """Wait for the job, with a progress bar when stderr is a terminal, quietly otherwise."""
    if not stderr_is_terminal():
        return client.wait(job.id, interval=interval, timeout=timeout)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("job {task.fields[job_id]}"),
        TextColumn("{task.fields[state]:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(
            "", total=job.total_records or None, job_id=job.id, state=job.state_label
        )

        def update(current: Job) -> None:
            progress.update(
                task,
                total=current.total_records or None,
                completed=current.processed_records,
                state=current.state_label,
            )

        return client.wait(job.id, interval=interval, timeout=timeout, on_progress=update)
