"""Find the first malformed row of a CSV or NDJSON file, to name it in an error.

Polars stops at a value it cannot parse as the contract's type, or a line with
more fields than the header, without saying which row it was. After such a
failure the file is read again here, row by row, as text, and the first row
that does not fit the contract is named: file, row (1-based, after the
header), line, column and value. Only run after a failure: it reads the whole
file in Python.

    id,amount          contract: id integer, amount number
    1,50
    2,50 EUR     ->    "accounts.csv row 2 (line 3): value '50 EUR' in column 'amount' is not a number"
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator

from meshlab.catalog.contract import Column, Dataset

_BOOLEANS = {"true", "false", "0", "1", "t", "f", "yes", "no"}
_NAMES = {"integer": "an integer", "number": "a number", "boolean": "a boolean", "date": "a date"}


def _text_fits(value: str, logical: str) -> bool:
    """Whether the text of a CSV field reads as ``logical`` (an empty field is a null)."""
    if value == "":
        return True
    try:
        if logical == "integer":
            int(value)
        elif logical == "number":
            float(value)
        elif logical == "boolean":
            return value.strip().lower() in _BOOLEANS
        elif logical == "date":
            dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return False
    return True


def _json_fits(value, logical: str) -> bool:
    if value is None:
        return True
    if logical == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if logical == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if logical == "boolean":
        return isinstance(value, bool)
    if logical == "string":
        return isinstance(value, str)
    if logical == "date":
        return isinstance(value, str) and _text_fits(value, "date")
    return True


def csv_rows(
    handle: io.TextIOBase, columns: dict[str, Column], delimiter: str
) -> Iterator[tuple[list[str], str | None]]:
    """The header (problem None), then each row with what is wrong with it (None: it fits)."""
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    yield header, None
    typed = [(i, columns[name]) for i, name in enumerate(header) if name in columns]
    for row_number, row in enumerate(reader, start=1):
        where = f"row {row_number} (line {reader.line_num})"
        if len(row) > len(header):
            yield row, f"{where} has {len(row)} fields; the header has {len(header)}"
            continue
        row = row + [""] * (len(header) - len(row))  # missing trailing fields read as nulls, as Polars does
        problem = None
        for index, column in typed:
            if not _text_fits(row[index], column.logical_type):
                kind = _NAMES[column.logical_type]
                problem = f"{where}: value {row[index][:40]!r} in column '{column.name}' is not {kind}"
                break
        yield row, problem


def _csv_problems(handle: io.TextIOBase, columns: dict[str, Column], delimiter: str) -> Iterator[str]:
    rows = csv_rows(handle, columns, delimiter)
    next(rows, None)
    return (problem for _, problem in rows if problem is not None)


def _json_problems(handle: io.TextIOBase, columns: dict[str, Column]) -> Iterator[str]:
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield f"line {line_number} is not JSON ({exc})"
            continue
        if not isinstance(record, dict):
            yield f"line {line_number} is not a JSON object"
            continue
        for name, column in columns.items():
            if not _json_fits(record.get(name), column.logical_type):
                value = str(record.get(name))[:40]
                kind = _NAMES.get(column.logical_type, column.logical_type)
                yield f"line {line_number}: value {value!r} in '{name}' is not {kind}"
                break


def malformed_rows(handle: io.TextIOBase, dataset: Dataset, file_format: str) -> Iterator[str]:
    """Descriptions of the rows of ``handle`` that do not fit ``dataset``'s contract, in file order."""
    columns = {c.name: c for c in dataset.columns}
    if file_format == "csv":
        return _csv_problems(handle, columns, dataset.server.delimiter or ",")
    return _json_problems(handle, columns)
