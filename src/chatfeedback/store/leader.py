"""Which process delivers the outbox: exactly one among all replicas at a time.

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a connection
  of its own. When that process dies, or its connection does, the server drops the lock and
  another replica's next try takes it. The holder also writes ``outbox_leases`` so that
  ``sinks status`` can say who delivers.
* SQLite: a lease row in ``outbox_leases`` (holder, expiry), renewed by its holder; once it
  has expired, another process takes it.

Both are a :class:`Leadership`: ``hold()`` takes or keeps it and says whether we have it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from .engine import as_utc, now
from .errors import db_errors
from .schema import outbox_leases

if TYPE_CHECKING:
    from .store import Store

LOCK_KEY = 4242016  # the outbox's advisory lock (the migrations' is 4242001)
NAME = "worker"


class Leadership(Protocol):
    holder: str

    def hold(self) -> bool:
        """Take the lead or keep it; True while this process has it."""

    def release(self) -> None:
        """Give it up at once (another process may take it on its next try)."""


def leadership(store: Store, holder: str, lease: float) -> Leadership:
    """The right kind for the store's database; ``lease``: seconds a lead lasts unrenewed."""
    if store.engine.dialect.name == "postgresql":
        return AdvisoryLock(store, holder, lease)
    return Lease(store, holder, lease)


class Lease:
    """A lease row: taken when absent, expired or ours; renewed by every ``hold()``."""

    def __init__(self, store: Store, holder: str, lease: float) -> None:
        self.store, self.holder, self.lease = store, holder, lease

    @db_errors
    def hold(self) -> bool:
        with self.store._write() as conn:
            return _take(conn, self.holder, self.lease)

    @db_errors
    def release(self) -> None:
        with self.store._write() as conn:
            conn.execute(update(outbox_leases).where(outbox_leases.c.name == NAME,
                                                     outbox_leases.c.holder == self.holder)
                         .values(expires_at=now()))


def _take(conn: Connection, holder: str, lease: float, force: bool = False) -> bool:
    """Take or renew the lease row for ``holder`` (``force``: whoever has it)."""
    when = now()
    row = conn.execute(select(outbox_leases).where(outbox_leases.c.name == NAME)).first()
    values = {"holder": holder, "expires_at": when + timedelta(seconds=lease)}
    if row is None:
        conn.execute(insert(outbox_leases).values(name=NAME, **values))
        return True
    if not force and row.holder != holder and as_utc(row.expires_at) > when:
        return False
    conn.execute(update(outbox_leases).where(outbox_leases.c.name == NAME).values(values))
    return True


class AdvisoryLock:
    """pg_try_advisory_lock on a connection kept for it (autocommit: no open transaction)."""

    def __init__(self, store: Store, holder: str, lease: float) -> None:
        self.store, self.holder, self.lease = store, holder, lease
        self._conn: Connection | None = None

    def hold(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")
            except SQLAlchemyError:
                self._drop()
                return False
        else:
            try:
                conn = self.store.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            except SQLAlchemyError:
                return False
            try:
                got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar()
            except SQLAlchemyError:
                got = False
            if not got:
                conn.close()
                return False
            self._conn = conn
        try:  # who delivers, for `sinks status` (the lock, not this row, decides)
            with self.store._write() as conn:
                _take(conn, self.holder, self.lease, force=True)
        except SQLAlchemyError:
            pass
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
            with self.store._write() as conn:
                conn.execute(update(outbox_leases).where(outbox_leases.c.holder == self.holder)
                             .values(expires_at=now()))
        except SQLAlchemyError:
            pass
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool: its session held the lock
                conn.close()
            except SQLAlchemyError:
                pass
