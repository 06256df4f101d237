"""SCIM /Bulk (RFC 7644 §3.7): a BulkRequest's operations (parsed and ordered by
``app.scim.bulk_request``) run one atomic operation at a time, and their BulkResponse.

Two callers share it: ``POST /scim/v2/Bulk`` runs a whole request in one transaction with a
savepoint per operation (app/scim/http/bulk.py), and job type 100 runs the same operations as a
bulk job, a chunk per transaction (app/scim/bulkjob.py). Each operation is atomic; the request
as a whole is not, as the RFC says. Attributes outside a resource's schemas are ignored (the
resource services drop them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from app.db.models import Agent, table
from app.scim import groups as scim_groups
from app.scim import users as scim_users
from app.scim.bulk_request import RESOURCES, BulkRequest, Operation, plan, reference
from app.scim.exceptions import Conflict, ScimError

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
REASONS = {200: "OK", 201: "Created", 204: "No Content"}

agents = table(Agent)


@dataclass
class Result:
    """What one operation did: its HTTP-like status, and where the resource is."""

    operation: Operation
    status: int
    location: str | None = None
    version: str | None = None
    resource_id: str | None = None
    error: ScimError | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    def to_json(self) -> dict[str, Any]:
        """The BulkResponse entry (RFC 7644 §3.7.3)."""
        op = self.operation
        entry: dict[str, Any] = {"method": op.method}
        if op.bulk_id is not None:
            entry["bulkId"] = op.bulk_id
        if self.version is not None:
            entry["version"] = self.version
        if self.location is not None:
            entry["location"] = self.location
        entry["status"] = str(self.status)
        if self.error is not None:
            response: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status)}
            if self.error.scim_type:
                response["scimType"] = self.error.scim_type
            response["detail"] = self.error.detail
            entry["response"] = response
        return entry

    def message(self) -> str:
        """One line for a job's log: ``201 Created /scim/v2/Users/7`` or ``409 uniqueness: ...``."""
        if self.error is not None:
            kind = f" {self.error.scim_type}" if self.error.scim_type else ""
            return f"{self.status}{kind}: {self.error.detail}"
        text = f"{self.status} {REASONS.get(self.status, '')} {self.location or ''}".rstrip()
        return f"{text} ({self.note})" if self.note else text


@dataclass
class Context:
    """What operations need beyond their own data; ``resolved`` grows as POSTs succeed."""

    base_url: str
    default_peripheral: int | None
    defined: dict[str, int]
    # Asynchronous bulk (Entra's bulkUpload): a POST /Users whose externalId exists updates.
    upsert: bool = False
    # Plain user creates may be decided and inserted together (see run_operations).
    batch: bool = True
    resolved: dict[str, str] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    new_agents: scim_users.NewAgents = field(default_factory=scim_users.NewAgents)


# --- running ---------------------------------------------------------------------------------


def run(conn: Connection, request: BulkRequest, context: Context) -> list[Result]:
    """Run the request's operations (until ``failOnErrors`` errors); results in request order."""
    results = run_operations(conn, plan(request), context, request.fail_on_errors)
    results.sort(key=lambda result: result.operation.index)
    return results


def run_operations(
    conn: Connection, ops: list[Operation], context: Context, errors_allowed: int | None
) -> list[Result]:
    """Run ``ops`` in order, stopping once ``errors_allowed`` of them failed (None: never).

    A run of user creates that reference nothing is decided together and inserted with one
    executemany (the set-based path: a Bulk of 1,000 creates is a few statements, not 3,000);
    everything else runs one operation at a time.
    """
    results: list[Result] = []
    errors = 0
    position = 0
    while position < len(ops):
        if errors_allowed is not None and errors >= errors_allowed:
            break
        end = _batch_end(conn, ops, position, context)
        if end > position:
            left = None if errors_allowed is None else errors_allowed - errors
            done = _create_users(conn, ops[position:end], context, left)
        else:
            done = [execute(conn, ops[position], context)]
        results.extend(done)
        errors += sum(not result.ok for result in done)
        position += len(done)
    return results


