"""The Store: every read and write of conversations, messages and ratings, in transactions.

A facade over one module per kind of row (conversations.py, messages.py, ratings.py,
arena.py), each a mixin over engine.py's connection; the rated-answer rows are
queries.py's, the dashboard's sums are aggregates.py's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from . import queries
from .arena import ArenaQueries
from .conversations import ANYONE, Conversations, title_for
from .engine import alembic_config, as_utc, make_engine, now
from .errors import db_errors
from .filters import Filters
from .messages import Messages
from .ratings import Ratings
from .records import Conversation, Message, Rating
from .schema import messages
from .stats import Reports

__all__ = ["ANYONE", "Conversation", "Message", "Rating", "Store", "alembic_config",
           "as_utc", "make_engine", "now", "title_for"]
_MIGRATING = threading.Lock()  # Alembic's op/context proxies are process-global
# A rated answer as Store.iter_rated_answers yields it.
ANSWER_ROW = (*queries.EXPORT_COLUMNS, "parent_id", "turn", "training_consent", "owner")


class Store(ArenaQueries, Conversations, Messages, Ratings):
    """Owns the schema (migrations) and every query; safe to share between threads."""

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and (by default) migrate it to the latest schema."""
        store = cls(make_engine(url))
        if upgrade:
            store.upgrade()
        return store

    def upgrade(self, revision: str = "head", progress: Reports | None = None) -> None:
        """Apply migrations up to ``revision`` (default: the latest); ``progress`` hears how
        many of those to apply are done."""
        try:
            current = self.revision()
            if revision == "head" and current == self.head():
                if progress is not None:
                    progress(0, 0, "already up to date")
                return
            # One process migrates, the others wait: SQLite's write lock (BEGIN IMMEDIATE),
            # an advisory lock on PostgreSQL.
            with _MIGRATING, self._write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                if progress is not None:
                    _report_migrations(cfg, current, revision, progress)
                command.upgrade(cfg, revision)
        except (SQLAlchemyError, StoreError) as exc:
            cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ else exc
            reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
            raise StoreError(f"cannot open database {self.url}: {reason}") from exc

    @db_errors
    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    @functools.cache
    def head() -> str | None:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def close(self) -> None:
        self.engine.dispose()

    @db_errors
    def is_empty(self) -> bool:
        """True when the database holds no message yet."""
        with self.engine.connect() as conn:
            return conn.execute(select(messages.c.id).limit(1)).first() is None

    @db_errors
    def iter_rated_answers(self, filters: Filters = Filters(), *,
                           batch: int = 1000) -> Iterator[dict[str, Any]]:
        """One dict per rated answer that passes ``filters``, with its prompt and context
        (:data:`queries.EXPORT_COLUMNS` and a few more), oldest rating first, streamed in
        batches so that memory stays flat however large the store is."""
        yield from self._stream(queries.rated_answers(ANSWER_ROW, filters), batch)


def _report_migrations(cfg: Config, current: str | None, target: str,
                       progress: Reports) -> None:
    """Have alembic tell ``progress`` each migration it applies, of those from ``current``
    up to ``target``."""
    steps = len(list(ScriptDirectory.from_config(cfg).iterate_revisions(
        target, current or "base")))
    done = 0
    progress(0, steps)

    def applied(**_: Any) -> None:
        nonlocal done
        done += 1
        progress(done, steps)

    cfg.attributes["on_version_apply"] = applied
