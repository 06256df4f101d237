"""What a job type is: how its stored file is read into records, how a record is described in
the log, and how a chunk of records is applied."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from app.jobtypes.csvfile import CsvFile, Record, decode

if TYPE_CHECKING:
    from app.config import Settings


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


class JobType(ABC):
    """One kind of bulk job. Subclasses are registered in ``app.jobtypes``."""

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
    # The stored file, as the original-file download serves it.
    media_type = "text/csv"
    suffix = "csv"

    def read(self, content: bytes) -> Iterator[Record]:
        """The records of a stored file, in line order (CSV unless the type says otherwise)."""
        text, _encoding = decode(content)
        return CsvFile(text).records(self.columns)

    def describe(self, record: Record) -> str:
        """The record as the log shows it, e.g. ``userName=a, newUserName=b``."""
        index = {c: i for i, c in enumerate(self.columns)}
        return ", ".join(f"{c}={record.values[index[c]]}" for c in self.logged_columns)

    @abstractmethod
    def apply_chunk(self, conn: Connection, records: Sequence[Record], run: Run) -> list[Outcome]:
        """Apply ``records`` inside the caller's transaction; return one outcome per record,
        in order. Fewer outcomes than records (with ``run.stopped`` set) ends the job after
        the last one."""
