"""Rated answers as Arrow record batches, for the columnar (Parquet) export.

The same rows as ``Store.iter_rated_answers``, read column-wise instead of as a dict per
row: JSON columns come as their JSON text and, on SQLite, times as their stored UTC text,
so that the exporter converts whole columns at once. On a SQLite file the rows go from
SQLite into Arrow without a Python object per value (ADBC's SQLite driver), which is what
lets a million rows go out in seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.exc import SQLAlchemyError

from .schema import messages, ratings
from .store import Store, database_error, rated_in_window

COLUMNS = (
    "conversation_id", "message_id", "prompt", "response", "rating", "scale", "score",
    "comment", "tags", "model", "backend", "settings", "system_prompt", "status", "version",
    "versions", "ttft_ms", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens",
    "finish_reason", "created_at", "rated_at", "rater",
)
FLOATS = ("score", "ttft_ms", "latency_ms")
INTEGERS = ("rating", "version", "versions", "prompt_tokens", "completion_tokens",
            "total_tokens")
# tags and settings are JSON text; times are text on SQLite (UTC), timestamps elsewhere.
TIME = pa.timestamp("us", tz="UTC")
# Columns that may be NULL and are not integers (see _query).
_MAY_BE_NULL = ("prompt", "score", "comment", "tags", "model", "backend", "settings",
                "system_prompt", "ttft_ms", "latency_ms", "finish_reason", "rater")


def raw_schema(sqlite: bool) -> pa.Schema:
    """The schema of the batches that :func:`iter_rated_answer_batches` yields."""
    def kind(name: str) -> pa.DataType:
        if name in FLOATS:
            return pa.float64()
        if name in INTEGERS:
            return pa.int64()
        if name in ("created_at", "rated_at") and not sqlite:
            return TIME
        return pa.string()
    return pa.schema([(name, kind(name)) for name in COLUMNS])


def iter_rated_answer_batches(store: Store, *, since: datetime | None = None,
                              until: datetime | None = None, model: str | None = None,
                              batch: int = 20_000) -> Iterator[pa.RecordBatch]:
    """Record batches of up to ``batch`` rows in :func:`raw_schema`, oldest rating first."""
    engine = store.engine
    sqlite = engine.dialect.name == "sqlite"
    schema = raw_schema(sqlite)
    database = engine.url.database
    try:
        if sqlite and database and database != ":memory:" and not engine.url.query:
            query = rated_in_window(_query(sqlite, typed=True), since, until, model)
            yield from _adbc_batches(store, database, query, schema, batch)
            return
        query = rated_in_window(_query(sqlite), since, until, model)
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(query)
            while rows := result.fetchmany(batch):
                yield pa.RecordBatch.from_struct_array(
                    pa.array([tuple(row) for row in rows], pa.struct(schema)))
    except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
        raise database_error(exc) from exc


def _adbc_batches(store: Store, database: str, query: Any, schema: pa.Schema,
                  batch: int) -> Iterator[pa.RecordBatch]:
    """The query's rows read by ADBC's SQLite driver: Arrow batches built in C, where
    sqlite3 would make 25 million Python objects of a million rows (two thirds of the
    export's time). SQLAlchemy still writes the SQL and converts the parameters. (Imported
    here: the driver's import pulls in pandas, which other commands do not need.)

    Two connections read alternate slices of ``rated_at`` (about ``batch`` ratings each)
    on two threads, the driver working without the GIL, so a second core halves the
    read. They read one snapshot: both start their read transactions while a third
    connection holds SQLite's write lock, so that no write can land in between."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    dialect = store.engine.dialect
    rated_at = type_coerce(ratings.c.rated_at, String)
    compiled = query.where(rated_at >= bindparam("lo", type_=String),
                           rated_at < bindparam("hi", type_=String)).compile(dialect=dialect)
    nullable = [COLUMNS.index(name) for name in _MAY_BE_NULL]

    def read(conn: Any, lo: str, hi: str) -> list[pa.RecordBatch]:
        values = compiled.construct_params({"lo": lo, "hi": hi})
        params = []
        for name in compiled.positiontup or ():
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            params.append(process(values[name]) if process else values[name])
        with conn.cursor() as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch)})
            cursor.execute(str(compiled), params)
            return [_restore(got, nullable, schema) for got in cursor.fetch_record_batch()]

    try:
        with adbc_sqlite.connect(database) as one, adbc_sqlite.connect(database) as two, \
                ThreadPoolExecutor(2, thread_name_prefix="parquet-reader") as pool:
            with store.engine.connect() as lock, \
                    lock.execution_options(chatfeedback_write=True).begin():
                for conn in (one, two):  # busy: a write may be committing right now
                    with conn.cursor() as cursor:
                        cursor.execute("PRAGMA busy_timeout=30000")
                        cursor.execute(f"SELECT rowid FROM {ratings.name} LIMIT 1")
                        cursor.fetchall()  # a first read: the snapshot is taken
            with one.cursor() as cursor:  # every batch-th rated_at: where slices start
                cursor.execute(f"SELECT rated_at FROM (SELECT rated_at, row_number() OVER "
                               f"(ORDER BY rated_at) AS n FROM {ratings.name}) "
                               f"WHERE n % {batch} = 0")
                starts = [row[0] for row in cursor.fetchall()]
            bounds = ["", *starts, "\U0010ffff"]  # below and above any stored time
            slices = list(pairwise(bounds))
            conns = (one, two)
            reading = deque(pool.submit(read, conns[i], *slices[i])
                            for i in range(min(2, len(slices))))
            for i in range(len(slices)):
                got = reading.popleft().result()  # and let go of it once written
                if i + 2 < len(slices):
                    reading.append(pool.submit(read, conns[i % 2], *slices[i + 2]))
                yield from got
    except adbc_sqlite.Error as exc:
        raise database_error(exc) from exc


