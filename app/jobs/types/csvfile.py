"""Reading an uploaded CSV (text encoding, dialect, header and records with their line
numbers) and writing the CSVs the service serves (cells a spreadsheet would run neutralised).

The same functions check a file before a job is created and read it again when the job runs,
so what the syntax check accepted is exactly what the engine processes.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from app.exceptions import FieldRequired, InvalidInput
from app.jobs.types.base import JobType, Record

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A leading apostrophe the service adds to neutralise a formula; removed on the way back in.
# Apostrophes already there before one of these get one more, so every cell round-trips.
_QUOTED_STARTS = ("=", "+", "-", "@")


def decode(raw: bytes) -> tuple[str, str]:
    """Decode an upload; return the text and the encoding name that reproduces it.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are accepted, anything else is refused
    naming the first offending byte.
    """
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0)
        if encoding == "utf-16":
            offset += 2
        raise InvalidInput(
            f"The file is not valid {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text: "
            f"invalid byte at offset {offset}. Save it as UTF-8 (or UTF-16 with a BOM).",
            "fileContent",
        ) from None
    if "\x00" in text:
        offset = len(text[: text.index("\x00")].encode("utf-8"))
        raise InvalidInput(
            f"The file is not text: NUL character at byte offset {offset}.", "fileContent"
        )
    return text, encoding


def _delimiter(header_line: str) -> str:
    return "\t" if header_line.count("\t") > header_line.count(",") else ","


def clean_cell(value: str) -> str:
    """Trim a cell and undo the service's own formula neutralising."""
    value = value.strip()
    if value[:1] == "'" and _quoted_formula(value):  # most cells: one comparison
        return value[1:]
    return value


def _quoted_formula(value: str) -> bool:
    """Apostrophes, then a formula start: ``'=x``, ``''+y``."""
    return value.startswith("'") and value.lstrip("'").startswith(_QUOTED_STARTS)


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe.

    A cell that already starts with an apostrophe before a formula start gets one more, so that
    :func:`clean_cell`, which removes one, gives it back unchanged.
    """
    if value.startswith(FORMULA_STARTS) or _quoted_formula(value):
        return "'" + value
    return value


def normalise_header(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower()


class CsvFile:
    """A decoded upload, split into its header and records."""

    def __init__(self, text: str) -> None:
        self.text = text
        first_line = text.split("\n", 1)[0]
        self.delimiter = _delimiter(first_line)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (start line, cells) for every non-blank row; errors name the line."""
        reader = csv.reader(
            io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True
        )
        line = 1
        while True:
            start = line
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(
                    f"Line {start}: the record cannot be read ({exc}); check for an unbalanced "
                    "quote.",
                    "fileContent",
                ) from None
            line = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            yield start, row

    def header(self) -> list[str]:
        """The header's column names, normalised (trimmed, lower-case)."""
        for _line, row in self.rows():
            return [normalise_header(cell) for cell in row]
        raise FieldRequired("fileContent is empty", "fileContent")

    def count(self) -> int:
        """How many data records there are, each checked as ``records`` checks it (the header
        must already have been matched), without building them: what a create needs."""
        rows = self.rows()
        _line, header = next(rows)
        width = len(header)
        total = 0
        for line, row in rows:
            if len(row) != width:
                raise _width_error(line, len(row), width)
            total += 1
        return total

    def records(self, columns: Iterable[str], missing: str = "") -> Iterator[Record]:
        """Data records with cells in the order of ``columns`` (canonical names); a column
        the header lacks (an optional one) reads as ``missing``.

        The header must already have been matched to ``columns``.
        """
        wanted = [c.lower() for c in columns]
        rows = self.rows()
        _line, header = next(rows)
        position = {normalise_header(name): i for i, name in enumerate(header)}
        width = len(header)
        if all(c in position for c in wanted):
            order = [position[c] for c in wanted]
        else:  # index ``width``: the ``missing`` cell appended to each row below
            order = [position.get(c, width) for c in wanted]
        identity = order == list(range(width))
        for line, row in rows:
            if len(row) != width:
                raise _width_error(line, len(row), width)
            if identity:
                yield Record(line, tuple(map(clean_cell, row)))
            else:
                row.append(missing)
                yield Record(line, tuple(clean_cell(row[i]) for i in order))


def _width_error(line: int, fields: int, width: int) -> InvalidInput:
    return InvalidInput(
        f"Line {line}: {fields} fields where the header has {width}.", "fileContent"
    )


class CsvJobType(JobType):
    """A job type whose file is a CSV upload with a header naming ``columns``."""

    def check(self, content: bytes) -> tuple[int, str]:
        text, encoding = decode(content)
        total = CsvFile(text).count()
        if total == 0:
            raise FieldRequired("fileContent has a header but no data rows", "fileContent")
        return total, encoding

    def read(self, content: bytes) -> Iterator[Record]:
        text, _encoding = decode(content)
        return CsvFile(text).records(self.columns, self.missing_cell)


class RevertCsvType(JobType):
    """A revert's type: its file is written by the service (``revert_content``), a header and
    rows as ``csv.writer`` wrote them, read back exactly (no trimming), each cell through
    :meth:`cell`."""

    uploadable = False

    def cell(self, value: str) -> str:
        return value

    def check(self, content: bytes) -> tuple[int, str]:
        total = sum(1 for _ in self.read(content))
        if total == 0:
            raise FieldRequired("There is nothing to revert", "fileContent")
        return total, "utf-8"

    def read(self, content: bytes) -> Iterator[Record]:
        text, _encoding = decode(content)
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader, None)
        line = reader.line_num + 1
        for row in reader:
            yield Record(line, tuple(self.cell(value) for value in row))
            line = reader.line_num + 1


class _Echo:
    """A file-like object whose ``write`` returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """Rows as CSV text with formula-looking cells neutralised."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([neutralise(str(cell)) for cell in row])


def as_bytes(chunks: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Join small text pieces into UTF-8 blocks of about ``size`` bytes for the response."""
    buffer = io.StringIO()
    length = 0
    for chunk in chunks:
        buffer.write(chunk)
        length += len(chunk)
        if length >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer = io.StringIO()
            length = 0
    if length:
        yield buffer.getvalue().encode("utf-8")
