"""Result records as CSV: flattened to dotted columns, rendered as RFC 4180 text safe to open in a
spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

Cell = str | int | float | bool | None

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def flatten_record(record: Mapping[str, Any]) -> dict[str, Cell]:
    """Flatten one record to columns.

    Nested objects become dotted columns (``{"price": {"amount": 1}}`` → ``price.amount``); an empty
    nested object is kept as the string ``"{}"`` so its column does not vanish. Every array (of
    scalars or of objects) becomes one column holding its compact JSON text, so a cell always
    round-trips with ``json.loads``. Keys that contain a dot are not escaped: ``{"a.b": 1}`` and
    ``{"a": {"b": 1}}`` both give the column ``a.b``.
    """
    flat: dict[str, Cell] = {}
    _flatten_into(flat, "", record)
    return flat


def records_to_csv(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Render records as RFC 4180 CSV: UTF-8, ``\\r\\n`` line ends, a header row always present.

    Columns are the union of every record's flattened columns in first-seen order (the schema's
    property order, since records follow it). A missing or null value is an empty cell; booleans
    are ``true``/``false`` as in JSON. A text cell starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` so spreadsheets do not run it as a formula; numbers are never
    altered, so a negative number stays as it is.
    """
    rows = [flatten_record(record) for record in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format_cell(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


def _flatten_into(flat: dict[str, Cell], prefix: str, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        column = f"{prefix}{key}"
        if isinstance(item, Mapping):
            if item:
                _flatten_into(flat, f"{column}.", item)
            else:
                flat[column] = "{}"
        elif isinstance(item, list | tuple):
            flat[column] = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        else:
            flat[column] = item


def _format_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value.startswith(_FORMULA_PREFIXES):
        return f"'{value}"
    return value
