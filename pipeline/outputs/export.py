"""Publications for other tools: CSV, a JSON array or JSON Lines, written row by row as they stream from
the database, so a large table never sits in memory."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMATS = ("csv", "json", "jsonl")
JSON_COLUMNS = ("topics", "documents", "links")  # stored as JSON text; nested values in JSON exports
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such text cells get
# a leading apostrophe in CSV only, which spreadsheets hide. JSON exports keep every value as stored.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_export(rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; return how many were written."""
    writer = {"csv": _csv, "json": _json, "jsonl": _jsonl}[fmt]
    return writer(rows, columns, out)


def _csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        n += 1
    return n


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _record(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    record = {c: row.get(c) for c in columns}
    for c in JSON_COLUMNS:
        value = record.get(c)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # not JSON after all: exported as the text it is
                record[c] = json.loads(value)
    return record


def _json(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    n = 0
    out.write("[")
    for n, row in enumerate(rows, start=1):
        out.write(("\n" if n == 1 else ",\n") + json.dumps(_record(row, columns), ensure_ascii=False))
    out.write("\n]\n" if n else "]\n")
    return n


def _jsonl(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(_record(row, columns), ensure_ascii=False) + "\n")
        n += 1
    return n
