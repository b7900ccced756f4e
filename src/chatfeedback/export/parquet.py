"""The analysis rows as Parquet: typed columns, written one record batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ..store.columns import COLUMNS
from .analysis import ANALYSIS_COLUMNS

TIME = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([
    ("conversation_id", pa.string()), ("message_id", pa.string()), ("prompt", pa.string()),
    ("response", pa.string()), ("rating", pa.int8()), ("scale", pa.string()),
    ("score", pa.float64()), ("comment", pa.string()), ("tags", pa.list_(pa.string())),
    ("model", pa.string()), ("backend", pa.string()),
    ("settings", pa.string()),  # JSON text: the keys differ between backends
    ("system_prompt", pa.string()), ("status", pa.string()), ("version", pa.int32()),
    ("versions", pa.int32()), ("ttft_ms", pa.float64()), ("latency_ms", pa.float64()),
    ("prompt_tokens", pa.int32()), ("completion_tokens", pa.int32()),
    ("total_tokens", pa.int32()), ("finish_reason", pa.string()),
    ("created_at", TIME), ("rated_at", TIME), ("rater", pa.string()),
])
assert tuple(SCHEMA.names) == ANALYSIS_COLUMNS == COLUMNS


def write_parquet(batches: Iterable[Sequence[Sequence[Any]]], out: str | BinaryIO) -> int:
    """Write batches of tuples in ``SCHEMA`` order (see
    :func:`chatfeedback.store.columns.iter_rated_answer_batches`) to ``out`` as Parquet
    (zstd); returns the row count. Memory holds one batch at a time."""
    count = 0
    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer:
        for rows in batches:
            if rows:
                writer.write_batch(_batch(rows))
                count += len(rows)
        if count == 0:
            writer.write_table(SCHEMA.empty_table())
    return count


def _batch(rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    arrays = []
    for field, values in zip(SCHEMA, zip(*rows, strict=True), strict=True):
        if field.name == "tags":
            values = [[] if v is None else json.loads(v) for v in values]  # as in jsonl
        if field.type == TIME and any(isinstance(v, str) for v in values):
            arrays.append(pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(TIME))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)
