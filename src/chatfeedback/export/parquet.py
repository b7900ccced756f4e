"""The analysis rows as Parquet: typed columns, written one record batch at a time.

From a SQLite file, two child processes (store/columns.py's :func:`read_in_children`) read
the rows with ADBC's SQLite driver straight into Arrow, every other run of days each, while
this process converts the record batches to the export's types and writes them in order: a
million rows faster than reading them through sqlite3 alone, which makes a Python object
per value (figures: docs/performance.md). Elsewhere this process reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..progress import Progress
from ..store import Store
from ..store.columns import COLUMNS, iter_rated_answer_batches, read_in_children, sqlite_file
from ..store.filters import Filters

TIME = pa.timestamp("us", tz="UTC")
# The Parquet type of each export column that is not text (settings stay JSON text: their
# keys differ between backends).
TYPES = {
    "rating": pa.int8(), "score": pa.float64(), "tags": pa.list_(pa.string()),
    "version": pa.int32(), "versions": pa.int32(), "ttft_ms": pa.float64(),
    "latency_ms": pa.float64(), "prompt_tokens": pa.int32(), "completion_tokens": pa.int32(),
    "total_tokens": pa.int32(), "created_at": TIME, "rated_at": TIME,
}
SCHEMA = pa.schema([(name, TYPES.get(name, pa.string())) for name in COLUMNS])
TAGS = SCHEMA.get_field_index("tags")
CREATED = SCHEMA.get_field_index("created_at")
# The rows as they come from the store: tags as JSON text, times as text (SQLite) or as
# aware datetimes (PostgreSQL).
_TEXT_TIMES = pa.struct([pa.field(f.name, pa.string() if f.name == "tags" or f.type == TIME
                                  else f.type) for f in SCHEMA])
_DATETIMES = pa.struct([pa.field(f.name, pa.string() if f.name == "tags" else f.type)
                        for f in SCHEMA])


def export_parquet(store: Store, out: str | BinaryIO, filters: Filters = Filters(), *,
                   rows: int = 20_000, readers: int = 2,
                   progress: Progress | None = None) -> int:
    """Write the rated answers that pass ``filters`` to ``out`` as Parquet; returns the
    row count. From a SQLite file, ``readers`` child processes read them with ADBC (see
    the module docstring); otherwise this process reads them. ``progress`` hears the rows
    written, of about as many as the running totals count."""
    total = store.count_rated(filters) if progress else None
    database = sqlite_file(store)
    if database is not None and readers > 0:
        raw = read_in_children(store, database, filters, rows=rows, readers=readers)
        return write_parquet((_typed(batch) for batch in raw), out, progress=progress,
                             total=total)
    return write_parquet(iter_rated_answer_batches(store, filters, batch=rows), out,
                         progress=progress, total=total)


def write_parquet(batches: Iterable[Sequence[Sequence[Any]] | pa.RecordBatch],
                  out: str | BinaryIO, *, progress: Progress | None = None,
                  total: int | None = None) -> int:
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
            if len(rows):
                batch = rows if isinstance(rows, pa.RecordBatch) else record_batch(rows)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_batch, batch)
                count += len(rows)
                if progress:
                    progress(count, total)
        if pending is not None:
            pending.result()
        if count == 0:
            writer.write_table(SCHEMA.empty_table())
    return count


def record_batch(rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    """One record batch of ``SCHEMA`` from row tuples, converted by pyarrow in one pass
    (as a struct array: no Python list per column)."""
    raw = _TEXT_TIMES if isinstance(rows[0][CREATED], str) else _DATETIMES
    return _typed(pa.RecordBatch.from_struct_array(pa.array(rows, type=raw)))


def _tags(text: pa.Array) -> pa.Array:
    """Lists of tags from their JSON text (no tags: an empty list, as in jsonl). Each
    distinct text is parsed once: a batch holds only a few hundred tag combinations."""
    codes = pc.dictionary_encode(text.fill_null("[]"))
    parsed = pa.array([json.loads(v) for v in codes.dictionary.to_pylist()],
                      SCHEMA.field("tags").type)
    return parsed.take(codes.indices)


def _typed(raw: pa.RecordBatch) -> pa.RecordBatch:
    """A batch as read (tags as JSON text, times as stored text or as UTC timestamps,
    wider integers) in ``SCHEMA``."""
    columns = []
    for field, column in zip(SCHEMA, raw.columns, strict=True):
        if field.name == "tags":
            column = _tags(column)
        elif field.type == TIME and column.type != TIME:
            column = column.cast(pa.timestamp("us"))
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)
