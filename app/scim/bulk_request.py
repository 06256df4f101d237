"""A SCIM BulkRequest (RFC 7644 §3.7): its operations parsed and checked, and put in an order
where every ``bulkId`` reference is created before it is used. Running them is ``app.scim.bulk``.

Lenient where the seed vendors' clients need it: names are matched case-insensitively
(``operations``), and an operation's ``data`` may be a string holding JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.scim.exceptions import Conflict, InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError
from app.scim.resources import loads_body

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MAX_OPERATIONS = 1000
MAX_PAYLOAD_BYTES = 3 * 1024 * 1024
METHODS = ("POST", "PUT", "PATCH", "DELETE")
RESOURCES = {"users": "Users", "groups": "Groups"}
REFERENCE_PREFIX = "bulkId:"


@dataclass(eq=False)  # compared and hashed by identity
class Operation:
    """One operation as the request gave it; ``problem`` when it cannot run at all."""

    index: int  # its 1-based position in the request
    method: str
    path: str
    bulk_id: str | None = None
    version: str | None = None
    data: Any = None
    references: frozenset[str] = frozenset()
    problem: ScimError | None = None

    def describe(self) -> str:
        """``POST /Users bulkId=u1``, for the log."""
        text = f"{self.method or '?'} {self.path or '?'}"
        return f"{text} bulkId={self.bulk_id}" if self.bulk_id else text

    def to_json(self) -> dict[str, Any]:
        """The operation as a BulkRequest holds it (``data`` as parsed)."""
        entry: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.bulk_id is not None:
            entry["bulkId"] = self.bulk_id
        if self.version is not None:
            entry["version"] = self.version
        if self.data is not None:
            entry["data"] = self.data
        return entry


@dataclass(frozen=True)
class BulkRequest:
    fail_on_errors: int | None
    operations: list[Operation]

    def posts(self) -> dict[str, Operation]:
        """The POST operations that define a bulkId, by bulkId (parsing gave a second POST
        with the same bulkId a problem, so each bulkId has one)."""
        return {
            op.bulk_id: op
            for op in self.operations
            if op.method == "POST" and op.bulk_id and op.problem is None
        }

    def defined(self) -> dict[str, int]:
        """The bulkIds that POST operations define, with their operation's index."""
        return {bulk_id: op.index for bulk_id, op in self.posts().items()}


# --- parsing ---------------------------------------------------------------------------------


def too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The bulk request is {size} bytes; maxPayloadSize is {MAX_PAYLOAD_BYTES} bytes"
    )


def loads(content: bytes) -> BulkRequest:
    """A BulkRequest from the bytes of a request body (or a stored bulk job's file)."""
    return parse_document(loads_body(content))


def parse_document(raw: Any, max_operations: int = MAX_OPERATIONS) -> BulkRequest:
    if not isinstance(raw, Mapping):
        raise InvalidSyntax("A BulkRequest must be a JSON object")
    fields = {str(key).lower(): value for key, value in raw.items()}
    operations = fields.get("operations")
    if not isinstance(operations, list):
        raise InvalidSyntax("A BulkRequest needs an Operations list")
    if len(operations) > max_operations:
        raise PayloadTooLarge(
            f"The bulk request has {len(operations)} operations; maxOperations is {max_operations}"
        )
    if not operations:
        raise InvalidValue("The bulk request's Operations list is empty")
    fail_on_errors = fields.get("failonerrors")
    if fail_on_errors is not None:
        text = str(fail_on_errors)
        if isinstance(fail_on_errors, str) and text.isascii() and text.isdigit():
            fail_on_errors = int(text)
        if not isinstance(fail_on_errors, int) or isinstance(fail_on_errors, bool):
            raise InvalidValue("failOnErrors must be an integer")
        if fail_on_errors < 1:
            raise InvalidValue("failOnErrors must be at least 1")
    parsed = [_operation(number, item) for number, item in enumerate(operations, start=1)]
    seen: dict[str, int] = {}
    for op in parsed:
        if op.method == "POST" and op.bulk_id and op.problem is None:
            if op.bulk_id in seen:
                op.problem = InvalidValue(
                    f"bulkId {op.bulk_id!r} is already used by operation {seen[op.bulk_id]}"
                )
            else:
                seen[op.bulk_id] = op.index
    return BulkRequest(fail_on_errors, parsed)


