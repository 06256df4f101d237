"""The ``bulkjob`` command: create jobs, watch them and fetch their results over HTTP.

A thin layer over :mod:`app.client`; it reads ``BULKJOB_URL`` and ``BULKJOB_TOKEN`` itself
(it is a separate program from the service, which reads its settings in ``app/config.py``).
What it prints is drawn by :mod:`app.cli_output`.

``bulkjob --help`` loads click and no more: the client (and so httpx) is imported when a command
first sends a request, and rich when something is drawn.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from app.cli_options import IsoTime, json_option, output_option, wait_options
from app.cli_output import (
    LocalError,
    csv_rows,
    destination,
    echo_json,
    show_job,
    show_jobs,
    wait_showing_progress,
    write_json,
)
from app.cli_plan import plan, show_plan
from app.client_model import STATE_LABELS, TEMPLATES, BulkJobError, Job, JobState

if TYPE_CHECKING:
    from app.client import Client

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
    from app.client import Client

    settings: _Settings = ctx.find_object(_Settings)  # type: ignore[assignment]
    client = Client(settings.url, settings.token)
    ctx.call_on_close(client.close)
    return client


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
@click.option(
    "--start-at",
    "start_at",
    type=IsoTime(),
    help="Start the job no earlier than this ISO 8601 time (without an offset: local time).",
)
@click.option("--notify-url", help="POST the job to this URL when it ends (an allowed host).")
@click.option(
    "--dry-run", is_flag=True, help="Decide every row as a real run would; change nothing."
)
@click.option(
    "--stop-after-failures",
    type=click.IntRange(min=1),
    metavar="N",
    help="Stop the job (Failed) once N lines failed; the rest are not processed.",
)
@wait_options
@json_option
@click.pass_context
def submit(
    ctx: click.Context,
    file: IO[bytes],
    description: str | None,
    job_type: int | None,
    dry_run: bool,
    start_at: datetime | None,
    notify_url: str | None,
    stop_after_failures: int | None,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Upload the CSV FILE ("-" for standard input) as a new job."""
    client = _client(ctx)
    name = Path(file.name).name if file.name not in ("-", "<stdin>") else "stdin.csv"
    job = client.create(
        file.read(),
        description=description,
        job_type=job_type,
        filename=name,
        dry_run=dry_run,
        start_after=start_at,
        notify_url=notify_url,
        stop_after_failures=stop_after_failures,
    )
    _created(ctx, client, job, wait, timeout, poll_interval, as_json)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id", metavar="ID", type=int)
