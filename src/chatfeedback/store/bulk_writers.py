"""How a bulk load's column batches reach each database, every value converted first:
PostgreSQL through COPY, SQLite through one multi-row INSERT of literals per batch, any
other through SQLAlchemy's executemany (the reference the other two store the same values
as). bulk.py drives them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    String,
    Table,
    TypeDecorator,
    bindparam,
    insert,
    literal_column,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect

from .schema import Text, conversations, messages, rating_events, rating_tags, ratings

Columns = Mapping[str, Any]  # column name -> numpy array, list, or one value for every row
Write = Callable[[Connection], Any]
# The tables a bulk load writes, parents before children (foreign keys hold in each batch).
TABLES = {t.name: t for t in (conversations, messages, ratings, rating_tags, rating_events)}


def length(columns: Columns) -> int:
    """The rows of a batch: the length of its first column with a value per row."""
    for values in columns.values():
        if isinstance(values, (list, np.ndarray)):
            return len(values)
    raise ValueError("a batch needs at least one column with a value per row")


def writer_for(conn: Connection) -> Writer:
    if conn.dialect.name == "sqlite":
        return _SQLiteWriter(conn)
    if conn.dialect.name == "postgresql":
        return _PostgresWriter(conn)
    return Writer(conn)


class Writer:
    """Rows through SQLAlchemy's executemany: portable, and the reference the faster
    writers below store exactly the same values as."""

    deferred = False  # whether indexes were dropped, to be built at close

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def drop_indexes(self) -> None:
        """Only the SQLite and PostgreSQL writers defer index builds."""

    def trust_foreign_keys(self) -> None:
        """Only the SQLite writer can skip foreign key checks."""

    def close(self) -> None:
        pass

    def prepare(self, table: Table, columns: Columns) -> Write:
        """The write of ``columns`` into ``table``, values converted now."""
        n = length(columns)
        lists = {}
        for name, values in columns.items():
            if isinstance(values, np.ndarray) and values.dtype.kind == "M":
                values = [None if v is None else v.replace(tzinfo=UTC)
                          for v in values.astype("datetime64[us]").tolist()]
            elif isinstance(values, np.ndarray):
                values = values.tolist()
            elif not isinstance(values, list):
                values = [values] * n
            lists[name] = values
        rows = [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]
        statement = insert(table)
        return lambda conn: conn.execute(statement, rows)


class _PostgresWriter(Writer):
    """PostgreSQL through COPY (psycopg's ``Cursor.copy``), about ten times faster than
    an INSERT per row. Values go as the same text SQLite stores (times in UTC, read so by
    ``SET LOCAL TimeZone``; JSON text; 0/1 for booleans, which PostgreSQL accepts)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.quote = conn.dialect.identifier_preparer.quote
        self._indexes: list[Any] = []

    def drop_indexes(self) -> None:
        """Drop the secondary indexes (not those behind primary keys or constraints), to
        be built again at :meth:`close`: PostgreSQL builds an index from sorted rows far
        faster than it maintains it row by row."""
        with self.conn.begin():
            self._indexes = self.conn.exec_driver_sql(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
                "current_schema() AND i.tablename = ANY(%(tables)s) AND NOT EXISTS (SELECT "
                "1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                {"tables": list(TABLES)}).all()
            for name, _ in self._indexes:
                self.conn.exec_driver_sql(f"DROP INDEX {self.quote(name)}")
        self.deferred = True

    def close(self) -> None:
        if self._indexes:
            with self.conn.begin():
                for _, sql in self._indexes:
                    self.conn.exec_driver_sql(sql)

    def prepare(self, table: Table, columns: Columns) -> Write:
        n = length(columns)
        quote = self.quote
        names, lists = [], []
        for name, values in _stored_columns(table, columns).items():
            names.append(quote(name))
            lists.append(values if isinstance(values, list) else repeat(values, n))
        sql = f"COPY {quote(table.name)} ({', '.join(names)}) FROM STDIN"
        rows = list(zip(*lists, strict=False))  # repeat() has no end

        def write(conn: Connection) -> None:
            with conn.connection.driver_connection.cursor() as cursor:
                cursor.execute("SET LOCAL TimeZone = 'UTC'")
                cursor.execute("SET LOCAL synchronous_commit = off")  # no wait for the disk
                with cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
        return write


def _stored_columns(table: Table, columns: Columns) -> dict[str, Any]:
    """Each column as stored (see :func:`_stored_column`); a value every row shares stays
    one value; a column given twice (created_at, updated_at) is converted once."""
    out: dict[str, Any] = {}
    stored: dict[tuple[int, type], list[Any]] = {}
    # In the table's order: the statement compiled from them lists them so.
    for name, values in sorted(columns.items(), key=lambda item: _position(table, item[0])):
        type_ = table.c[name].type
        if isinstance(values, (list, np.ndarray)):
            key = (id(values), type(type_))
            if key not in stored:
                stored[key] = _stored_column(type_, values)
            out[name] = stored[key]
        else:
            out[name] = _stored_column(type_, [values])[0]
    return out


def _position(table: Table, name: str) -> int:
    return list(table.columns.keys()).index(name)


class _SQLiteWriter(Writer):
    """SQLite through the driver's own executemany over whole columns.

    SQLAlchemy's executemany converts every value through Python-level type processors
    and was several times slower here (the demo's target: docs/performance.md). Values are converted exactly as SQLAlchemy stores them (its DateTime text
    format, JSON text, 0/1), a column at a time, so the Store reads them back unchanged;
    a value every row shares is written into the statement once. The connection skips
    the fsync per commit (``synchronous=OFF``) and gets a larger page cache while
    loading: a crash can lose the batch in flight, never the database (WAL).
    """

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.raw = conn.connection.driver_connection
        self.raw.execute("PRAGMA synchronous=OFF")  # autocommit: outside any transaction
        self.raw.execute("PRAGMA cache_size=-400000")  # 400 MB
        self.raw.execute("PRAGMA threads=2")  # sorting for CREATE INDEX on both cores
        self._indexes: list[tuple[str, str]] = []
        self._dialect = sqlite_dialect.dialect()

    def drop_indexes(self) -> None:
        names = ", ".join(f"'{name}'" for name in TABLES)
        self._indexes = self.raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names})").fetchall()
        for name, _ in self._indexes:
            self.raw.execute(f'DROP INDEX "{name}"')
        self.deferred = True

    def close(self) -> None:
        for _, sql in self._indexes:
            self.raw.execute(sql)
        self.raw.execute("PRAGMA synchronous=NORMAL")
        self.raw.execute("PRAGMA cache_size=-2000")
        self.raw.execute("PRAGMA threads=0")
        self.raw.execute("PRAGMA foreign_keys=ON")

    def trust_foreign_keys(self) -> None:
        self.raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction

    def prepare(self, table: Table, columns: Columns) -> Write:
        varying: dict[str, list[Any]] = {}
        fixed: dict[str, Any] = {}
        for name, values in _stored_columns(table, columns).items():
            if isinstance(values, list):
                varying[name] = values
            else:
                fixed[name] = literal_column(self._literal(values))
        statement = insert(table).values(
            {name: bindparam(name) for name in varying} | fixed)
        compiled = statement.compile(dialect=self._dialect)
        sql = str(compiled)
        # the placeholders follow the table's column order, not the order columns came in
        rows = list(zip(*(varying[name] for name in compiled.positiontup or ()), strict=True))
        return lambda conn: self.raw.executemany(sql, rows)

    def _literal(self, stored: Any) -> str:
        if isinstance(stored, str):
            return String().literal_processor(self._dialect)(stored)
        return "NULL" if stored is None else repr(stored)


