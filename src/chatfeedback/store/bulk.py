"""Bulk loading: many rows per statement and per transaction, for demo data and imports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, DateTime, Table, TypeDecorator, insert
from sqlalchemy.dialects import sqlite as sqlite_dialect

from .schema import conversations, messages, rating_events, rating_tags, ratings
from .store import Store, _db_errors

# Parents before children, so that foreign keys hold inside each transaction.
TABLES = {t.name: t for t in (conversations, messages, ratings, rating_tags, rating_events)}


@_db_errors
@dataclass(frozen=True)
class Loaded:
    """What a bulk load wrote and where its time went (seconds)."""

    rows: int
    load_seconds: float     # generating (the caller's iterator) and inserting
    index_seconds: float    # building deferred indexes
    totals_seconds: float   # rebuilding the running totals


def bulk_load(store: Store, batches: Iterable[Mapping[str, Sequence[dict[str, Any]]]], *,
              defer_indexes: bool = False) -> Loaded:
    """Insert each batch (table name -> rows, every column given) in one transaction with
    one executemany per table, then rebuild the running totals; returns the number of
    rows written and the time per phase. ``defer_indexes`` (SQLite): drop the secondary indexes first and build
    them once at the end, much faster for millions of rows into a database nobody reads
    meanwhile."""
    total = 0
    started = time.perf_counter()
    with store.engine.connect() as conn:
        conn.execution_options(chatfeedback_write=True)
        writer = _SQLiteWriter(conn) if conn.dialect.name == "sqlite" else None
        if writer and defer_indexes:
            writer.drop_indexes()
        try:
            for batch in batches:
                unknown = set(batch) - set(TABLES)
                if unknown:
                    raise ValueError(f"unknown tables: {sorted(unknown)}")
                with conn.begin():
                    for name, table in TABLES.items():
                        rows = batch.get(name)
                        if not rows:
                            continue
                        if writer:
                            writer.insert(table, rows)
                        else:
                            conn.execute(insert(table), list(rows))
                        total += len(rows)
            loaded = time.perf_counter()
        finally:
            if writer:
                writer.close()  # recreates deferred indexes
    indexed = time.perf_counter()
    store.rebuild_stats()
    return Loaded(total, loaded - started, indexed - loaded, time.perf_counter() - indexed)


class _SQLiteWriter:
    """SQLite through the driver's own executemany with plain tuples.

    SQLAlchemy's executemany converts every value through Python-level type processors
    and was about ten times slower here (33 s for 100,000 answers); a million demo answers
    must load in under a minute. Values are converted exactly as SQLAlchemy stores them
    (its DateTime text format, JSON text, 0/1), so the Store reads them back unchanged.
    The connection skips the fsync per commit (``synchronous=OFF``) and gets a larger page
    cache while loading: a crash can lose the batch in flight, never the database (WAL).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.raw = conn.connection.driver_connection
        self.raw.execute("PRAGMA synchronous=OFF")  # autocommit: outside any transaction
        self.raw.execute("PRAGMA cache_size=-400000")  # 400 MB
        self._indexes: list[tuple[str, str]] = []
        self._plans: dict[str, tuple[str, Callable[..., Any], list[tuple[int, Any]]]] = {}

    def drop_indexes(self) -> None:
        names = ", ".join(f"'{name}'" for name in TABLES)
        self._indexes = self.raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names})").fetchall()
        for name, _ in self._indexes:
            self.raw.execute(f'DROP INDEX "{name}"')

    def close(self) -> None:
        for _, sql in self._indexes:
            self.raw.execute(sql)
        self.raw.execute("PRAGMA synchronous=NORMAL")
        self.raw.execute("PRAGMA cache_size=-2000")

    def _plan(self, table: Table) -> tuple[str, Callable[..., Any], list[tuple[int, Any]]]:
        if table.name not in self._plans:
            sql = str(insert(table).compile(dialect=sqlite_dialect.dialect()))
            names = [c.name for c in table.columns]
            converters = [(i, _converter(c.type)) for i, c in enumerate(table.columns)]
            self._plans[table.name] = (sql, itemgetter(*names),
                                       [(i, f) for i, f in converters if f is not None])
        return self._plans[table.name]

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        sql, getter, converters = self._plan(table)

        def tuples() -> Iterable[Sequence[Any]]:
            last: dict[Any, tuple[Any, Any]] = {}  # converter -> (value, converted)
            for row in rows:
                values = list(getter(row))
                for i, convert in converters:
                    value = values[i]
                    if value is None:
                        continue
                    seen = last.get(convert)
                    if seen is not None and seen[0] is value:  # created_at is updated_at
                        values[i] = seen[1]
                    else:
                        values[i] = converted = convert(value)
                        last[convert] = (value, converted)
                yield values

        self.raw.executemany(sql, tuples())


def _converter(type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, TypeDecorator):  # e.g. the schema's NUL-safe Text
        decorated = _converter(type_.impl)
        if decorated is not None:
            raise NotImplementedError(f"no bulk conversion for {type_!r}")

        def convert(value: Any, bind: Any = type_.process_bind_param) -> Any:
            return bind(value, None)
        return convert
    if isinstance(type_, DateTime):
        return _sqlite_datetime
    if isinstance(type_, JSON):
        return json.dumps
    if isinstance(type_, Boolean):
        return int
    return None


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite storage format ('YYYY-MM-DD HH:MM:SS.ffffff'), in UTC."""
    if value.tzinfo is not UTC and value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without any "+00:00"
