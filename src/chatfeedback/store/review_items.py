"""Handing review items out and taking judgements, skips and corrections in.

An item is wanted while fewer than k reviewers hold it or are done with it
(``taken < k``). A reviewer's request, in one write transaction, resumes the item they
hold, else takes the first wanted item they never had: on PostgreSQL that row is read
``FOR UPDATE SKIP LOCKED`` (two reviewers asking at once lock different rows, and a row
whose ``taken`` reached k meanwhile is re-checked and passed over), on SQLite the
transaction holds the write lock from its start (``BEGIN IMMEDIATE``). The counter is raised
only ``WHERE taken < k``, and (item, reviewer) is the assignments' primary key: nobody gets
an item twice and no item goes beyond k, whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update

from ..errors import ReviewError
from ..ids import new_id
from . import outbox
from .errors import db_errors
from .schema import (
    messages,
    review_assignments,
    review_corrections,
    review_items,
    review_judgements,
)
from .store import Store, now

items_t, assign_t, judge_t = review_items, review_assignments, review_judgements


@db_errors
def held_item(store: Store, queue_id: str, reviewer: str) -> dict[str, Any] | None:
    """The item ``reviewer`` holds open in the queue, if any (nothing is taken)."""
    with store.engine.connect() as conn:
        held = _held(conn, queue_id, reviewer)
        return None if held is None else _item(conn, held)


def _held(conn: Connection, queue_id: str, reviewer: str) -> str | None:
    return conn.execute(select(assign_t.c.item_id).where(
        assign_t.c.queue_id == queue_id, assign_t.c.reviewer == reviewer,
        assign_t.c.state == "open").order_by(assign_t.c.claimed_at).limit(1)).scalar()


@db_errors
def next_item(store: Store, queue_id: str, reviewer: str, k: int,
              stale_after: timedelta) -> dict[str, Any] | None:
    """The item ``reviewer`` holds in the queue, else a newly taken one; None when no item
    wants them. Claims left open longer than ``stale_after`` are given up first."""
    with store._write() as conn:
        held = _held(conn, queue_id, reviewer)
        if held is not None:
            return _item(conn, held)
        _expire(conn, queue_id, now() - stale_after)
        had = select(assign_t.c.item_id).where(assign_t.c.item_id == items_t.c.id,
                                               assign_t.c.reviewer == reviewer)
        pick = (select(items_t.c.id).where(items_t.c.queue_id == queue_id,
                                           items_t.c.wanted.is_(True), ~exists(had))
                .order_by(items_t.c.position).limit(1))
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        for _ in range(100):  # another transaction filled a row between read and update
            item_id = conn.execute(pick).scalar()
            if item_id is None:
                return None
            if _take(conn, item_id, k):
                conn.execute(insert(assign_t).values(
                    item_id=item_id, reviewer=reviewer, queue_id=queue_id, state="open",
                    claimed_at=now()))
                return _item(conn, item_id)
    return None


def _take(conn: Connection, item_id: str, k: int) -> bool:
    """Raise the item's ``taken`` by one if it is still below k."""
    result = conn.execute(update(items_t).where(items_t.c.id == item_id, items_t.c.taken < k)
                          .values(taken=items_t.c.taken + 1, wanted=items_t.c.taken + 1 < k))
    return result.rowcount == 1


def _release(conn: Connection, item_ids: Iterable[str]) -> None:
    for item_id in sorted(item_ids):  # one lock order for every transaction
        conn.execute(update(items_t).where(items_t.c.id == item_id)
                     .values(taken=items_t.c.taken - 1, wanted=True))


def _expire(conn: Connection, queue_id: str, cutoff: datetime) -> None:
    stale = conn.execute(update(assign_t).where(
        assign_t.c.queue_id == queue_id, assign_t.c.state == "open",
        assign_t.c.claimed_at < cutoff).values(state="expired", finished_at=now())
        .returning(assign_t.c.item_id)).scalars().all()
    _release(conn, stale)


def _item(conn: Connection, item_id: str) -> dict[str, Any]:
    row = conn.execute(select(items_t, messages.c.conversation_id, messages.c.content,
                              messages.c.model, messages.c.turn, messages.c.parent_id)
                       .join(messages, messages.c.id == items_t.c.message_id)
                       .where(items_t.c.id == item_id)).mappings().one()
    return dict(row)


@db_errors
def item(store: Store, item_id: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(select(items_t.c.id).where(items_t.c.id == item_id)).first()
        if row is None:
            raise ReviewError("review item not found")
        return _item(conn, item_id)


@db_errors
def submit(store: Store, item_id: str, reviewer: str, k: int, values: Mapping[str, str],
           correction: str | None) -> None:
    """Record ``reviewer``'s judgements of an item they hold (and their correction)."""
    when = now()
    with store._write() as conn:
        held = conn.execute(select(assign_t).where(
            assign_t.c.item_id == item_id, assign_t.c.reviewer == reviewer)
            .with_for_update()).mappings().first()
        if held is None or held["state"] in ("done", "skipped"):
            raise ReviewError("this item is not yours to judge (judged, skipped, or never "
                              "handed to you): take the next one")
        if held["state"] == "expired" and not _take(conn, item_id, k):
            raise ReviewError("this item waited too long and went to other reviewers; your "
                              "judgement was not saved: take the next one")
        conn.execute(update(assign_t).where(assign_t.c.item_id == item_id,
                                            assign_t.c.reviewer == reviewer)
                     .values(state="done", finished_at=when))
        message_id = conn.execute(update(items_t).where(items_t.c.id == item_id)
                                  .values(done=items_t.c.done + 1)
                                  .returning(items_t.c.message_id)).scalar_one()
        judgements = [
            {"id": new_id(), "item_id": item_id, "queue_id": held["queue_id"],
             "message_id": message_id, "reviewer": reviewer, "criterion": criterion,
             "value": value, "created_at": when} for criterion, value in values.items()]
        conn.execute(insert(judge_t), judgements)
        answer = conn.execute(select(messages.c.conversation_id, messages.c.model,
                                     messages.c.trace_id)
                              .where(messages.c.id == message_id)).one()
        for j in judgements:
            outbox.record(conn, j["id"], "review", when, reviewer, message_id=message_id,
                          conversation_id=answer.conversation_id,
                          value=int(j["value"]) if str(j["value"]).isdigit() else None,
                          scale=None, model=answer.model, trace_id=answer.trace_id,
                          criterion=j["criterion"], label=str(j["value"]))
        if correction:
            conn.execute(insert(review_corrections).values(
                id=new_id(), message_id=message_id, item_id=item_id,
                queue_id=held["queue_id"], content=correction, author=reviewer,
                created_at=when))


@db_errors
def skip(store: Store, item_id: str, reviewer: str, reason: str) -> None:
    """Give an open item back, with the reason; it goes to another reviewer."""
    with store._write() as conn:
        result = conn.execute(update(assign_t).where(
            assign_t.c.item_id == item_id, assign_t.c.reviewer == reviewer,
            assign_t.c.state == "open").values(state="skipped", reason=reason,
                                               finished_at=now()))
        if result.rowcount != 1:
            raise ReviewError("this item is not open for you: nothing to skip")
        _release(conn, [item_id])
