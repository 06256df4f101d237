"""``bulkjob plan``: what a finished dry run says a real run would do (docs/command.md); and
the summary ``bulkjob submit --dry-run --wait`` prints after the job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli_options import json_option, output_option
from app.cli_output import echo_json

ACTIONS = ("create", "update", "delete", "unchanged", "fail")


def show_plan(plan: dict[str, Any], lines: bool = True) -> None:
    """Counts per action, the objects the file would create, and (``lines``) each line."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    counts = ", ".join(f"{n:,} {action}" for action, n in plan["counts"].items() if n)
    console.print(f"[bold]plan[/bold]  {counts or 'no lines'}")
    for made in plan["creates"]:
        kind = made["kind"].rsplit("/", 1)[-1]
        close = made.get("closeTo")
        warning = f" [red]a small edit away from {' and '.join(close)}[/red]" if close else ""
        console.print(f"  would create {kind} {made['name']} (line {made['lineNumber']}){warning}")
    if not lines:
        return
    table = Table(box=None, header_style="bold")
    for column in ("line", "action", "object", "field", "before", "after", "error"):
        table.add_column(column, overflow="fold")
    for line in plan["lines"]:
        for change in line.get("changes") or [{}]:
            table.add_row(
                str(line["lineNumber"]),
                line["action"],
                line.get("object", "")
                + (f" (near {' and '.join(line['closeTo'])})" if line.get("closeTo") else ""),
                change.get("field", ""),
                change.get("before", ""),
                change.get("after", ""),
                line.get("error", ""),
            )
    console.print(table)


@click.command()
@click.argument("job_id", metavar="ID", type=int)
@click.option("--action", type=click.Choice(ACTIONS), help="Only the lines of this action.")
@click.option("--csv", "as_csv", is_flag=True, help="The plan as CSV, a row per changed field.")
@output_option
@json_option
@click.pass_context
def plan(
    ctx: click.Context,
    job_id: int,
    action: str | None,
    as_csv: bool,
    output: Path | None,
    as_json: bool,
) -> None:
    """Print what finished dry run ID says a real run would do: counts per action, the
    objects it would create, each line and the fields it would change."""
    from app.cli import _client, _download

    if as_csv:
        _download(ctx, lambda c, out: c.download_plan(job_id, out), output, as_json)
        return
    document = _client(ctx).plan(job_id, action=action)
    if as_json:
        echo_json(document)
    else:
        show_plan(document)