def _stored_column(type_: Any, values: Sequence[Any] | np.ndarray) -> list[Any]:
    """``values`` as stored for ``type_`` (SQLAlchemy's SQLite forms: time text, JSON
    text, 0/1, which PostgreSQL's COPY reads as well), as a list."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return _sqlite_datetimes(values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "b":
        return values.astype(np.int64).tolist()
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.tolist()  # Python ints and floats: numpy scalars bind slowly
    convert = _converter(type_)
    values = values.tolist() if isinstance(values, np.ndarray) else values
    if convert is None or (isinstance(type_, Text) and not _has_nul(values)):
        return list(values)
    memo: dict[int, Any] = {}  # demo values repeat: convert each distinct object once
    out = []
    for value in values:
        key = id(value)
        if key not in memo:
            memo[key] = None if value is None else convert(value)
        out.append(memo[key])
    return out


def _has_nul(values: list[Any]) -> bool:
    """Whether any text in ``values`` has a NUL (which the schema's Text replaces), checked
    by Arrow in one pass rather than a Python call per value."""
    text = pa.array(values, pa.string())
    return bool(pc.any(pc.match_substring(text, "\x00")).as_py())


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


def _sqlite_datetimes(values: np.ndarray) -> list[str]:
    """:func:`_sqlite_datetime` for a whole datetime64 column (UTC) at once: Arrow's cast
    of microsecond timestamps to text is that same format, four times faster than numpy's."""
    text = pa.array(values.astype("datetime64[us]")).cast(pa.string())
    return text.to_numpy(zero_copy_only=False).tolist()
