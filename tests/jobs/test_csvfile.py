"""Decoding, dialects, header matching and record line numbers of uploads."""

from __future__ import annotations

import codecs

import pytest

from app.exceptions import InvalidInput
from app.jobs import types as jobtypes
from app.jobs.types.csvfile import CsvFile, clean_cell, decode, neutralise

SSO = jobtypes.get(5)


def records(text: str) -> list[tuple[int, tuple[str, ...]]]:
    return [(r.line_number, r.values) for r in CsvFile(text).records(SSO.columns)]


def test_utf8_plain_and_with_bom() -> None:
    assert decode(b"userName\n") == ("userName\n", "utf-8")
    assert decode(codecs.BOM_UTF8 + b"userName\n") == ("userName\n", "utf-8-sig")


def test_utf16_with_bom_round_trips() -> None:
    text = "userName\tfirstName\tlastName\tnewUserName\r\njo\tJo\tÅberg\tjo@x\r\n"
    raw = text.encode("utf-16")
    assert decode(raw) == (text, "utf-16")
    assert records(text) == [(2, ("jo", "Jo", "Åberg", "jo@x"))]


def test_invalid_utf8_names_the_byte_offset() -> None:
    with pytest.raises(InvalidInput, match="offset 9"):
        decode(b"userName,\xff\n")


def test_bom_counts_in_the_offset() -> None:
    with pytest.raises(InvalidInput, match="offset 5"):
        decode(codecs.BOM_UTF8 + b"ab\xc3")


def test_nul_byte_refused() -> None:
    with pytest.raises(InvalidInput, match="offset 2"):
        decode(b"ab\x00cd")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_ends_and_no_final_newline(newline: str) -> None:
    text = newline.join(["userName,firstName,lastName,newUserName", "a,A,B,a2", "b,C,D,"])
    assert records(text) == [(2, ("a", "A", "B", "a2")), (3, ("b", "C", "D", ""))]


def test_blank_lines_skipped_but_counted() -> None:
    text = "userName,firstName,lastName,newUserName\n\na,,,\n   \n\nb,,,x\n"
    assert [line for line, _ in records(text)] == [3, 6]


def test_quoted_newline_is_one_record_numbered_by_its_start() -> None:
    text = 'userName,firstName,lastName,newUserName\na,"two\nlines",B,\nb,C,D,\n'
    assert records(text) == [(2, ("a", "two\nlines", "B", "")), (4, ("b", "C", "D", ""))]


def test_header_any_order_case_and_spaces() -> None:
    text = " NEWUSERNAME ,lastname,userName , FirstName\nnew,Last,old,First\n"
    header = CsvFile(text).header()
    assert jobtypes.match_header(header, None) is SSO
    assert records(text) == [(2, ("old", "First", "Last", "new"))]


def test_tab_delimiter_detected() -> None:
    text = "userName\tfirstName\tlastName\tnewUserName\na\tA, with comma\tB\t\n"
    assert records(text) == [(2, ("a", "A, with comma", "B", ""))]


def test_wrong_field_count_names_the_line() -> None:
    text = "userName,firstName,lastName,newUserName\na,b,c,d\n\na,b,c\n"
    with pytest.raises(InvalidInput, match="Line 4: 3 fields where the header has 4"):
        records(text)


def test_unbalanced_quote_names_the_line() -> None:
    text = 'userName,firstName,lastName,newUserName\na,b,c,d\nb,"open,c,d\nc,d,e,f\n'
    with pytest.raises(InvalidInput, match="Line 3"):
        records(text)


def test_cells_trimmed_and_neutralising_undone() -> None:
    assert clean_cell("  '=SUM(A1)  ") == "=SUM(A1)"
    assert clean_cell("'plain") == "'plain"
    assert clean_cell(neutralise("-x")) == "-x"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(1)", "\tx", "\rx"])
def test_neutralise_formula_starts(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_header_matching_refusals() -> None:
    with pytest.raises(InvalidInput, match=r"expected columns: .*userName,firstName"):
        jobtypes.match_header(["username", "firstname"], None)
    with pytest.raises(InvalidInput, match="expected columns"):
        jobtypes.match_header(["username", "username", "firstname", "lastname"], None)
    with pytest.raises(InvalidInput, match="jobType 9 is not supported"):
        jobtypes.match_header(["username", "firstname", "lastname", "newusername"], 9)
    with pytest.raises(InvalidInput, match=r"does not match jobType 2 \(Agent\)"):
        jobtypes.match_header(["username", "firstname", "lastname", "newusername"], 2)


def test_bom_in_text_is_not_part_of_first_name() -> None:
    header = CsvFile("\ufeffuserName,firstName,lastName,newUserName\n").header()
    assert header[0] == "username"
