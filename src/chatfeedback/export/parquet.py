"""The analysis rows as Parquet: typed columns, written one record batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
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


def write_parquet(batches: Iterable[pa.RecordBatch], out: str | BinaryIO) -> int:
    """Write record batches (see
    :func:`chatfeedback.store.columns.iter_rated_answer_batches`) to ``out`` as Parquet
    (zstd), converted to ``SCHEMA``; returns the row count. Memory holds two batches.

    A second thread writes (encodes and compresses, which pyarrow does without holding the
    GIL) one batch while this one reads and converts the next."""
    count = 0
    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as pool:
        pending: Future[None] | None = None
        for raw in batches:
            if raw.num_rows:
                batch = typed(raw)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_batch, batch)
                count += raw.num_rows
        if pending is not None:
            pending.result()
        if count == 0:
            writer.write_table(SCHEMA.empty_table())
    return count


def typed(raw: pa.RecordBatch) -> pa.RecordBatch:
    """``raw`` in ``SCHEMA``: tags parsed, times as UTC timestamps, narrower integers."""
    columns = []
    for field, column in zip(SCHEMA, raw.columns, strict=True):
        if field.name == "tags":
            column = _tags(column)
        elif field.type == TIME and column.type == pa.string():
            column = column.cast(pa.timestamp("us"))
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _tags(text: pa.Array) -> pa.Array:
    """Lists of tags from their JSON text (no tags: an empty list, as in jsonl). Each
    distinct text is parsed once: a batch holds only a few hundred tag combinations."""
    codes = pc.dictionary_encode(text.fill_null("[]"))
    parsed = pa.array([json.loads(v) for v in codes.dictionary.to_pylist()],
                      SCHEMA.field("tags").type)
    return parsed.take(codes.indices)
