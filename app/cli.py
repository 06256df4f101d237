"""The ``bulkjob`` command: create jobs, watch them and fetch their results over HTTP.

A thin layer over :mod:`app.client`; it reads ``BULKJOB_URL`` and ``BULKJOB_TOKEN`` itself
(it is a separate program from the service, which reads its settings in ``app/config.py``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.client import STATE_LABELS, BulkJobError, Client, Job, JobState

DEFAULT_URL = "http://localhost:8000"

EXIT_OK = 0
EXIT_SERVICE = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 7
EXIT_INTERRUPTED = 130
# A finished job's exit code is its jobState, except Succeeded's, which is 0.
EXIT_BY_STATE: dict[int, int] = {
    JobState.SUCCEEDED: EXIT_OK,
    JobState.FAILED: 4,
    JobState.CANCELLED: 5,
    JobState.PARTIALLY_SUCCEEDED: 6,
}

EXIT_CODES_HELP = """\b
Exit codes:
  0    success (with --wait: the job Succeeded)
  1    the service refused the request or could not be reached
       (bad token, unknown job, service down)
  2    usage error (bad option or argument, a file that cannot be read or written)
  4    the job Failed                (with --wait; = its jobState)
  5    the job was Cancelled         (with --wait; = its jobState)
  6    the job Partially succeeded   (with --wait; = its jobState)
  7    --timeout passed before the job finished
  130  interrupted (Ctrl-C); the job goes on
"""

F = TypeVar("F", bound=Callable[..., Any])


class LocalError(Exception):
    """A problem on this side (a file that cannot be written): exit 2 with one line."""


def _say_error(message: str) -> None:
    click.echo(f"bulkjob: error: {' '.join(message.split())}", err=True)


def _describe(exc: BulkJobError) -> str:
    message = exc.message
    if exc.status == 401:
        message += " (check --token or BULKJOB_TOKEN)"
    elif exc.error_type == "connectionError":
        message += " (check --url or BULKJOB_URL)"
    return message


class _Group(click.Group):
    """Turns every failure into one line on stderr and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BulkJobError as exc:
            _say_error(_describe(exc))
            code = EXIT_TIMEOUT if exc.error_type == "waitTimeout" else EXIT_SERVICE
            raise click.exceptions.Exit(code) from None
        except LocalError as exc:
            _say_error(str(exc))
            raise click.exceptions.Exit(EXIT_USAGE) from None
        except BrokenPipeError:
            # The reader went away (`bulkjob log 1 | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_OK) from None
        except KeyboardInterrupt:
            _say_error("interrupted")
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


class _Settings:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token


def _client(ctx: click.Context) -> Client:
    settings: _Settings = ctx.find_object(_Settings)  # type: ignore[assignment]
    client = Client(settings.url, settings.token)
    ctx.call_on_close(client.close)
    return client


def json_option(command: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead."
    )(command)


def output_option(command: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
        help="Write to FILE instead of standard output.",
    )(command)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP)
@click.option(
    "--url",
    envvar="BULKJOB_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="The service's address (or set BULKJOB_URL).",
)
@click.option("--token", envvar="BULKJOB_TOKEN", help="A bearer token (or set BULKJOB_TOKEN).")
@click.version_option(package_name="bulkjob")
@click.pass_context
def cli(ctx: click.Context, url: str, token: str | None) -> None:
    """Create bulk jobs on a bulkjob service, watch them and fetch their results.

    Create a token on the service with `flask --app app create-token NAME`.
    """
    ctx.obj = _Settings(url, token)


