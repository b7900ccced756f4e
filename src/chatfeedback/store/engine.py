"""The database connection: engines per dialect, write transactions, streamed reads, the
migrations' location, and the UTC clock every stored time follows."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from time import monotonic, sleep
from typing import Any

from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_SECONDS = 30  # how long an SQLite connection waits for another process's lock


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def utc_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a dict whose datetimes are aware (UTC)."""
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in row.items()}


def as_time(value: Any) -> datetime | None:
    """A time read back from the database, aware: aggregates over SQLite return the stored
    text, and SQLite's datetimes are naive (UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def as_day(value: Any) -> date:
    """A day read back from the database (a date, a datetime, or SQLite's text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def day_of(when: datetime) -> date:
    """The UTC day of ``when`` (naive times are UTC, as SQLite returns them)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.date()


def starts_day(when: datetime) -> bool:
    """Whether ``when`` is a UTC midnight (naive times are UTC)."""
    return as_utc(when) == instant(day_of(when))


def instant(value: date) -> datetime:
    """A bound as a point in time: a date is its midnight UTC, a datetime itself."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


class Connected:
    """An engine with the Store's write transactions and streamed reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        # SQLite: this process's writers queue here, so that at most one of them waits in
        # SQLite's busy handler, which polls and can starve a writer among dozens.
        self._writers = threading.RLock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE)
        so that concurrent writers wait for each other instead of failing."""
        if self._writers is None:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        with self._writers, self.engine.connect() as conn:
            conn.execution_options(chatfeedback_write=True)
            with conn.begin():
                yield conn

    def _first(self, query: Any) -> Any:
        """The first row of ``query`` as a mapping, or None."""
        with self.engine.connect() as conn:
            return conn.execute(query).mappings().first()

    def _stream(self, query: Any, batch: int) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            for row in result.mappings():
                item = dict(row)
                for key in ("created_at", "rated_at"):
                    if key in item:
                        item[key] = as_utc(item[key])
                yield item


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def public_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (as Store.url shows it); StoreError if it
    is not a database URL."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any parse failure is a bad URL
        raise StoreError(f"'{url}' is not a database URL") from None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any parse failure is a bad URL
        raise StoreError(f"'{url}' is not a database URL") from None
    if parsed.get_backend_name() == "postgresql":
        # pre-ping: a restarted server's dead connections are replaced, not handed out;
        # connect_timeout: an unreachable server is an error in seconds, not a hang.
        timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20,
                             connect_args=timeout)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser().resolve()
        if not path.parent.is_dir():
            raise StoreError(f"cannot open database {url}: folder {path.parent} does not exist")
        if not os.access(path if path.exists() else path.parent, os.W_OK):
            raise StoreError(f"cannot open database {url}: {path} is not writable")
    engine = create_engine(parsed, connect_args={"timeout": BUSY_SECONDS,
                                                 "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        _wal(cursor)
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("chatfeedback_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _wal(cursor: Any) -> None:
    """WAL mode. Switching a new file to it needs the file to itself, and SQLite does not
    wait for that (its busy handler is not asked): a replica opening the same new database
    in the same moment as another made it fail at once with "database is locked". It is
    tried again until the busy timeout; a file already in WAL keeps it without a lock."""
    deadline = monotonic() + BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or monotonic() > deadline:
                raise
            sleep(0.01)
