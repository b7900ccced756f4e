"""The Store's ratings: rate, annotate, read, the audit trail and the running totals."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .. import scales
from ..errors import FeedbackError, NotFound
from ..ids import new_id
from . import arena_totals, outbox, stats
from .engine import Connected, now
from .errors import db_errors
from .filters import Filters
from .records import Rating, to_rating
from .schema import messages, rating_events, rating_tags, ratings


class Ratings(Connected):
    @db_errors
    def rate(self, message_id: str, value: int | None, *, scale: str,
             actor: str | None = None, allow_change: bool = True,
             at: datetime | None = None) -> Rating:
        """Set, change or clear (``value=None``) the rating of an answer, appending the event
        (at ``at``, e.g. an imported rating's own time; default now). With
        ``allow_change=False`` a rated answer keeps its rating (FeedbackError)."""
        scales.check(scale, value)
        when = now() if at is None else at.astimezone(UTC)  # stored times are UTC
        with self._write() as conn:
            # FOR UPDATE (PostgreSQL; SQLite has one writer): a concurrent rate or mark_shown
            # of this answer waits, so each sees the other's rating and shown_at.
            msg = conn.execute(select(messages.c.conversation_id, messages.c.role,
                                      messages.c.model, messages.c.system_prompt,
                                      messages.c.created_at, messages.c.shown_at,
                                      messages.c.trace_id)
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
                return to_rating(old)
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
            event_id = self._event(conn, message_id, msg.conversation_id, action, when, actor,
                                   scale=scale, value=value)
            row = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().one()
            _send(conn, event_id, action, when, actor, row, msg.trace_id)
            stats.count_rating(conn, old, -1)
            stats.count_rating(conn, row, +1)
            stats.move_shown_rating(conn, msg, _rated_scale(old), _rated_scale(row))
        return to_rating(row)

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
            events: list[tuple[str, str]] = []
            if comment is not None and new_comment != old["comment"]:
                values["comment"] = new_comment
                events.append((self._event(conn, message_id, old["conversation_id"],
                                           "comment", when, actor, comment=new_comment),
                               "comment"))
            if tag_list is not None and tag_list != sorted(old["tags"] or []):
                values["tags"] = tag_list
                conn.execute(delete(rating_tags).where(rating_tags.c.message_id == message_id))
                if tag_list:
                    conn.execute(insert(rating_tags), [{"message_id": message_id, "tag": t}
                                                       for t in tag_list])
                events.append((self._event(conn, message_id, old["conversation_id"], "tags",
                                           when, actor, tags=tag_list), "tags"))
            if values:
                conn.execute(update(ratings).where(ratings.c.message_id == message_id)
                             .values(rated_at=when, **values))
            row = conn.execute(select(ratings).where(ratings.c.message_id == message_id)) \
                .mappings().one()
            if values:
                stats.count_rating(conn, old, -1)
                stats.count_rating(conn, row, +1)
            if events:
                trace_id = conn.execute(select(messages.c.trace_id)
                                        .where(messages.c.id == message_id)).scalar()
                for event_id, action in events:
                    _send(conn, event_id, action, when, actor, row, trace_id)
        return to_rating(row)

    @staticmethod
    def _event(conn: Connection, message_id: str, conversation_id: str, action: str,
               when: datetime, actor: str | None, **fields: Any) -> str:
        """Append to the audit trail; return the event's id."""
        event_id = new_id()
        conn.execute(insert(rating_events).values(
            id=event_id, message_id=message_id, conversation_id=conversation_id,
            action=action, actor=actor, created_at=when, **fields))
        return event_id

    @db_errors
    def rating(self, message_id: str) -> Rating | None:
        row = self._first(select(ratings).where(ratings.c.message_id == message_id))
        return None if row is None else to_rating(row)

    @db_errors
    def ratings(self, conversation_id: str, *, from_turn: int = 0) -> dict[str, Rating]:
        """The ratings in a conversation (of answers from ``from_turn`` on), by message id."""
        query = select(ratings).where(ratings.c.conversation_id == conversation_id)
        if from_turn > 0:
            query = query.join(messages, messages.c.id == ratings.c.message_id) \
                .where(messages.c.conversation_id == conversation_id,
                       messages.c.turn >= from_turn)
        with self.engine.connect() as conn:
            return {r["message_id"]: to_rating(r) for r in conn.execute(query).mappings()}

    @db_errors
    def rebuild_stats(self, progress: stats.Reports | None = None) -> None:
        """Recompute the dashboard's running totals from the rows (see store/stats.py),
        and the arena's (store/arena_totals.py); ``progress`` hears each of its steps."""
        with self._write() as conn:
            stats.rebuild(conn, progress)
            arena_totals.rebuild(conn)

    @db_errors
    def count_rated(self, filters: Filters = Filters()) -> int | None:
        """About how many rated answers pass ``filters``, from the running totals (whole
        UTC days: at least as many as pass when the totals are right; None when the totals
        cannot say, for an experiment); a few thousand counters instead of the ratings. For
        the progress of exports."""
        with self.engine.connect() as conn:
            return stats.rated_total(conn, filters)

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


def _send(conn: Connection, event_id: str, action: str, when: datetime, actor: str | None,
          row: Any, trace_id: str | None) -> None:
    """The event into the outbox, with the rating as it stands after it (``row``)."""
    outbox.record(conn, event_id, action, when, actor, message_id=row["message_id"],
                  conversation_id=row["conversation_id"], value=row["value"],
                  scale=row["scale"], model=row["model"], trace_id=trace_id,
                  comment=row["comment"], tags=row["tags"])


def _rated_scale(row: Any) -> str | None:
    """The scale of a ratings row that holds a rating (None: no row, or a cleared one)."""
    return None if row is None or row["value"] is None else row["scale"]
