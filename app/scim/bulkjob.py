"""Job type 100: a SCIM bulk request run as a bulk job (``POST /scim/v2/Bulk`` with
``Prefer: respond-async``, what Microsoft Entra's bulkUpload does).

The stored file is the request as sent. Its records are the operations in the order they run
(``bulk_request.plan``: after the POSTs whose bulkIds they reference), numbered from 1 in that
order; the log names an operation's place in the request where the two differ. Each operation's
BulkResponse entry is kept in ``job_lines.detail``: the final BulkResponse is read from there, and
so are the bulkIds already resolved when a job resumes on another worker. As Entra's bulkUpload
does, a POST /Users whose externalId already exists updates that user (said in the log line), so
an HR feed can be replayed safely.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.db.models import JobFile, JobLine, table
from app.jobs.types.base import Extra, JobType, Outcome, Record, Run
from app.scim import bulk as scim_bulk
from app.scim import bulk_request
from app.scim.bulk_request import BulkRequest, Operation
from app.scim.users import NewAgents

files = table(JobFile)
lines = table(JobLine)


# One encoder for the thousand small documents of every run (json.dumps with an argument
# builds a new encoder per call).
_to_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class _Plan:
    request: BulkRequest
    order: list[Operation]


@functools.lru_cache(maxsize=2)
def _plan(content: bytes) -> _Plan:
    """The request parsed and ordered; kept for the run, so that reading the job's records and
    applying them parse it once (docs/performance.md)."""
    request = bulk_request.loads(content)
    return _Plan(request, bulk_request.plan(request))


def bulk_response(details: Iterator[str]) -> bytes:
    """The BulkResponse of a job's operations so far, in request order."""
    entries = sorted((json.loads(detail) for detail in details), key=lambda pair: pair[0])
    body = {"schemas": [scim_bulk.BULK_RESPONSE], "Operations": [entry for _, entry in entries]}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class ScimBulk(JobType):
    code = 100
    name = "SCIM bulk request"
    columns = ("operation", "method", "path", "bulkId", "data")
    logged_columns = ("method", "path", "bulkId")
    unit = "operation"
    header = False
    uploadable = False
    media_type = "application/scim+json"
    suffix = "json"
    original_label = "the SCIM BulkRequest"
    extras = (
        Extra(
            name="response",
            field="bulkResponse",
            label="the BulkResponse",
            media_type="application/scim+json",
            suffix="json",
            render=bulk_response,
        ),
    )

    def check(self, content: bytes) -> tuple[int, str]:
        """A BulkRequest as RFC 7644 §3.7 has it (raises the SCIM error the request gets)."""
        return self.checked(bulk_request.loads(content))

    def checked(self, request: BulkRequest) -> tuple[int, str]:
        """What :meth:`check` gives for the parsed ``request`` (JSON is UTF-8, RFC 8259 §8.1)."""
        return len(request.operations), "utf-8"

    def read(self, content: bytes) -> Iterator[Record]:
        for position, op in enumerate(_plan(content).order, start=1):
            data = "" if op.data is None else _to_json(op.data)
            yield Record(position, (str(op.index), op.method, op.path, op.bulk_id or "", data))

    def describe(self, record: Record) -> str:
        index, method, path, bulk_id, _data = record.values
        text = f"{method or '?'} {path or '?'}" + (f" bulkId={bulk_id}" if bulk_id else "")
        if index != str(record.line_number):
            text += f" (operation {index} of the request)"
        return text

    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        plan = run.memo.get("plan")
        if not isinstance(plan, _Plan):
            content = conn.execute(
                select(files.c.content).where(files.c.job_id == run.job_id)
            ).scalar_one()
            plan = run.memo["plan"] = _plan(bytes(content))
        # Rebuilt from what is committed, so a chunk retried after a dropped connection, or
        # a job resumed by another worker, sees exactly the operations that really happened.
        context = _context(conn, run, plan.request)
        limit = plan.request.fail_on_errors
        ops = [plan.order[record.line_number - 1] for record in records]
        left = None if limit is None else limit - run.failed
        results = scim_bulk.run_operations(conn, ops, context, left)
        if len(results) < len(records):
            failed = run.failed + sum(not result.ok for result in results)
            run.stopped = f"failOnErrors is {limit}: stopped after {failed} failed operations"
        return [
            Outcome(
                record.line_number,
                result.ok,
                result.message(),
                _to_json([result.operation.index, result.to_json()]),
            )
            for record, result in zip(records, results, strict=False)
        ]


def _context(conn: Connection, run: Run, request: BulkRequest) -> scim_bulk.Context:
    context = scim_bulk.Context(
        base_url=run.origin or "",
        default_peripheral=run.settings.scim_default_peripheral,
        defined=request.defined(),
        upsert=True,
        new_agents=NewAgents(),
    )
    done = conn.execute(
        select(lines.c.detail).where(lines.c.job_id == run.job_id, lines.c.detail.is_not(None))
    ).scalars()
    for detail in done:
        index, entry = json.loads(detail)
        bulk_id = entry.get("bulkId")
        if entry.get("method") != "POST" or not bulk_id:
            continue
        if int(entry["status"]) < 400 and entry.get("location"):
            context.resolved[bulk_id] = str(entry["location"]).rsplit("/", 1)[1]
        else:
            context.failed[bulk_id] = int(index)
    return context


JOB_TYPE = ScimBulk()
