"""The analysis rows as Parquet: typed columns, written in record batches (flat memory)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from .analysis import ANALYSIS_COLUMNS

TIME = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    ("conversation_id", pa.string()), ("message_id", pa.string()), ("prompt", pa.string()),
    ("response", pa.string()), ("rating", pa.int8()), ("scale", pa.string()),
    ("score", pa.float64()), ("comment", pa.string()), ("tags", pa.list_(pa.string())),
    ("model", pa.string()), ("backend", pa.string()),
    ("settings", pa.string()),  # JSON text: keys differ between backends
    ("system_prompt", pa.string()), ("status", pa.string()), ("version", pa.int32()),
    ("versions", pa.int32()), ("ttft_ms", pa.float64()), ("latency_ms", pa.float64()),
    ("prompt_tokens", pa.int32()), ("completion_tokens", pa.int32()),
    ("total_tokens", pa.int32()), ("finish_reason", pa.string()),
    ("created_at", TIME), ("rated_at", TIME), ("rater", pa.string()),
])
assert tuple(SCHEMA.names) == ANALYSIS_COLUMNS


def write_parquet(rows: Iterable[dict[str, Any]], out: str | BinaryIO,
                  batch_size: int = 50_000) -> int:
    """Write analysis rows (see :func:`answer_row`) to ``out``; returns the row count.
    Memory holds one batch of ``batch_size`` rows at a time."""
    count = 0
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer:
        for row in rows:
            for name, values in columns.items():
                values.append(row.get(name))
            count += 1
            if len(columns["message_id"]) >= batch_size:
                writer.write_batch(_batch(columns))
                columns = {name: [] for name in SCHEMA.names}
        if columns["message_id"] or count == 0:
            writer.write_batch(_batch(columns))
    return count


def _batch(columns: dict[str, list[Any]]) -> pa.RecordBatch:
    columns["settings"] = [None if s is None else json.dumps(s, ensure_ascii=False)
                           for s in columns["settings"]]
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[f.name], type=f.type) for f in SCHEMA], schema=SCHEMA)
