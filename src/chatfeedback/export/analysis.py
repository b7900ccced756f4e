"""Rows for analysis: one per rated answer, written as JSON Lines or CSV, streamed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TextIO

from ..store.queries import EXPORT_COLUMNS as ANALYSIS_COLUMNS


def answer_row(row: dict[str, Any]) -> dict[str, Any]:
    """The export row for a store row from ``Store.iter_rated_answers``."""
    out = {key: row.get(key) for key in ANALYSIS_COLUMNS}
    out["tags"] = list(row.get("tags") or [])
    out["versions"] = row.get("versions", 1)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False, default=_json_default) + "\n"


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for line in jsonl_lines(rows):
        out.write(line)
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO,
              columns: tuple[str, ...] = ANALYSIS_COLUMNS) -> int:
    """CSV with a header; lists and dicts as JSON, times in ISO 8601."""
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