# --- jobs ------------------------------------------------------------------------------------


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.File("rb"))
@click.option("-d", "--description", help="The job's description (at most 255 characters).")
@click.option(
    "--type", "job_type", type=int, help="The jobType (default: detected from the CSV header)."
)
@click.option("--wait", is_flag=True, help="Wait for the job to finish; the exit code says how.")
@click.option(
    "--timeout", type=click.FloatRange(min=0), help="With --wait: give up after SECONDS (exit 7)."
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="With --wait: seconds between polls.",
)
@json_option
@click.pass_context
def submit(
    ctx: click.Context,
    file: IO[bytes],
    description: str | None,
    job_type: int | None,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Upload the CSV FILE ("-" for standard input) as a new job."""
    client = _client(ctx)
    name = Path(file.name).name if file.name not in ("-", "<stdin>") else "stdin.csv"
    job = client.create(file.read(), description=description, job_type=job_type, filename=name)
    if not wait:
        _show_job(job, as_json, title=f"Job {job.id} created")
        return
    try:
        job = _wait(client, job, timeout, poll_interval)
    except KeyboardInterrupt:
        _say_error(f"interrupted; job {job.id} goes on (bulkjob status {job.id})")
        ctx.exit(EXIT_INTERRUPTED)
    _show_job(job, as_json)
    ctx.exit(EXIT_BY_STATE.get(job.state, EXIT_SERVICE))


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@json_option
@click.pass_context
def status(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Show job ID: its state, times and record counts."""
    _show_job(_client(ctx).get(job_id), as_json)


def _state_value(value: str) -> int:
    if value.isdigit() and int(value) in STATE_LABELS:
        return int(value)
    wanted = value.lower().replace("-", " ").replace("_", " ")
    for number, label in STATE_LABELS.items():
        if label.lower() == wanted:
            return number
    choices = ", ".join(f"{n} {label}" for n, label in STATE_LABELS.items())
    raise click.BadParameter(f"{value!r} is not a job state; use one of: {choices}")


@cli.command("list")
@click.option(
    "--state",
    help="Only jobs in this state: a number or a name (queued, processing, succeeded, failed, "
    "cancelled, partially-succeeded).",
)
@click.option("--search", help="Only jobs whose description contains TEXT (case-insensitive).")
@click.option("--sort", help='A field and direction, e.g. "createDateTime desc" (default newest).')
@click.option("--limit", type=click.IntRange(min=1), help="At most N jobs (default: all).")
@click.option(
    "--page-size",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Jobs fetched per request.",
)
@json_option
@click.pass_context
def list_(
    ctx: click.Context,
    state: str | None,
    search: str | None,
    sort: str | None,
    limit: int | None,
    page_size: int,
    as_json: bool,
) -> None:
    """List jobs, newest first, fetching every page."""
    state_number = None if state is None else _state_value(state)
    found = _client(ctx).list_jobs(
        search=search, state=state_number, sort=sort, page_size=page_size
    )
    selected: list[Job] = []
    for job in found:
        selected.append(job)
        if limit is not None and len(selected) >= limit:
            break
    if as_json:
        _echo_json([dict(job.data) for job in selected])
        return
    table = Table(box=None, header_style="bold")
    for column in ("ID", "State", "Type", "Records", "Failed", "Created", "Description"):
        table.add_column(column, justify="right" if column in ("ID", "Failed") else "left")
    for job in selected:
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


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@json_option
@click.pass_context
def cancel(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Cancel job ID (a Processing job stops after its current chunk)."""
    job = _client(ctx).cancel(job_id)
    if job.state == JobState.CANCELLED:
        title = f"Job {job_id} cancelled"
    else:
        title = f"Job {job_id}: cancellation requested; it stops after its current chunk"
    _show_job(job, as_json, title=title)


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@json_option
@click.pass_context
def delete(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Delete finished job ID with its file and log."""
    _client(ctx).delete(job_id)
    if as_json:
        _echo_json({"id": job_id, "deleted": True})
    else:
        click.echo(f"Job {job_id} deleted")


# --- downloads -------------------------------------------------------------------------------


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@output_option
@json_option
@click.pass_context
def log(ctx: click.Context, job_id: int, output: Path | None, as_json: bool) -> None:
    """Print job ID's log (--json: a list of {time, message})."""
    client = _client(ctx)
    if not as_json:
        with _destination(output) as out:
            client.download_log(job_id, out)
        return
    events = []
    for line in client.log(job_id).splitlines():
        stamp, sep, message = line.partition(" - ")
        events.append({"time": stamp, "message": message} if sep else {"message": line})
    _write_json(events, output)


@cli.command("csv")
@click.argument("job_id", metavar="ID", type=int)
@output_option
@json_option
@click.pass_context
def csv_(ctx: click.Context, job_id: int, output: Path | None, as_json: bool) -> None:
    """Print the file job ID was created from, byte for byte (--json: its rows)."""
    _download(ctx, lambda c, out: c.download_csv(job_id, out), output, as_json)


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@output_option
@json_option
@click.pass_context
def failed(ctx: click.Context, job_id: int, output: Path | None, as_json: bool) -> None:
    """Print job ID's failed rows with lineNumber and error, ready to fix and resubmit."""
    _download(ctx, lambda c, out: c.download_failed(job_id, out), output, as_json)


@cli.command()
@click.option("--peripheral", "peripheral_id", type=int, help="Only agents of this peripheral.")
@click.option("--team", "team_id", type=int, help="Only agents of this agent team.")
@output_option
@json_option
@click.pass_context
def template(
    ctx: click.Context,
    peripheral_id: int | None,
    team_id: int | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Print the SSO-migration template: agents not yet on SSO, newUserName to fill in."""
    _download(
        ctx,
        lambda c, out: c.download_template(out, peripheral_id=peripheral_id, team_id=team_id),
        output,
        as_json,
    )


def _download(
    ctx: click.Context,
    fetch: Callable[[Client, IO[bytes]], int],
    output: Path | None,
    as_json: bool,
) -> None:
    client = _client(ctx)
    if not as_json:
        with _destination(output) as out:
            fetch(client, out)
        return
    buffer = io.BytesIO()
    fetch(client, buffer)
    _write_json(_csv_rows(buffer.getvalue()), output)


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """A CSV download as a list of {column: value}, read as the service reads uploads."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    header = text.split("\n", 1)[0]
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]


@contextmanager
def _destination(output: Path | None) -> Iterator[IO[bytes]]:
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
    _note(f"wrote {output}")


# --- output ----------------------------------------------------------------------------------


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _write_json(data: Any, output: Path | None) -> None:
    with _destination(output) as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")


def _stdout_console() -> Console:
    # Piped into grep or a file: one row a line, never wrapped to a terminal's width.
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=10_000, force_terminal=False)


def _note(message: str) -> None:
    """A remark for a person at a terminal; scripts (stderr not a terminal) see nothing."""
    if _stderr_is_terminal():
        Console(stderr=True, highlight=False).print(message)


def _stderr_is_terminal() -> bool:
    # Asked of the stream itself: rich would also say yes under FORCE_COLOR, which CI sets.
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return False


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _show_job(job: Job, as_json: bool, title: str | None = None) -> None:
    if as_json:
        _echo_json(dict(job.data))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("state", job.state_label)
    if job.description:
        table.add_row("description", job.description)
    table.add_row("type", str(job.job_type))
    table.add_row("host", job.host_name)
    for name, ms in (
        ("created", job.created_ms),
        ("started", job.started_ms),
        ("ended", job.ended_ms),
    ):
        if ms is not None:
            table.add_row(name, _time(ms))
    table.add_row(
        "records",
        f"{job.total_records} total, {job.processed_records} processed, "
        f"{job.succeeded_records} succeeded, {job.failed_records} failed",
    )
    console = _stdout_console()
    console.print(title or f"Job {job.id}", markup=False)
    console.print(table)


def _wait(client: Client, job: Job, timeout: float | None, interval: float) -> Job:
    """Wait for the job, with a progress bar when stderr is a terminal, quietly otherwise."""
    if not _stderr_is_terminal():
        return client.wait(job.id, interval=interval, timeout=timeout)
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


def main() -> NoReturn:
    """The ``bulkjob`` console script."""
    cli.main(prog_name="bulkjob")
    raise SystemExit(EXIT_OK)  # cli.main exits itself; this is for the type checker


__all__ = ["EXIT_BY_STATE", "EXIT_CODES_HELP", "cli", "main"]
