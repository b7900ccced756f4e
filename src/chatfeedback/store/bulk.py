"""Bulk loading: column batches, one statement per table and one transaction per batch.

A batch maps table names to *columns*: column name -> a numpy array, a list, or a single
value that every row shares. A column that is left out is NULL (or its default). Nulls
inside a column are ``None`` (lists, object arrays), ``NaT`` (datetime64 arrays) or NaN
(float arrays); datetime64 values are UTC. Demo data (``chatfeedback demo``) is written
this way (how fast: docs/performance.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Table

from . import stats
from .bulk_writers import TABLES, Columns, Write, Writer, length, writer_for
from .errors import db_errors
from .store import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """What a bulk load wrote and where its time went (seconds)."""

    rows: int
    load_seconds: float     # generating (the caller's iterator) and inserting
    index_seconds: float    # building deferred indexes (while the totals are counted)
    totals_seconds: float   # the rest of the counting, and writing the running totals


@db_errors
def bulk_load(store: Store,
              batches: Iterable[Mapping[str, Columns | Sequence[Columns]]], *,
              defer_indexes: bool = False, check_foreign_keys: bool = True,
              stage: Callable[[str], None] | None = None) -> Loaded:
    """Insert each batch (table name -> columns, or a list of them) in one transaction,
    then rebuild the running totals; returns the number of rows written and the time per
    phase. ``defer_indexes`` (SQLite): drop the secondary indexes first and build them
    once at the end, much faster for millions of rows into a database nobody reads
    meanwhile. ``check_foreign_keys=False`` (SQLite) skips the lookup of each row's
    parent, for rows consistent by construction (demo data). ``stage`` hears the name of
    each stage after the inserts ("building indexes", "running totals")."""
    total = 0
    started = time.perf_counter()
    with store.engine.connect() as conn:
        conn.execution_options(chatfeedback_write=True)
        writer = writer_for(conn)
        if not check_foreign_keys:
            writer.trust_foreign_keys()
        if defer_indexes:
            writer.drop_indexes()
        with ThreadPoolExecutor(1, thread_name_prefix="bulk-load") as pool:
            try:
                prepared = (_prepare(batch, writer) for batch in batches)
                for statements, rows in _one_ahead(pool, prepared):
                    with conn.begin():
                        for write in statements:
                            write(conn)
                    total += rows
                loaded = time.perf_counter()
                if stage and writer.deferred:
                    stage("building indexes")
                # Into a database nobody uses yet, the totals are counted on a second
                # connection while this one builds the indexes (WAL lets one read while the
                # other writes), each on its own core.
                counting = pool.submit(_count, store) if writer.deferred else None
            finally:
                writer.close()  # recreates deferred indexes
            indexed = time.perf_counter()
            if stage:
                stage("running totals")
            counts = counting.result() if counting else None
    if counts is None:
        store.rebuild_stats()  # in one transaction: right even while others write
    else:
        store.replace_stats(counts)
    return Loaded(total, loaded - started, indexed - loaded, time.perf_counter() - indexed)


def _count(store: Store) -> stats.Counts:
    with store.engine.connect() as conn:
        return stats.count(conn)



_END = object()


def _prepare(batch: Mapping[str, Columns | Sequence[Columns]],
             writer: Writer) -> tuple[list[Write], int]:
    """The writes for one batch, every value already converted, and its row count."""
    unknown = set(batch) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown tables: {sorted(unknown)}")
    writes: list[Write] = []
    total = 0
    for name, table in TABLES.items():
        parts = batch.get(name) or []
        for columns in [parts] if isinstance(parts, Mapping) else parts:
            writes.extend(writer.prepare(table, group)
                          for group in _split_nulls(table, columns))
            total += length(columns)
    return writes, total


def _one_ahead(pool: ThreadPoolExecutor, items: Iterator[T]) -> Iterator[T]:
    """``items``, each made on the pool's thread while the caller works on the one before.

    numpy, pyarrow and the sqlite3 driver (while SQLite writes) release the GIL, so
    preparing the next batch overlaps writing this one on a second core."""
    upcoming = pool.submit(next, items, _END)
    while (item := upcoming.result()) is not _END:
        upcoming = pool.submit(next, items, _END)
        yield item


def _null_mask(values: Any) -> np.ndarray | None:
    if not isinstance(values, (list, np.ndarray)):
        return None
    array = np.asarray(values, dtype=object) if isinstance(values, list) else values
    if array.dtype.kind == "M":
        return np.isnat(array)
    if array.dtype.kind == "f":
        return np.isnan(array)
    if array.dtype.kind == "O":
        return np.equal(array, None)
    return None


def _split_nulls(table: Table, columns: Columns) -> Iterable[dict[str, Any]]:
    """The rows in groups that have the same null columns, each group without them.

    The sqlite3 driver binds ``None`` about three times slower than a string (it looks
    for an adapter first), so leaving NULL columns out of the statement pays."""
    unknown = set(columns) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"unknown columns in {table.name}: {sorted(unknown)}")
    n = length(columns)
    masks = {}
    present = {}
    for name, values in columns.items():
        if values is None:
            continue
        mask = _null_mask(values)
        if mask is not None and mask.all():
            continue
        if mask is not None and mask.any():
            masks[name] = mask
        present[name] = values
    if not masks:
        yield present
        return
    codes = np.zeros(n, dtype=np.int64)
    for bit, mask in enumerate(masks.values()):
        codes |= mask.astype(np.int64) << bit
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        nulls = {name for bit, name in enumerate(masks) if code >> bit & 1}
        taken: dict[int, Any] = {}  # a column given twice (created_at, updated_at) stays one
        group = {}
        for name, values in present.items():
            if name not in nulls:
                if id(values) not in taken:
                    taken[id(values)] = _take(values, rows)
                group[name] = taken[id(values)]
        yield group


def _take(values: Any, rows: np.ndarray) -> Any:
    if isinstance(values, np.ndarray):
        return values[rows]
    if isinstance(values, list):
        return np.asarray(values, dtype=object)[rows]
    return values
