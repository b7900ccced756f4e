"""The analysis rows as Parquet: typed columns, written one record batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

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
TAGS = SCHEMA.get_field_index("tags")
CREATED = SCHEMA.get_field_index("created_at")
# The rows as they come from the store: tags as JSON text, times as text (SQLite) or as
# aware datetimes (PostgreSQL).
_TEXT_TIMES = pa.struct([pa.field(f.name, pa.string() if f.name == "tags" or f.type == TIME
                                  else f.type) for f in SCHEMA])
_DATETIMES = pa.struct([pa.field(f.name, pa.string() if f.name == "tags" else f.type)
                        for f in SCHEMA])


def write_parquet(batches: Iterable[Sequence[Sequence[Any]]], out: str | BinaryIO) -> int:
    """Write batches of tuples in ``SCHEMA`` order (see
    :func:`chatfeedback.store.columns.iter_rated_answer_batches`) to ``out`` as Parquet
    (zstd); returns the row count. Memory holds two batches at a time.

    A second thread writes (encodes and compresses, which pyarrow does without holding the
    GIL) one batch while this one reads and converts the next."""
    count = 0
    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer, \
            ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as pool:
        pending: Future[None] | None = None
        for rows in batches:
            if rows:
                batch = record_batch(rows)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_batch, batch)
                count += len(rows)
        if pending is not None:
            pending.result()
        if count == 0:
            writer.write_table(SCHEMA.empty_table())
    return count


def record_batch(rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    """One record batch of ``SCHEMA`` from row tuples, converted by pyarrow in one pass
    (as a struct array: no Python list per column)."""
    raw = _TEXT_TIMES if isinstance(rows[0][CREATED], str) else _DATETIMES
    columns = pa.array(rows, type=raw).flatten()
    columns[TAGS] = _tags(columns[TAGS])
    for i, field in enumerate(SCHEMA):
        if field.type == TIME and columns[i].type != TIME:
            columns[i] = columns[i].cast(pa.timestamp("us")).cast(TIME)
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _tags(text: pa.Array) -> pa.Array:
    """Lists of tags from their JSON text (no tags: an empty list, as in jsonl). Each
    distinct text is parsed once: a batch holds only a few hundred tag combinations."""
    codes = pc.dictionary_encode(text.fill_null("[]"))
    parsed = pa.array([json.loads(v) for v in codes.dictionary.to_pylist()],
                      SCHEMA.field("tags").type)
    return parsed.take(codes.indices)
