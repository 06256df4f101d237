"""What a job type is: how its stored file is read into records, how a record is described in
the log, how a chunk of records is applied, and what a job of the type offers for download."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from app.config import Settings


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a job's file: the line (or position) it starts on and its values in the
    type's column order."""

    line_number: int
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one record: ``message`` is "Updated ..." or "field: reason"; ``detail``
    a structured result where the type has one (kept in ``job_lines.detail``)."""

    line_number: int
    ok: bool
    message: str
    detail: str | None = None


@dataclass
class Run:
    """One run of a job by a worker, as a job type sees it. ``memo`` lives as long as the run
    (a resumed job starts a new run); a type sets ``stopped`` to end the job early, giving why."""

    job_id: int
    settings: Settings
    origin: str | None
    unit: str = "line"
    failed: int = 0  # records failed before this chunk
    memo: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None
    # Decide every record as a real run would, change nothing (docs/concepts.md, "Dry run").
    dry_run: bool = False
    # Called now and then by long work outside a chunk's transaction (:meth:`JobType.prepare`):
    # renews the job's lease when it is due, so no other worker takes the job meanwhile.
    keep_alive: Callable[[], None] = lambda: None
    # Whether rows may create the objects they name that do not exist (teams, skill groups,
    # attributes, call types): the job's ``createMissing`` (docs/concepts.md, "Near misses").
    create_missing: bool = True
    # The job's ``stopAfterFailures`` (docs/concepts.md, "Stop early"), if it has one.
    stop_after_failures: int | None = None

    def failed_enough(self, failed: int, last_line: int) -> bool:
        """Whether ``failed`` lines reach ``stop_after_failures``: then the job stops before
        its next chunk (``stopped`` says why) and ends Failed."""
        limit = self.stop_after_failures
        if limit is None or failed < limit:
            return False
        self.stopped = (
            f"{failed} {self.unit}s failed (stopAfterFailures is {limit}); "
            f"the {self.unit}s after {self.unit} {last_line} are not processed"
        )
        return True


@dataclass(frozen=True)
class Extra:
    """A download a job type offers beyond the log, the original file and the failed rows.

    Served at ``/bulkjob/<id>/<name>`` (and the console's ``/jobs/<id>/<name>``), linked from the
    job's representation as ``field``; ``render`` builds it from the job's stored outcomes
    (``job_lines.detail``, in line order) inside one read transaction.
    """

    name: str
    field: str
    label: str
    media_type: str
    suffix: str
    render: Callable[[Iterator[str]], bytes]


class JobType(ABC):
    """One kind of bulk job, listed in ``app.jobs.types.TYPE_MODULES``."""

    code: int
    name: str
    columns: tuple[str, ...]
    # Columns written into the "Processing line N: ..." log line.
    logged_columns: tuple[str, ...]
    # What the log calls a record, and whether the stored file starts with a header line.
    unit = "line"
    header = True
    # Whether a CSV upload to /bulkjob may create a job of this type.
    uploadable = True
    # The stored file, as the original-file download serves it, and what the console calls it.
    media_type = "text/csv"
    suffix = "csv"
    original_label = "the original CSV"
    extras: tuple[Extra, ...] = ()
    # Whether a job of this type may be a dry run (docs/concepts.md, "Dry run"): its
    # ``apply_chunk`` honours ``Run.dry_run``.
    dry_runs = False
    # The code of the type whose jobs a job of this type reverts (docs/concepts.md, "Revert"),
    # if any.
    reverts: int | None = None
    # What one line of a job of this type changes, as a revert's confirmation counts it.
    touches = "agent"
    # Columns a file may leave out (older releases' files); their cells read as
    # ``missing_cell``.
    optional_columns: tuple[str, ...] = ()
    missing_cell = ""

    @abstractmethod
    def check(self, content: bytes) -> tuple[int, str]:
        """How many records the file holds, and its text encoding; raises (a domain exception
        saying what is wrong, and where) for a file a job of this type cannot run."""

    @abstractmethod
    def read(self, content: bytes) -> Iterator[Record]:
        """The records of a stored file, in line order (the file passed :meth:`check`)."""

    def describe(self, record: Record) -> str:
        """The record as the log shows it, e.g. ``userName=a, newUserName=b``."""
        index = {c: i for i, c in enumerate(self.columns)}
        return ", ".join(f"{c}={record.values[index[c]]}" for c in self.logged_columns)

    def extra(self, name: str) -> Extra | None:
        return next((extra for extra in self.extras if extra.name == name), None)

    def reason(self, message: str) -> str:
        """What a failure's message says without the value it names, to group failures by:
        ``userName: The specified agent userName does not exist: bjones`` -> ``userName: The
        specified agent userName does not exist``. A message without a value is its own."""
        field, _, rest = message.partition(": ")
        if ": " not in rest:
            return message
        return f"{field}: {rest.rsplit(': ', 1)[0]}"

    def seal(self, content: bytes, secret: str) -> bytes:
        """The accepted file as it is stored: what must not rest in plain text (an agent
        file's passwords) sealed with the service's ``secret``. The same file by default."""
        return content

    def served(self, content: bytes) -> bytes:
        """The stored file as its downloads show it. The same file by default."""
        return content

    def record_values(self, record: Record) -> tuple[str, ...]:
        """A record's cells as the failed rows show them (nothing sealed)."""
        return record.values

    def prepare(self, records: Sequence[Record], run: Run) -> None:
        """Work a chunk needs before its transaction opens, kept in ``run.memo`` (slow work
        that needs no database: an agent file's password hashes); it calls ``run.keep_alive``
        as it goes. Nothing by default."""
        return None

    def check_revertible(self, conn: Connection, job_id: int) -> None:
        """(A type whose ``reverts`` is set.) Raise (a domain exception) if what job ``job_id``
        changed is not known well enough to put it back. Nothing by default."""
        return None

    def revert_content(self, conn: Connection, job_id: int) -> bytes:
        """(A type whose ``reverts`` is set.) The file of the revert of job ``job_id``: what
        its lines changed, in the order to put it back."""
        raise NotImplementedError(f"{self.name} jobs revert no other job")

    def plan_changes(self, detail: str | None) -> list[tuple[str, str, str]]:
        """The fields a dry run's line would change, as (column, before, after), from the
        record it kept (``job_lines.detail``; docs/concepts.md, "Plan"). By default the record's
        ``changes``, if it is a JSON object that has them."""
        if not detail or not detail.startswith("{"):
            return []
        found = json.loads(detail).get("changes") or []
        return [(str(f), str(b), str(a)) for f, b, a in found]

    def summary(self, conn: Connection, job_id: int, dry_run: bool) -> str | None:
        """One more log line after the job's counts (what its lines created, updated and
        deleted), or None."""
        return None

    @abstractmethod
    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        """Apply ``records`` inside the caller's transaction; return one outcome per record,
        in order. Fewer outcomes than records (with ``run.stopped`` set) ends the job after
        the last one."""
