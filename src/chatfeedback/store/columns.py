"""Rated answers in column-ready batches of plain tuples, for the columnar (Parquet) export.

The same rows as ``Store.iter_rated_answers``, without a dict per row: JSON columns come as
their JSON text and, on SQLite, times as their stored UTC text, so that the exporter can
convert whole columns at once (pyarrow parses the times). From a SQLite file the export
reads the same rows with ADBC instead (:func:`read_in_children`: child processes,
:mod:`chatfeedback.store.arrow_reader`, run :func:`adbc_statement` over runs of days,
:func:`slice_starts`, all in one snapshot).
"""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from sqlalchemy import String, create_engine, func, literal_column, select, type_coerce
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ..errors import StoreError
from .errors import db_errors
from .filters import Filters
from .queries import EXPORT_COLUMNS as COLUMNS
from .queries import rated_answers
from .schema import rating_counts, ratings
from .store import Store

FLOATS = ("score", "ttft_ms", "latency_ms")
INTEGERS = ("rating", "version", "versions", "prompt_tokens", "completion_tokens",
            "total_tokens")
# Columns that may be NULL and are not integers (see _query).
_MAY_BE_NULL = ("prompt", "score", "comment", "tags", "model", "backend", "settings",
                "system_prompt", "ttft_ms", "latency_ms", "finish_reason", "rater",
                "experiment", "arm", "trace_id")
NULLABLE = [COLUMNS.index(name) for name in _MAY_BE_NULL]
# The batches ADBC reads, once the NULL flags are applied: times as stored text, tags and
# settings as JSON text, integers as int64.
RAW_SQLITE = pa.schema([(name, pa.float64() if name in FLOATS else pa.int64()
                          if name in INTEGERS else pa.string()) for name in COLUMNS])


@db_errors
def iter_rated_answer_batches(store: Store, filters: Filters = Filters(), *,
                              batch: int = 20_000) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Lists of up to ``batch`` tuples in :data:`COLUMNS` order, oldest rating first.

    On SQLite the rows are read from the DBAPI cursor that SQLAlchemy executed the query
    on: sqlite3 already gives tuples, and wrapping each in a SQLAlchemy ``Row`` (then back
    into a tuple for pyarrow) was a large share of the export's time. SQLAlchemy still
    builds the SQL and binds the parameters; nothing is processed on the way out for these
    columns (times are read as text on purpose). PostgreSQL streams through
    SQLAlchemy's server-side cursor as before, whose first rows SQLAlchemy buffers itself.
    """
    query = _query(filters, store.engine.dialect.name == "sqlite")
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            result = conn.execute(query)
            cursor = result.cursor  # nothing fetched yet: no server-side buffering
            while rows := cursor.fetchmany(batch):
                yield rows
        else:
            result = conn.execution_options(stream_results=True).execute(query)
            while rows := result.fetchmany(batch):
                yield [tuple(row) for row in rows]


@db_errors
def slice_starts(store: Store, filters: Filters = Filters(), *, rows: int = 50_000
                 ) -> list[str]:
    """Days ('YYYY-MM-DD', oldest first) that cut the ratings into runs of about ``rows``
    (a day is never cut), from the per-day running totals: a few thousand counters rather
    than numbering every rating. Only the sizes of the runs
    depend on the counters being right, never which rows are read."""
    query = select(rating_counts.c.day, func.sum(rating_counts.c.n)) \
        .where(*Filters(model=filters.model, scale=filters.scale).counted(rating_counts)) \
        .group_by(rating_counts.c.day).order_by(rating_counts.c.day)
    with store.engine.connect() as conn:
        days = conn.execute(query).all()
    starts, run = [], 0
    for day, n in days:
        if run >= rows:
            starts.append(day.isoformat())
            run = 0
        run += n
    return starts


def adbc_statement(filters: Filters = Filters(), *, start: str | None = None,
                   stop: str | None = None) -> tuple[str, list[Any]]:
    """SQLite SQL and parameters for the rows of :func:`iter_rated_answer_batches` rated
    in [start, stop) (stored text; None: no bound), as ADBC's SQLite driver reads them
    (see :mod:`chatfeedback.store.arrow_reader`): each column of :data:`NULLABLE` is followed,
    after the last column, by an ``IS NULL`` flag, because ADBC guesses a column's type
    from its first batch and would guess one that is NULL throughout it wrong."""
    dialect = sqlite_dialect.dialect()
    when = type_coerce(ratings.c.rated_at, String)
    query = _query(filters, True, typed=True)
    if start is not None:
        query = query.where(when >= start)
    if stop is not None:
        query = query.where(when < stop)
    compiled = query.compile(dialect=dialect)
    values = compiled.construct_params()
    params = []
    for name in compiled.positiontup or ():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        params.append(process(values[name]) if process else values[name])
    return str(compiled), params


def _query(filters: Filters, sqlite: bool, *, typed: bool = False) -> Any:
    """The rows in :data:`COLUMNS` order: JSON as text, times as stored text on SQLite.
    ``typed``: for ADBC, which guesses each column's type from the values in its first
    batch (SQLite has no column types) and would guess a column that is NULL throughout it
    wrong: such columns come as ``coalesce(value, '')`` (or ``0.0``), followed by one
    ``IS NULL`` flag for each of them."""
    query = rated_answers(COLUMNS, filters, raw=True, text_times=sqlite)
    if not typed:
        return query
    columns = list(query.selected_columns)
    nullable = [columns[COLUMNS.index(name)] for name in _MAY_BE_NULL]
    typed_columns = [func.coalesce(c, literal_column("0.0" if name in FLOATS else "''"))
                     .label(name) if name in _MAY_BE_NULL else c
                     for name, c in zip(COLUMNS, columns, strict=True)]
    return query.with_only_columns(*typed_columns, *(c.is_(None) for c in nullable))


def sqlite_file(store: Store) -> str | None:
    """The path of the store's SQLite file; None for another database (or in memory, or
    with URL options the reader processes would not see)."""
    url = store.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.query:
        return None
    return url.database


@contextmanager
def writes_held(database: str) -> Iterator[None]:
    """SQLite's write lock on ``database`` (BEGIN IMMEDIATE) for the block: read
    transactions that begin meanwhile (the reader processes') share one snapshot."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA busy_timeout=30000")
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                raw.execute("ROLLBACK")
    finally:
        engine.dispose()


def read_in_children(store: Store, database: str, filters: Filters, *, rows: int,
                     readers: int) -> Iterator[pa.RecordBatch]:
    """The rated answers of ``database`` (the store's SQLite file) that pass ``filters``,
    as record batches in :data:`RAW_SQLITE`, in order, read by up to ``readers`` child
    processes (:mod:`chatfeedback.store.arrow_reader`) in runs of days of about ``rows``
    rows: reader i reads runs i, i + readers, ... and runs ahead by what its pipe holds.

    One snapshot for all: the readers start their read transactions while this process
    holds SQLite's write lock (``BEGIN IMMEDIATE``), so no write commits in between; the
    lock is held only for that moment."""
    bounds = [None, *slice_starts(store, filters, rows=rows), None]
    slices = list(itertools.pairwise(bounds))
    readers = min(readers, len(slices))
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(readers):
            job = dict(database=database, schema=RAW_SQLITE, nullable=NULLABLE, rows=rows,
                       statements=[adbc_statement(filters, start=start, stop=stop)
                                   for start, stop in slices[i::readers]])
            worker = subprocess.Popen(
                [sys.executable, "-m", "chatfeedback.store.arrow_reader"], stdin=subprocess.PIPE,
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
                    yield raw_batch
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
