"""The options several ``bulkjob`` commands share (see :mod:`app.cli`): a time, waiting for the
job, JSON output and an output file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class IsoTime(click.ParamType):
    """An ISO 8601 date and time (``2026-12-24T06:00``, ``...Z``, ``...+01:00``)."""

    name = "ISO-8601-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)
        return moment if moment.tzinfo is not None else moment.astimezone()


def wait_options(command: F) -> F:
    """--wait, --timeout and --poll-interval of the commands that create a job."""
    options = [
        click.option(
            "--wait", is_flag=True, help="Wait for the job to finish; the exit code says how."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0),
            help="With --wait: give up after SECONDS (exit 7).",
        ),
        click.option(
            "--poll-interval",
            type=click.FloatRange(min=0.05),
            default=1.0,
            show_default=True,
            help="With --wait: seconds between polls.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
