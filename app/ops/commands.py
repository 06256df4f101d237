"""Flask commands for operators: the schema, the demo directory, users and tokens."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from app.accounts import users
from app.db import db
from app.directory import demo as directory
from app.exceptions import ServiceError
from app.jobs import history

FIRST_ADMIN_HINT = """\
There are no users yet, and there is no default password. Create the first admin with:
  flask --app app create-user admin --role admin
and a token for scripts with:
  flask --app app create-token admin"""


def init_app(app: Flask) -> None:
    for command in (init_db, demo_data, create_user, create_token, revoke_token):
        app.cli.add_command(command)


def _database_url() -> str:
    url: str = current_app.config["SETTINGS"].database_url
    return url


def _require_schema() -> None:
    from app.db import migrate as schema

    if schema.current(_database_url()) is None:
        raise click.ClickException("the database has no schema yet: run `flask --app app init-db`")


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database schema, or migrate it to the newest version. Safe to repeat."""
    # Imported here so that web and worker processes never load Alembic.
    from app.db import migrate as schema

    url = _database_url()
    schema.upgrade(url)
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"Database {shown} is at schema revision {schema.current(url)}.")
    with db.read() as conn:
        if users.count_users(conn) == 0:
            click.echo(FIRST_ADMIN_HINT)


@click.command("demo-data")
@with_appcontext
@click.option(
    "--agents", type=click.IntRange(0, directory.MAX_AGENTS), default=20000, show_default=True
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same directory.")
@click.option("--replace", is_flag=True, help="Empty a non-empty directory and load it anew.")
@click.option(
    "--jobs",
    type=click.IntRange(0, history.MAX_JOBS),
    default=0,
    show_default=True,
    help="Also add this many finished jobs of history (spread over the past year).",
)
def demo_data(agents: int, seed: int, replace: bool, jobs: int) -> None:
    """Load a demo agent directory (peripherals, teams, agents, supervisors, skill groups,
    attributes, agent desk settings, departments, call types, dialed numbers), and if asked a
    history of finished jobs."""
    _require_schema()
    with db.write() as conn:
        result = directory.load_demo(conn, agents, seed=seed, replace=replace)
    if not result["loaded"] and "reason" in result:
        click.echo(f"Directory unchanged: {result['reason']} (use --replace to load it anew).")
    else:
        click.echo(
            f"Loaded {result['loaded']} agents ({result['supervisors']} supervisors, "
            f"{result['sso_enabled']} already on SSO, {result['without_team']} without a team) "
            f"on {result['peripherals']} peripherals in {result['teams']} teams, with "
            f"{result['skill_groups']} skill groups, {result['attributes']} attributes, "
            f"{result['desk_settings']} agent desk settings besides the default, "
            f"{result['departments']} departments, {result['call_types']} call types and "
            f"{result['dialed_numbers']} dialed numbers."
        )
    if jobs:
        with db.write() as conn:
            loaded = history.load_history(conn, jobs, seed=seed)
        click.echo(f"Added {loaded['jobs']} finished jobs ({loaded['lines']} lines) of history.")


@click.command("create-user")
@with_appcontext
@click.argument("name")
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def create_user(name: str, role: str, password_stdin: bool) -> None:
    """Create a user who signs in with a password (HTTP Basic and the web console)."""
    _require_schema()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with db.write() as conn:
            users.create_user(conn, name, role, password)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created user {name.strip()} with role {role}.")


@click.command("create-token")
@with_appcontext
@click.argument("name")
def create_token(name: str) -> None:
    """Print a new bearer token for user NAME (and nothing else on stdout)."""
    _require_schema()
    try:
        with db.write() as conn:
            token_id, token = users.issue_token(conn, name)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(token)
    click.echo(
        f"Token id {token_id} for {name}; revoke it with: flask --app app revoke-token {token_id}",
        err=True,
    )


@click.command("revoke-token")
@with_appcontext
@click.argument("token_id", type=int, required=False)
@click.option("--token-stdin", is_flag=True, help="Read the token itself from stdin.")
@click.option("--user", "username", help="Revoke every live token of this user.")
def revoke_token(token_id: int | None, token_stdin: bool, username: str | None) -> None:
    """Revoke a bearer token by TOKEN_ID (printed by create-token), by the token, or by user."""
    _require_schema()
    if sum((token_id is not None, token_stdin, username is not None)) != 1:
        raise click.UsageError("give exactly one of TOKEN_ID, --token-stdin or --user")
    token = sys.stdin.readline().strip() if token_stdin else None
    try:
        with db.write() as conn:
            revoked = users.revoke_tokens(conn, token_id, token, username)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    if not revoked:
        raise click.ClickException("no such live token")
    ids = ", ".join(str(i) for i in revoked)
    click.echo(f"Revoked {len(revoked)} token{'s' if len(revoked) > 1 else ''} (id {ids}).")
