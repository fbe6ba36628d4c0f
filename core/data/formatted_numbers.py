"""Numbers as a spreadsheet shows them: ``$2,868.54``, ``1,234``, ``12.5%``, ``(1,200.00)``, ``1.234,56 €``.

A spreadsheet saved as CSV writes each cell as it displays it, currency sign, digit grouping and all.
DuckDB reads such a column as text, so a measurement became a category per row (and, every value
being different, was then left out as an identifier). :func:`formatted_columns` picks, on the first
records, the columns whose every value is such a number and one at least shows a sign, a group or
accounting parentheses; once the whole file is staged, :func:`formatted_to_numbers` converts a
candidate only when every one of its values has that form (none is lost: otherwise it stays text).

The number is the one written, signs and groups dropped: ``12.5%`` is 12.5, ``(1,200.00)`` is
-1200. The marks follow the file: in a ``;``-separated file the comma is the decimal mark and a
point or a space groups digits (``1.234,56``); elsewhere the point is decimal and the comma groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb

from core.store.sql import one_row, quote_ident, quote_qualified, sql_string

_CURRENCY = "[$€£¥]"
_SPACE = "[ \u00a0\u202f]"  # a space, a no-break space, a narrow no-break space (French grouping)


def _marks(decimal_comma: bool) -> tuple[str, str]:
    """The digit-group and decimal marks of a file, as regular-expression classes."""
    return ("[. \u00a0\u202f]", ",") if decimal_comma else (",", r"\.")  # the characters themselves: RE2 has no \u


def number_pattern(decimal_comma: bool) -> str:
    """A whole value that is a formatted number (Python's ``re`` and DuckDB's RE2 read it alike)."""
    group, decimal = _marks(decimal_comma)
    digits = rf"(?:\d{{1,3}}(?:{group}\d{{3}})+|\d+)(?:{decimal}\d+)?"
    plain = rf"[-+]?{_SPACE}*{_CURRENCY}?{_SPACE}*[-+]?{digits}{_SPACE}*{_CURRENCY}?{_SPACE}*%?"
    accounting = rf"{_CURRENCY}?{_SPACE}*\({_SPACE}*{_CURRENCY}?{_SPACE}*{digits}{_SPACE}*{_CURRENCY}?{_SPACE}*\)"
    return rf"(?:{plain}|{accounting})"


def formatted_columns(records: Sequence[Sequence[str]], delimiter: str, missing: Sequence[str]) -> list[int]:
    """The positions of the columns whose values in ``records`` (the header first) are all formatted
    numbers, at least one showing a currency or percent sign, a digit group or parentheses."""
    if len(records) < 2:
        return []
    decimal_comma = delimiter == ";"
    whole = re.compile(number_pattern(decimal_comma))
    group = re.compile(rf"\d{_marks(decimal_comma)[0]}\d{{3}}")
    shown = re.compile(r"[$€£¥%(]")
    found = []
    for j in range(len(records[0])):
        values = [v for v in (r[j].strip() for r in records[1:] if j < len(r)) if v not in missing]
        if not values or not all(whole.fullmatch(v) for v in values):
            continue
        if any(shown.search(v) or group.search(v) for v in values):
            found.append(j)
    return found


def formatted_to_numbers(
    con: duckdb.DuckDBPyConnection, tables: list[str], columns: list[str], decimal_comma: bool
) -> list[str]:
    """Convert each of ``columns`` (text in every one of ``tables``, the file's staged rows) to DOUBLE
    when every value has the form; returns those converted."""
    names = [quote_qualified(t) for t in tables]
    rows = " UNION ALL ".join(f"SELECT * FROM {t}" for t in names)
    pattern = sql_string(number_pattern(decimal_comma))
    keep = "'[^0-9,-]'" if decimal_comma else "'[^0-9.-]'"
    converted = []
    for col in columns:
        c = quote_ident(col)
        (bad,) = one_row(
            con.execute(f"SELECT count(*) FILTER (WHERE NOT regexp_full_match(trim({c}), {pattern})) FROM ({rows})")
        )
        if bad:
            continue
        digits = f"regexp_replace({c}, {keep}, '', 'g')"
        if decimal_comma:
            digits = f"replace({digits}, ',', '.')"
        value = f"CASE WHEN strpos({c}, '(') > 0 THEN -1 ELSE 1 END * CAST({digits} AS DOUBLE)"
        for t in names:
            con.execute(f"ALTER TABLE {t} ALTER {c} TYPE DOUBLE USING {value}")
        converted.append(col)
    return converted
