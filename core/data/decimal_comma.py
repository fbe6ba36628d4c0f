"""Numbers written with a decimal comma, as spreadsheets and R's ``write.csv2`` write them in much of Europe.

Where the comma is the decimal mark, a CSV file separates its fields with semicolons (``Ann;34;12,5``).
Read with DuckDB's default decimal point, ``12,5`` is text: a measurement would become a category
of one-hot columns. :func:`decimal_comma_columns` looks at the first records (those the delimiter
and the header were found on) and says when a semicolon-separated file writes its numbers this way;
the import then reads it with ``decimal_separator = ','`` and says which columns are read as numbers.

Only semicolon files qualify, and only when no value of the first records is a number with a decimal
point: a file mixing both marks (or a comma-separated one, where ``1,234`` may be a thousand) keeps
DuckDB's default, its comma-numbers text as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

COMMA_NUMBER = re.compile(r"[+-]?\d+(?:,\d+)?(?:[eE][+-]?\d+)?")
POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")


def decimal_comma_columns(records: Sequence[Sequence[str]], delimiter: str, missing: Sequence[str]) -> list[int]:
    """The positions of the columns whose values in ``records`` (the header first) are all numbers and
    some of them written with a decimal comma; empty unless the file qualifies (see the module)."""
    if delimiter != ";" or len(records) < 2:
        return []
    rows = records[1:]
    found = []
    for j in range(len(records[0])):
        values = [v for v in (r[j].strip() for r in rows if j < len(r)) if v not in missing]
        if any(POINT_NUMBER.fullmatch(v) for v in values):
            return []
        if values and all(COMMA_NUMBER.fullmatch(v) for v in values) and any("," in v for v in values):
            found.append(j)
    return found
