"""The analysis rows as Parquet: typed columns, written one record batch at a time.

From a SQLite file, two child processes (:mod:`chatfeedback.arrow_reader`) read the rows
with ADBC's SQLite driver straight into Arrow, every other run of days each, and send
record batches back, while this process converts and writes them in order: a million
rows faster than reading them through sqlite3 alone, which makes a Python object per
value (figures: docs/performance.md). Elsewhere this process reads them.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import StoreError
from ..progress import Progress
from ..store import Store
from ..store.columns import (COLUMNS, NULLABLE, RAW_SQLITE, adbc_statement,
                             iter_rated_answer_batches, slice_starts, sqlite_file, writes_held)
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
        bounds = [None, *slice_starts(store, filters, rows=rows), None]
        slices = list(zip(bounds, bounds[1:], strict=False))
        return write_parquet(_read_in_children(database, filters, slices, rows,
                                               min(readers, len(slices))), out,
                             progress=progress, total=total)
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


def _read_in_children(database: str, filters: Filters, slices: list[tuple[Any, Any]],
                      rows: int, readers: int) -> Iterator[pa.RecordBatch]:
    """The record batches of ``slices`` in order; reader i reads slices i, i + readers, ...
    (see :mod:`chatfeedback.arrow_reader`) and runs ahead by what its pipe holds.

    One snapshot for all: the readers start their read transactions while this process
    holds SQLite's write lock (``BEGIN IMMEDIATE``), so no write commits in between; the
    lock is held only for that moment."""
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(readers):
            job = dict(database=database, schema=RAW_SQLITE, nullable=NULLABLE, rows=rows,
                       statements=[adbc_statement(filters, start=start, stop=stop)
                                   for start, stop in slices[i::readers]])
            worker = subprocess.Popen(
                [sys.executable, "-m", "chatfeedback.arrow_reader"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            workers.append(worker)
            pickle.dump(job, worker.stdin)
            worker.stdin.flush()
        for worker in workers:
            _expect(worker, b"C\n")
        with writes_held(database):
            for worker in workers:
                worker.stdin.write(b"go\n")
                worker.stdin.close()
            for worker in workers:
                _expect(worker, b"R\n")
        streams: dict[int, Any] = {}
        for i in range(len(slices)):
            try:
                if i % readers not in streams:
                    streams[i % readers] = pa.ipc.open_stream(workers[i % readers].stdout)
                while (raw_batch := streams[i % readers].read_next_batch()).num_rows:
                    yield _typed(raw_batch)
            except (StopIteration, pa.ArrowInvalid, OSError):
                _expect(workers[i % readers], b"")  # raises what the reader said
        for worker in workers:
            if worker.wait() != 0:
                _expect(worker, b"")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
            for pipe in (worker.stdin, worker.stdout, worker.stderr):
                if pipe and not pipe.closed:
                    pipe.close()


def _expect(worker: subprocess.Popen[bytes], line: bytes) -> None:
    """Read ``line`` from a reader, or raise what it wrote on stderr."""
    if line and worker.stdout.readline() == line:
        return
    try:
        worker.wait(timeout=10)  # it may still be writing why
    except subprocess.TimeoutExpired:
        worker.kill()
    reason = worker.stderr.read().decode(errors="replace").strip().splitlines()
    raise StoreError(reason[-1] if reason else "the export's reader process ended "
                     "unexpectedly")


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