def _operation(index: int, raw: Any) -> Operation:
    if not isinstance(raw, Mapping):
        return Operation(index, "", "", problem=InvalidSyntax("An operation must be a JSON object"))
    fields = {str(key).lower(): value for key, value in raw.items()}
    method = str(fields.get("method") or "").upper()
    path = fields.get("path")
    bulk_id = fields.get("bulkid")
    version = fields.get("version")
    op = Operation(
        index,
        method,
        path if isinstance(path, str) else "",
        bulk_id if isinstance(bulk_id, str) and bulk_id else None,
        version if isinstance(version, str) and version else None,
    )
    data = fields.get("data")
    if isinstance(data, str):
        # Webex's documented example sends data as a string holding the JSON.
        try:
            data = loads_body(data, "operation's data string")
        except ScimError as exc:
            op.problem = exc
            return op
    op.data = data
    op.problem = _check(op, path, bulk_id)
    if op.problem is None:
        references = _references(data)
        reference = _path_reference(op.path)
        if reference is not None:
            references.add(reference)
        op.references = frozenset(references)
    return op


def _check(op: Operation, path: Any, bulk_id: Any) -> ScimError | None:
    if op.method not in METHODS:
        return InvalidValue(f"method must be one of {', '.join(METHODS)}")
    if not isinstance(path, str) or not path:
        return InvalidValue("path is required")
    if bulk_id is not None and not isinstance(bulk_id, str):
        return InvalidValue("bulkId must be a string")
    if op.method == "POST" and op.bulk_id is None:
        return InvalidValue("A POST operation needs a bulkId")
    if op.method != "DELETE" and not isinstance(op.data, Mapping):
        return InvalidValue(f"A {op.method} operation needs data (a JSON object)")
    parts = path.strip("/").split("/")
    if parts[0].lower() not in RESOURCES:
        return InvalidValue(f"path must name /Users or /Groups, not {path!r}")
    if (op.method == "POST") != (len(parts) == 1) or len(parts) > 2 or not parts[-1]:
        wanted = f"/{RESOURCES[parts[0].lower()]}" + ("" if op.method == "POST" else "/{id}")
        return InvalidValue(f"A {op.method} operation's path is {wanted}, not {path!r}")
    return None


def _references(value: Any) -> set[str]:
    """The bulkIds that ``bulkId:x`` strings anywhere in ``value`` (parsed JSON) name; walked
    with a stack, not recursion: every operation's data is walked (docs/performance.md)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(REFERENCE_PREFIX) and (bulk_id := reference(item)) is not None:
                found.add(bulk_id)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def reference(value: str) -> str | None:
    """The bulkId a ``bulkId:x`` value names (RFC 7644 §3.7.2), or None for any other value."""
    if value.startswith(REFERENCE_PREFIX) and len(value) > len(REFERENCE_PREFIX):
        return value[len(REFERENCE_PREFIX) :]
    return None


def _path_reference(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return reference(parts[1]) if len(parts) == 2 else None


# --- ordering --------------------------------------------------------------------------------


def plan(request: BulkRequest) -> list[Operation]:
    """The operations in an order where each runs after the POSTs whose bulkIds it references,
    otherwise in request order. Operations on a circle of references are given a 409 problem
    (RFC 7644 §3.7.1 lets a service provider answer 409 rather than break circles)."""
    by_bulk_id = request.posts()

    def needs(op: Operation) -> list[Operation]:
        found = {by_bulk_id[ref] for ref in op.references if ref in by_bulk_id}
        found.discard(op)
        return sorted(found, key=lambda target: target.index)

    order: list[Operation] = []
    done: set[int] = set()
    for root in request.operations:
        if root.index in done:
            continue
        # Depth-first, without recursion (a chain of 1,000 references is allowed).
        stack: list[tuple[Operation, Iterator[Operation]]] = [(root, iter(needs(root)))]
        on_stack = {root.index: 0}
        while stack:
            op, pending = stack[-1]
            target = next(pending, None)
            if target is None:
                stack.pop()
                del on_stack[op.index]
                done.add(op.index)
                order.append(op)
            elif target.index in on_stack:
                circle = [entry for entry, _ in stack[on_stack[target.index] :]]
                names = " -> ".join(f"bulkId:{entry.bulk_id}" for entry in [*circle, target])
                for entry in circle:
                    if entry.problem is None:
                        entry.problem = Conflict(f"Circular bulkId references: {names}")
            elif target.index not in done:
                on_stack[target.index] = len(stack)
                stack.append((target, iter(needs(target))))
    return order
