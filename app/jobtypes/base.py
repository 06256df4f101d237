"""What a job type is: its columns, how a record is described in the log, how a chunk is applied."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from app.jobtypes.csvfile import Record


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one record: ``message`` is "Updated ..." or "field: reason"."""

    line_number: int
    ok: bool
    message: str


class JobType(ABC):
    """One kind of bulk job. Subclasses are registered in ``app.jobtypes``."""

    code: int
    name: str
    columns: tuple[str, ...]
    # Columns written into the "Processing line N: ..." log line.
    logged_columns: tuple[str, ...]

    def describe(self, record: Record) -> str:
        """The record as the log shows it, e.g. ``userName=a, newUserName=b``."""
        index = {c: i for i, c in enumerate(self.columns)}
        return ", ".join(f"{c}={record.values[index[c]]}" for c in self.logged_columns)

    @abstractmethod
    def apply_chunk(self, conn: Connection, records: Sequence[Record]) -> list[Outcome]:
        """Apply ``records`` inside the caller's transaction; return one outcome per record."""