def _plain_create(op: Operation, context: Context) -> bool:
    """A POST /Users with nothing to resolve: decidable in a batch (see ``_batch_end``)."""
    return (
        op.method == "POST"
        and op.problem is None
        and not op.references
        and context.batch
        and isinstance(op.data, Mapping)
        and op.path.strip("/").lower() == "users"
    )


def _batch_end(conn: Connection, ops: list[Operation], position: int, context: Context) -> int:
    """Where the run of plain creates starting at ``position`` ends (``position``: none).

    With the externalId upsert (asynchronous bulk), a create whose externalId a user already
    holds, or an earlier create of the run names, is an update: it ends the run, and runs alone.
    """
    end = position
    while end < len(ops) and _plain_create(ops[end], context):
        end += 1
    if not context.upsert or end == position:
        return end
    external_ids = [_external_id(op.data) for op in ops[position:end]]
    wanted = {value for value in external_ids if isinstance(value, str) and value}
    held = set(
        conn.execute(select(agents.c.external_id).where(agents.c.external_id.in_(wanted))).scalars()
        if wanted
        else ()
    )
    seen: set[str] = set()
    for offset, value in enumerate(external_ids):
        if isinstance(value, str) and value:
            if value in held or value in seen:
                return position + offset
            seen.add(value)
    return end


def _create_users(
    conn: Connection, ops: list[Operation], context: Context, errors_allowed: int | None
) -> list[Result]:
    """Plain creates decided together and inserted at once; only as many as run before the
    ``errors_allowed``-th refusal. Each is still atomic: a refused one writes nothing."""
    prepared = scim_users.prepare_users(
        conn, [op.data for op in ops], context.default_peripheral, context.new_agents
    )
    if errors_allowed is not None:
        refused = 0
        for count, values in enumerate(prepared, start=1):
            refused += isinstance(values, ScimError)
            if refused >= errors_allowed:
                prepared = prepared[:count]
                break
    accepted = [values for values in prepared if not isinstance(values, ScimError)]
    savepoint = conn.begin_nested()
    try:
        ids = iter(scim_users.insert_users(conn, accepted, context.new_agents))
    except IntegrityError:
        # Another transaction took one of these userNames meanwhile: one at a time instead.
        savepoint.rollback()
        return run_operations(conn, ops[: len(prepared)], _single(context), errors_allowed)
    savepoint.commit()
    results = []
    for op, values in zip(ops, prepared, strict=False):
        if isinstance(values, ScimError):
            result = Result(op, values.status, error=values)
            if op.bulk_id:
                context.failed[op.bulk_id] = op.index
        else:
            new_id = str(next(ids))
            location = f"{context.base_url}/Users/{new_id}"
            result = Result(op, 201, location, 'W/"0"', new_id)
            if op.bulk_id:
                context.resolved[op.bulk_id] = new_id
        results.append(result)
    return results


def _single(context: Context) -> Context:
    """``context`` for one-at-a-time runs (no batches): the same maps, shared."""
    return replace(context, batch=False)


def response(results: list[Result]) -> dict[str, Any]:
    return {"schemas": [BULK_RESPONSE], "Operations": [result.to_json() for result in results]}


def execute(conn: Connection, op: Operation, context: Context) -> Result:
    """Run one operation atomically (a savepoint); a refusal undoes all it did."""
    if op.problem is not None:
        result = Result(op, op.problem.status, error=op.problem)
    else:
        savepoint = conn.begin_nested()
        try:
            result = _execute(conn, op, context)
        except ScimError as exc:
            savepoint.rollback()
            result = Result(op, exc.status, error=exc)
        else:
            savepoint.commit()
    if op.method == "POST" and op.bulk_id:
        if result.ok and result.resource_id is not None:
            context.resolved[op.bulk_id] = result.resource_id
        else:
            context.failed[op.bulk_id] = op.index
    return result


