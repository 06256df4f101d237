"""Property: any CSV the template writer can produce uploads again with the same cells."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.directory.template import TEMPLATE_COLUMNS
from app.jobs import types as jobtypes
from app.jobs.check import check_file
from app.jobs.types.csvfile import CsvFile, as_bytes, csv_rows, decode

SSO = jobtypes.get(5)

# What a directory cell can hold: any text but NUL and lone surrogates (PostgreSQL and UTF-8
# refuse those), with no surrounding white space (the directory stores names trimmed).
cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")).filter(
    lambda s: s == s.strip()
)
formula_like = st.sampled_from(["=1+1", "+1", "-1", "@SUM(A1)", "'=x", "''+y", "'-", "'", "a,b"])
any_cell = st.one_of(cell, formula_like, st.builds(lambda a, b: a + b, formula_like, cell))
row = st.tuples(any_cell.filter(bool), any_cell, any_cell, any_cell)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(row, min_size=1, max_size=8))
def test_template_csv_round_trips(rows: list[tuple[str, str, str, str]]) -> None:
    raw = b"".join(as_bytes(csv_rows([TEMPLATE_COLUMNS, *rows])))
    text, encoding = decode(raw)
    assert encoding == "utf-8"
    assert SSO.columns == TEMPLATE_COLUMNS
    parsed = [record.values for record in CsvFile(text).records(SSO.columns)]
    assert parsed == rows
    checked = check_file(raw, None, 3 * 1024 * 1024)
    assert checked.job_type == 5 and checked.total_records == len(rows)


def test_cells_that_already_look_neutralised_come_back_unchanged() -> None:
    """Found by the property above: a directory cell ``'=x`` came back as ``=x``."""
    rows = [("'=x", "''+y", "'-", "'\tz")]
    raw = b"".join(as_bytes(csv_rows([TEMPLATE_COLUMNS, *rows])))
    assert b"''=x,'''+y,''-" in raw
    assert [r.values for r in CsvFile(decode(raw)[0]).records(SSO.columns)] == rows