def _restore(got: pa.RecordBatch, nullable: list[int], schema: pa.Schema) -> pa.RecordBatch:
    """A batch read with ``_query(typed=True)`` in ``schema``, with its NULLs back."""
    columns, nulls = got.columns[:-1], got.column(len(COLUMNS))
    for bit, i in enumerate(nullable):
        columns[i] = pc.if_else(pc.not_equal(pc.bit_wise_and(nulls, 1 << bit), 0),
                                pa.scalar(None, schema.field(i).type), columns[i])
    return pa.RecordBatch.from_arrays(
        [c.cast(f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def _query(sqlite: bool, *, typed: bool = False) -> Any:
    """The rows in :data:`COLUMNS` order. ``typed``: for ADBC, which guesses each column's
    type from the values in its first batch (SQLite has no column types) and would guess a
    column that is NULL throughout it wrong: such columns come as ``coalesce(value, '')``
    (or ``0.0``), followed by one integer whose bit k says that the k-th of them is NULL."""
    def when(column: Any) -> Any:
        return type_coerce(column, String) if sqlite else column

    prompt = messages.alias("prompt")
    sibling = messages.alias("sibling")
    versions = (select(func.count()).where(sibling.c.parent_id == messages.c.parent_id)
                .scalar_subquery())
    columns = [ratings.c.conversation_id, ratings.c.message_id, prompt.c.content,
               messages.c.content, ratings.c.value, ratings.c.scale, ratings.c.score,
               ratings.c.comment, cast(ratings.c.tags, Text), messages.c.model,
               messages.c.backend, cast(messages.c.settings, Text), messages.c.system_prompt,
               messages.c.status, messages.c.version, versions, messages.c.ttft_ms,
               messages.c.latency_ms, messages.c.prompt_tokens, messages.c.completion_tokens,
               messages.c.total_tokens, messages.c.finish_reason, when(messages.c.created_at),
               when(ratings.c.rated_at), ratings.c.rater]
    if typed:
        nullable = [columns[COLUMNS.index(name)] for name in _MAY_BE_NULL]
        columns = [func.coalesce(c, literal_column("0.0" if name in FLOATS else "''"))
                   if name in _MAY_BE_NULL else c for name, c in zip(COLUMNS, columns)]
        columns.append(sum((cast(c.is_(None), Integer) * literal_column(str(1 << bit))
                            for bit, c in enumerate(nullable)), literal_column("0")))
    return (select(*columns).select_from(ratings)
            .join(messages, messages.c.id == ratings.c.message_id)
            .outerjoin(prompt, prompt.c.id == messages.c.parent_id)
            .order_by(ratings.c.rated_at, ratings.c.message_id))
