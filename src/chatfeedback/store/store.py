"""The Store: every read and write of conversations, messages and ratings, in transactions."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .. import scales
from ..errors import FeedbackError, NotFound, StoreError
from ..ids import new_id
from . import queries, stats
from .arena import ArenaQueries
from .errors import db_errors
from .filters import Filters
from .schema import conversations, messages, rating_events, rating_tags, ratings

ANYONE = object()  # owner filter meaning "do not filter by owner"
_MIGRATING = threading.Lock()  # Alembic's op/context proxies are process-global
MIGRATIONS = Path(__file__).with_name("migrations")


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str | None
    title: str
    model: str | None
    source: str
    training_consent: bool
    meta: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    import_batch: str | None = None


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    parent_id: str | None
    turn: int
    role: str
    content: str
    version: int = 1
    selected: bool = True
    status: str = "complete"
    error: str | None = None
    model: str | None = None
    backend: str | None = None
    settings: dict[str, Any] | None = None
    system_prompt: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    finish_reason: str | None = None
    shown_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    siblings: int = 1  # how many versions answer the same prompt


@dataclass(frozen=True)
class Rating:
    message_id: str
    conversation_id: str
    scale: str
    value: int | None
    comment: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    rater: str | None = None
    rated_at: datetime | None = None


# A rated answer as Store.iter_rated_answers yields it.
ANSWER_ROW = (*queries.EXPORT_COLUMNS, "parent_id", "turn", "training_consent", "owner")
ANSWER_FIELDS = {"model", "backend", "settings", "system_prompt", "ttft_ms", "latency_ms",
                 "prompt_tokens", "completion_tokens", "total_tokens", "finish_reason",
                 "error"}


class Store(ArenaQueries):
    """Owns the schema (migrations) and every query; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        # SQLite: this process's writers queue here, so that at most one of them waits in
        # SQLite's busy handler, which polls and can starve a writer among dozens.
        self._writers = threading.RLock() if engine.dialect.name == "sqlite" else None

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect to ``url`` and (by default) migrate it to the latest schema."""
        store = cls(make_engine(url))
        if upgrade:
            store.upgrade()
        return store

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (default: the latest)."""
        try:
            if revision == "head" and self.revision() == self.head():
                return
            # One process migrates, the others wait: SQLite's write lock (BEGIN IMMEDIATE),
            # an advisory lock on PostgreSQL.
            with _MIGRATING, self._write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
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

    # ----------------------------------------------------------- conversations
    @db_errors
    def create_conversation(self, *, owner: str | None = None, title: str = "",
                            model: str | None = None, source: str = "chat",
                            training_consent: bool = False, meta: dict[str, Any] | None = None,
                            created_at: datetime | None = None) -> Conversation:
        when = created_at or now()
        row = dict(id=new_id(), owner=owner, title=title, model=model, source=source,
                   training_consent=training_consent, meta=meta, created_at=when,
                   updated_at=when)
        with self._write() as conn:
            conn.execute(insert(conversations).values(row))
        return Conversation(**row)

    @db_errors
    def conversation(self, conversation_id: str, owner: Any = ANYONE) -> Conversation:
        """The conversation, or NotFound (also when it belongs to another owner)."""
        query = select(conversations).where(conversations.c.id == conversation_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or (owner is not ANYONE and row["owner"] != owner):
            raise NotFound("Conversation not found")
        return _conversation(row)

    @db_errors
    def list_conversations(self, owner: Any = ANYONE, limit: int = 50) -> list[Conversation]:
        """Newest (most recently active) first; arena rounds' conversations are not listed
        (their model names would unblind the arena)."""
        query = (select(conversations).where(conversations.c.source != "arena")
                 .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
                 .limit(limit))
        if owner is not ANYONE:
            query = query.where(conversations.c.owner == owner)
        with self.engine.connect() as conn:
            return [_conversation(r) for r in conn.execute(query).mappings()]

    @db_errors
    def set_training_consent(self, conversation_id: str, allowed: bool) -> None:
        with self._write() as conn:
            conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                         .values(training_consent=allowed))

    @db_errors
    def import_conversation(self, messages_in: Sequence[tuple[str, str]], *,
                            model: str | None = None, meta: dict[str, Any] | None = None,
                            owner: str | None = None, title: str | None = None,
                            source: str = "import",
                            import_batch: str | None = None) -> Conversation:
        """Create a conversation with all its ``(role, content)`` messages in one transaction
        and one bulk insert. Each user message opens a turn; an assistant message answers
        the user message before it (a leading assistant greeting answers nothing); system
        messages belong to the turn that follows them. Raises ValueError on two assistant
        messages in a row (the importer reports that per line before calling)."""
        when = now()
        conv_id = new_id()
        rows: list[dict[str, Any]] = []
        turn, parent, answered, busy = 0, None, False, False  # busy: turn has a prompt/answer
        for index, (role, content) in enumerate(messages_in):
            if role not in ("system", "user", "assistant"):
                raise ValueError(f"message {index + 1}: unknown role {role!r}")
            row = dict(id=new_id(), conversation_id=conv_id, parent_id=None, role=role,
                       content=content, version=1, selected=True, status="complete",
                       created_at=when, updated_at=when, model=None)
            if role == "assistant":
                if answered:
                    raise ValueError(f"message {index + 1}: two assistant messages in a row")
                row.update(parent_id=parent, model=model)
                answered = busy = True
            else:  # a prompt, or a system message, opens the next turn
                if busy:
                    turn, busy = turn + 1, False
                parent, answered = (None if role == "system" else row["id"]), False
                if role == "user":
                    busy = True
            row["turn"] = turn
            rows.append(row)
        first_prompt = next((c for r, c in messages_in if r == "user"), "")
        conv = dict(id=conv_id, owner=owner, title=title or title_for(first_prompt),
                    model=model, source=source, training_consent=False, meta=meta,
                    import_batch=import_batch, created_at=when, updated_at=when)
        answers = sum(1 for r in rows if r["role"] == "assistant")
        with self._write() as conn:
            conn.execute(insert(conversations).values(conv))
            if rows:
                conn.execute(insert(messages), rows)
            if answers:
                stats.count_answers(conn, when, model, answers=answers)
        return Conversation(**conv)

    # ---------------------------------------------------------------- messages
    @db_errors
    def add_message(self, conversation_id: str, role: str, content: str, *,
                    parent_id: str | None = None, turn: int | None = None,
                    status: str = "complete", created_at: datetime | None = None,
                    **answer: Any) -> Message:
        """Append a message. A user message opens a new turn (and titles an untitled
        conversation); an assistant message answers ``parent_id`` as its newest version,
        which becomes the selected one."""
        unknown = set(answer) - ANSWER_FIELDS
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        when = created_at or now()
        with self._write() as conn:
            conv = conn.execute(select(conversations.c.title)
                                .where(conversations.c.id == conversation_id)).first()
            if conv is None:
                raise NotFound("Conversation not found")
            version = 1
            if role == "assistant" and parent_id is not None:
                parent = conn.execute(select(messages.c.turn).where(
                    messages.c.id == parent_id)).first()
                if parent is None:
                    raise NotFound("The prompt this answer belongs to was not found")
                turn = parent.turn
                version = 1 + (conn.execute(select(func.max(messages.c.version)).where(
                    messages.c.parent_id == parent_id)).scalar() or 0)
                conn.execute(update(messages).where(messages.c.parent_id == parent_id)
                             .values(selected=False))
            elif turn is None:
                last = conn.execute(select(func.max(messages.c.turn)).where(
                    messages.c.conversation_id == conversation_id)).scalar()
                turn = 0 if last is None else last + 1
            row = dict(id=new_id(), conversation_id=conversation_id, parent_id=parent_id,
                       turn=turn, role=role, content=content, version=version, selected=True,
                       status=status, created_at=when, updated_at=when, **answer)
            conn.execute(insert(messages).values(row))
            if role == "assistant":
                stats.count_answers(conn, when, answer.get("model"), answers=1)
            touch: dict[str, Any] = {"updated_at": when}
            if role == "user" and not conv.title:
                touch["title"] = title_for(content)
            conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                         .values(touch))
        return Message(**row)

    @db_errors
    def update_answer(self, message_id: str, *, content: str | None = None,
                      status: str | None = None, **answer: Any) -> None:
        """Save streamed text, its final status and its generation metadata."""
        unknown = set(answer) - ANSWER_FIELDS
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        values: dict[str, Any] = {"updated_at": now(), **answer}
        if content is not None:
            values["content"] = content
        if status is not None:
            values["status"] = status
        with self._write() as conn:
            conn.execute(update(messages).where(messages.c.id == message_id).values(values))

    @db_errors
    def message(self, message_id: str) -> Message:
        with self.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)) \
                .mappings().first()
        if row is None:
            raise NotFound("Message not found")
        return _message(row)

    @db_errors
    def turn_count(self, conversation_id: str) -> int:
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(messages.c.turn)).where(
                messages.c.conversation_id == conversation_id)).scalar()
        return 0 if last is None else last + 1

    @db_errors
    def messages(self, conversation_id: str, *, from_turn: int = 0) -> list[Message]:
        """The conversation as shown: each prompt followed by its selected answer, from
        ``from_turn`` on. Each answer knows how many versions (siblings) it has."""
        where = (messages.c.conversation_id == conversation_id) & (messages.c.turn >= from_turn)
        query = (select(messages).where(where & ((messages.c.role != "assistant")
                                                 | messages.c.selected))
                 .order_by(messages.c.turn, queries.ROLE_ORDER, messages.c.id))
        counts = (select(messages.c.parent_id, func.count()).where(
            where & (messages.c.role == "assistant")).group_by(messages.c.parent_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            siblings = {parent: count for parent, count in conn.execute(counts)}
        return [_message(r, siblings.get(r["parent_id"], 1)) for r in rows]

    @db_errors
    def versions(self, parent_id: str) -> list[Message]:
        """Every answer to one prompt, oldest version first."""
        query = select(messages).where(messages.c.parent_id == parent_id) \
            .order_by(messages.c.version)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_message(r, len(rows)) for r in rows]

    @db_errors
    def select_version(self, message_id: str) -> None:
        """Show ``message_id`` instead of its siblings."""
        with self._write() as conn:
            parent = conn.execute(select(messages.c.parent_id).where(
                messages.c.id == message_id)).scalar()
            if parent is None:
                raise NotFound("Message not found")
            conn.execute(update(messages).where(messages.c.parent_id == parent)
                         .values(selected=messages.c.id == message_id))

    @db_errors
    def mark_shown(self, message_ids: Iterable[str]) -> None:
        """Record the first time each answer was shown to a person (exposure)."""
        ids = list(message_ids)
        if not ids:
            return
        unseen = messages.c.id.in_(ids) & messages.c.shown_at.is_(None)
        with self._write() as conn:
            # RETURNING: exactly the rows this statement marked, also when two sessions
            # mark the same answer at once, feed the exposure counter.
            first = conn.execute(update(messages).where(unseen).values(shown_at=now())
                                 .returning(messages.c.id, messages.c.role,
                                            messages.c.created_at, messages.c.model,
                                            messages.c.shown_at)).all()
            # Counters in key order: two sessions showing answers at once lock them in the
            # same order (PostgreSQL), so neither waits for the other in a deadlock.
            answers = {r.id: r for r in sorted((r for r in first if r.role == "assistant"),
                                               key=_counter_key)}
            for answer in answers.values():
                stats.count_answers(conn, answer.created_at, answer.model, shown=1)
            if answers:  # rated before being shown (an API client can): rated among shown now
                rated = conn.execute(select(ratings.c.message_id, ratings.c.scale).where(
                    ratings.c.message_id.in_(list(answers)), ratings.c.value.is_not(None)))
                for message_id, scale in sorted(rated, key=lambda r: (
                        _counter_key(answers[r.message_id]), r.scale)):
                    stats.move_shown_rating(conn, answers[message_id], None, scale)

    @db_errors
    def recover_interrupted(self, stale_after: float = 30.0,
                            message_ids: Iterable[str] | None = None) -> int:
        """Mark answers whose stream stopped saving ``stale_after`` seconds ago (the server
        died mid-answer) as errors, keeping their partial text; only ``message_ids`` if
        given. Returns how many."""
        cutoff = now() - timedelta(seconds=stale_after)
        where = (messages.c.status == "streaming") & (messages.c.updated_at < cutoff)
        if message_ids is not None:
            where &= messages.c.id.in_(list(message_ids))
        with self._write() as conn:
            result = conn.execute(update(messages).where(where).values(
                status="error", error="interrupted: the server stopped mid-answer"))
        return result.rowcount or 0

    # ----------------------------------------------------------------- ratings
    @db_errors
    def rate(self, message_id: str, value: int | None, *, scale: str,
             actor: str | None = None, allow_change: bool = True) -> Rating:
        """Set, change or clear (``value=None``) the rating of an answer, appending the event.
        With ``allow_change=False`` a rated answer keeps its rating (FeedbackError)."""
        scales.check(scale, value)
        when = now()
        with self._write() as conn:
            # FOR UPDATE (PostgreSQL; SQLite has one writer): a concurrent rate or mark_shown
            # of this answer waits, so each sees the other's rating and shown_at.
            msg = conn.execute(select(messages.c.conversation_id, messages.c.role,
                                      messages.c.model, messages.c.system_prompt,
                                      messages.c.created_at, messages.c.shown_at)
                               .where(messages.c.id == message_id).with_for_update()).first()
            if msg is None:
                raise NotFound("Message not found")
            if msg.role != "assistant":
                raise FeedbackError("only answers can be rated")
            old = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().first()
            if old is not None and old["value"] is not None and not allow_change:
                raise FeedbackError("this answer is already rated; ratings are locked")
            if old is not None and old["value"] == value and old["scale"] == scale:
                return _rating(old)
            action = ("clear" if value is None else
                      "set" if old is None or old["value"] is None else "change")
            values = dict(scale=scale, value=value, score=scales.score(scale, value),
                          rater=actor, rated_at=when, model=msg.model,
                          system_prompt=msg.system_prompt)
            if old is None:
                conn.execute(insert(ratings).values(message_id=message_id,
                                                    conversation_id=msg.conversation_id,
                                                    created_at=when, **values))
            else:
                conn.execute(update(ratings).where(ratings.c.message_id == message_id)
                             .values(values))
            self._event(conn, message_id, msg.conversation_id, action, when, actor,
                        scale=scale, value=value)
            row = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().one()
            stats.count_rating(conn, old, -1)
            stats.count_rating(conn, row, +1)
            stats.move_shown_rating(conn, msg, _rated_scale(old), _rated_scale(row))
        return _rating(row)

    @db_errors
    def annotate(self, message_id: str, *, comment: str | None = None,
                 tags: Iterable[str] | None = None, actor: str | None = None,
                 max_comment_length: int | None = None) -> Rating:
        """Set the comment and/or reason tags of a rated answer, one event for each that
        changed. ``None`` leaves that part as it is; ``""`` or ``[]`` clears it."""
        new_comment = None if comment is None else (comment.strip() or None)
        if max_comment_length and new_comment and len(new_comment) > max_comment_length:
            raise FeedbackError(f"the comment has {len(new_comment):,} characters; the limit "
                                f"is {max_comment_length:,}: shorten it and save again")
        tag_list = None if tags is None else sorted({t.strip() for t in tags if t.strip()})
        when = now()
        with self._write() as conn:
            old = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().first()
            if old is None:
                raise FeedbackError("rate the answer before adding a comment or reasons")
            values: dict[str, Any] = {}
            if comment is not None and new_comment != old["comment"]:
                values["comment"] = new_comment
                self._event(conn, message_id, old["conversation_id"], "comment", when, actor,
                            comment=new_comment)
            if tag_list is not None and tag_list != sorted(old["tags"] or []):
                values["tags"] = tag_list
                conn.execute(delete(rating_tags).where(rating_tags.c.message_id == message_id))
                if tag_list:
                    conn.execute(insert(rating_tags), [{"message_id": message_id, "tag": t}
                                                       for t in tag_list])
                self._event(conn, message_id, old["conversation_id"], "tags", when, actor,
                            tags=tag_list)
            if values:
                conn.execute(update(ratings).where(ratings.c.message_id == message_id)
                             .values(rated_at=when, **values))
            row = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().one()
            if values:
                stats.count_rating(conn, old, -1)
                stats.count_rating(conn, row, +1)
        return _rating(row)

    @staticmethod
    def _event(conn: Connection, message_id: str, conversation_id: str, action: str,
               when: datetime, actor: str | None, **fields: Any) -> None:
        conn.execute(insert(rating_events).values(
            id=new_id(), message_id=message_id, conversation_id=conversation_id, action=action,
            actor=actor, created_at=when, **fields))

    @db_errors
    def rating(self, message_id: str) -> Rating | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().first()
        return None if row is None else _rating(row)

    @db_errors
    def ratings(self, conversation_id: str, *, from_turn: int = 0) -> dict[str, Rating]:
        """The ratings in a conversation (of answers from ``from_turn`` on), by message id."""
        query = select(ratings).where(ratings.c.conversation_id == conversation_id)
        if from_turn > 0:
            query = query.join(messages, messages.c.id == ratings.c.message_id) \
                .where(messages.c.conversation_id == conversation_id,
                       messages.c.turn >= from_turn)
        with self.engine.connect() as conn:
            return {r["message_id"]: _rating(r) for r in conn.execute(query).mappings()}

    @db_errors
    def is_empty(self) -> bool:
        """True when the database holds no message yet."""
        with self.engine.connect() as conn:
            return conn.execute(select(messages.c.id).limit(1)).first() is None

    @db_errors
    def rebuild_stats(self) -> None:
        """Recompute the dashboard's running totals from the rows (see store/stats.py)."""
        with self._write() as conn:
            stats.rebuild(conn)

    @db_errors
    def replace_stats(self, counts: stats.Counts) -> None:
        """Make the running totals ``counts``, as :func:`stats.count` computed them."""
        with self._write() as conn:
            stats.replace(conn, counts)

    @db_errors
    def iter_events(self, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """The audit trail, oldest first, streamed."""
        query = select(rating_events).order_by(rating_events.c.id)
        yield from self._stream(query, batch)

    @db_errors
    def iter_rated_answers(self, filters: Filters = Filters(), *,
                           batch: int = 1000) -> Iterator[dict[str, Any]]:
        """One dict per rated answer that passes ``filters``, with its prompt and context
        (:data:`queries.EXPORT_COLUMNS` and a few more), oldest rating first, streamed in
        batches so that memory stays flat however large the store is."""
        yield from self._stream(queries.rated_answers(ANSWER_ROW, filters), batch)

    def _stream(self, query: Any, batch: int) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            for row in result.mappings():
                item = dict(row)
                for key in ("created_at", "rated_at"):
                    if key in item:
                        item[key] = as_utc(item[key])
                yield item


def title_for(prompt: str, limit: int = 80) -> str:
    line = " ".join(prompt.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


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
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("chatfeedback_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _conversation(row: Any) -> Conversation:
    data = dict(row)
    data["created_at"] = as_utc(data["created_at"])
    data["updated_at"] = as_utc(data["updated_at"])
    return Conversation(**data)


def _message(row: Any, siblings: int = 1) -> Message:
    data = dict(row)
    for key in ("created_at", "updated_at", "shown_at"):
        data[key] = as_utc(data[key])
    return Message(**data, siblings=siblings)


def _counter_key(answer: Any) -> tuple[Any, str]:
    """The running-total key of an answer: its day and model."""
    return stats.day_of(answer.created_at), answer.model or ""


def _rated_scale(row: Any) -> str | None:
    """The scale of a ratings row that holds a rating (None: no row, or a cleared one)."""
    return None if row is None or row["value"] is None else row["scale"]


def _rating(row: Any) -> Rating:
    return Rating(message_id=row["message_id"], conversation_id=row["conversation_id"],
                  scale=row["scale"], value=row["value"], comment=row["comment"],
                  tags=tuple(row["tags"] or ()), rater=row["rater"],
                  rated_at=as_utc(row["rated_at"]))