@click.option("-d", "--description", help="The revert job's description.")
@wait_options
@json_option
@click.pass_context
def revert(
    ctx: click.Context,
    job_id: int,
    description: str | None,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Revert finished job ID: a new job puts back what it changed (what is unchanged since)."""
    client = _client(ctx)
    job = client.revert(job_id, description=description)
    _created(ctx, client, job, wait, timeout, poll_interval, as_json)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("job_id", metavar="ID", type=int)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.File("rb"),
    help="A corrected file of the lines to retry: the job's columns plus lineNumber (the "
    "failed rows, edited).",
)
@click.option("-d", "--description", help="The retry job's description.")
@wait_options
@json_option
@click.pass_context
def retry(
    ctx: click.Context,
    job_id: int,
    file: IO[bytes] | None,
    description: str | None,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Retry finished job ID: a new job of its type runs its failed (and unprocessed) lines
    again, or those of --file with its cells."""
    client = _client(ctx)
    content = None if file is None else file.read()
    job = client.retry(job_id, content=content, description=description)
    _created(ctx, client, job, wait, timeout, poll_interval, as_json)


def _created(
    ctx: click.Context,
    client: Client,
    job: Job,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> None:
    """Show the job just created, or (``wait``) wait for it and exit with its outcome."""
    if not wait:
        show_job(job, as_json, title=f"Job {job.id} created")
        return
    try:
        job = wait_showing_progress(client, job, timeout, poll_interval)
    except KeyboardInterrupt:
        _say_error(f"interrupted; job {job.id} goes on (bulkjob status {job.id})")
        ctx.exit(EXIT_INTERRUPTED)
    show_job(job, as_json)
    if job.dry_run and not as_json and job.state != JobState.CANCELLED:
        show_plan(client.plan(job.id), lines=False)
    ctx.exit(EXIT_BY_STATE.get(job.state, EXIT_SERVICE))


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@json_option
@click.pass_context
def status(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Show job ID: its state, times and record counts."""
    show_job(_client(ctx).get(job_id), as_json)


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
    show_jobs(selected, as_json)


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
    show_job(job, as_json, title=title)


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@click.option("--start-at", "start_at", type=IsoTime(), help="The new ISO 8601 start time.")
@click.option("--now", is_flag=True, help="Remove the start time: the job starts now.")
@json_option
@click.pass_context
def reschedule(
    ctx: click.Context, job_id: int, start_at: datetime | None, now: bool, as_json: bool
) -> None:
    """Move a Queued job's start time (--start-at), or start it now (--now)."""
    if (start_at is None) == (not now):
        raise click.UsageError("give exactly one of --start-at and --now")
    job = _client(ctx).reschedule(job_id, start_at)
    show_job(job, as_json, title=f"Job {job_id} rescheduled")


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@json_option
@click.pass_context
def delete(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Delete finished job ID with its file and log."""
    _client(ctx).delete(job_id)
    if as_json:
        echo_json({"id": job_id, "deleted": True})
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
        with destination(output) as out:
            client.download_log(job_id, out)
        return
    events = []
    for line in client.log(job_id).splitlines():
        stamp, sep, message = line.partition(" - ")
        events.append({"time": stamp, "message": message} if sep else {"message": line})
    write_json(events, output)


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
def results(ctx: click.Context, job_id: int, output: Path | None, as_json: bool) -> None:
    """Print every line of finished job ID with lineNumber, outcome, refURL and error."""
    _download(ctx, lambda c, out: c.download_results(job_id, out), output, as_json)


@cli.command()
@click.argument("job_id", metavar="ID", type=int)
@output_option
@json_option
@click.pass_context
def failed(ctx: click.Context, job_id: int, output: Path | None, as_json: bool) -> None:
    """Print job ID's failed rows with lineNumber and error, ready to fix and resubmit."""
    _download(ctx, lambda c, out: c.download_failed(job_id, out), output, as_json)


@cli.command()
@click.argument("kind", type=click.Choice(TEMPLATES), default="ssomigration")
@click.option("--peripheral", "peripheral_id", type=int, help="Only agents of this peripheral.")
@click.option("--team", "team_id", type=int, help="Only agents of this agent team.")
@click.option(
    "--start",
    "start_index",
    type=click.IntRange(min=0),
    help="agent, skillgroup, calltype, dialednumber: the piece from this one on (0, 12000, ...).",
)
@output_option
@json_option
@click.pass_context
def template(
    ctx: click.Context,
    kind: str,
    peripheral_id: int | None,
    team_id: int | None,
    start_index: int | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Print a template: KIND ssomigration (the default), the agents not yet on SSO with
    newUserName to fill in; agent, skillgroup, calltype or dialednumber, the live objects as
    their file to edit and upload again."""
    _download(
        ctx,
        lambda c, out: c.download_template(
            out, kind=kind, peripheral_id=peripheral_id, team_id=team_id, start_index=start_index
        ),
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
        with destination(output) as out:
            fetch(client, out)
        return
    buffer = io.BytesIO()
    fetch(client, buffer)
    write_json(csv_rows(buffer.getvalue()), output)


cli.add_command(plan)


def main() -> NoReturn:
    """The ``bulkjob`` console script."""
    cli.main(prog_name="bulkjob")
    raise SystemExit(EXIT_OK)  # cli.main exits itself; this is for the type checker


__all__ = ["EXIT_BY_STATE", "EXIT_CODES_HELP", "cli", "main"]