@dataclass(frozen=True)
class _Service:
    """How one resource type is created, replaced, patched, deleted and versioned."""

    create: Callable[[Connection, Any, Context], int]
    replace: Callable[[Connection, str, Any, set[str] | None], None]
    patch: Callable[[Connection, str, Any, set[str] | None, str], None]
    delete: Callable[[Connection, str, set[str] | None], None]
    version: Callable[[Connection, str], str]


SERVICES = {
    "Users": _Service(
        lambda conn, data, context: scim_users.create_user(
            conn, data, context.default_peripheral, context.new_agents
        ),
        scim_users.replace_user,
        scim_users.patch_user,
        scim_users.delete_user,
        lambda conn, user_id: scim_users.version(scim_users.get_user(conn, user_id)),
    ),
    "Groups": _Service(
        lambda conn, data, context: scim_groups.create_group(
            conn, data, context.default_peripheral
        ),
        scim_groups.replace_group,
        scim_groups.patch_group,
        scim_groups.delete_group,
        lambda conn, group_id: scim_groups.get_group(conn, group_id).version,
    ),
}


def _execute(conn: Connection, op: Operation, context: Context) -> Result:
    parts = op.path.strip("/").split("/")
    resource = RESOURCES[parts[0].lower()]
    service = SERVICES[resource]
    target = _resolve(parts[1], context) if len(parts) == 2 else ""
    data = _substitute(op.data, context)
    if_match = _if_match(op.version)
    note = ""
    if op.method == "POST":
        existing = _by_external_id(conn, data) if context.upsert and resource == "Users" else None
        if existing is None:
            target = str(service.create(conn, data, context))
            location = f"{context.base_url}/{resource}/{target}"
            return Result(op, 201, location, service.version(conn, target), target)
        # Entra's bulkUpload: a known externalId updates that user instead of failing.
        target, if_match = str(existing), None
        note = f"updated the existing User whose externalId is {_external_id(data)}"
    location = f"{context.base_url}/{resource}/{target}"
    if op.method == "DELETE":
        service.delete(conn, target, if_match)
        return Result(op, 204, location, resource_id=target)
    if op.method == "PATCH":
        service.patch(conn, target, data, if_match, context.base_url)
    else:
        service.replace(conn, target, data, if_match)
    return Result(op, 200, location, service.version(conn, target), target, note=note)


def _resolve(value: str, context: Context) -> str:
    bulk_id = reference(value)
    if bulk_id is None:
        return value
    found = context.resolved.get(bulk_id)
    if found is not None:
        return found
    if bulk_id in context.failed:
        raise Conflict(
            f"bulkId:{bulk_id} refers to operation {context.failed[bulk_id]}, which failed"
        )
    if bulk_id in context.defined:
        raise Conflict(f"bulkId:{bulk_id} refers to operation {context.defined[bulk_id]}, not run")
    raise Conflict(f"bulkId:{bulk_id} is not defined by any POST operation of this request")


def _substitute(value: Any, context: Context) -> Any:
    """``value`` with every ``bulkId:x`` string replaced by the id of the resource x created."""
    if isinstance(value, str):
        return _resolve(value, context) if value.startswith("bulkId:") else value
    if isinstance(value, Mapping):
        return {key: _substitute(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, context) for item in value]
    return value


def _if_match(version: str | None) -> set[str] | None:
    """An operation's ``version`` (an ETag such as ``W/"3"``) as If-Match's tags."""
    if version is None or version.strip() == "*":
        return None
    tag = version.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return {tag.strip('"')}


def _external_id(data: Any) -> Any:
    """The ``externalId`` a resource's data gives (names are case-insensitive)."""
    fields = {str(key).lower(): value for key, value in data.items()}
    return fields.get("externalid")


def _by_external_id(conn: Connection, data: Any) -> int | None:
    external_id = _external_id(data)
    if not isinstance(external_id, str) or not external_id:
        return None
    found = conn.execute(
        select(agents.c.id).where(agents.c.external_id == external_id).order_by(agents.c.id)
    ).first()
    return None if found is None else int(found.id)
