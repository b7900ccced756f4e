"""What a queue's judgements add up to: progress, the values agreement is computed on,
adjudications, the judgements and gold labels for export, corrections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, select

from ..errors import ReviewError
from .engine import as_utc, utc_row
from .errors import db_errors
from .review import queue
from .schema import (
    review_adjudications,
    review_assignments,
    review_corrections,
    review_items,
    review_judgements,
    review_queues,
)
from .store import Store, now

items_t, assign_t, judge_t = review_items, review_assignments, review_judgements


@db_errors
def progress(store: Store, queue_id: str) -> dict[str, Any]:
    """Items, complete items, judgements handed in, and per reviewer the count of each
    assignment state (open, done, skipped, expired)."""
    q = queue(store, queue_id)
    with store.engine.connect() as conn:
        items, complete, judged = conn.execute(select(
            func.count(), func.coalesce(func.sum(case((items_t.c.done >= q["k"], 1), else_=0)), 0),
            func.coalesce(func.sum(items_t.c.done), 0))
            .where(items_t.c.queue_id == q["id"])).one()
        per: dict[str, dict[str, int]] = {}
        for reviewer, state, n in conn.execute(
                select(assign_t.c.reviewer, assign_t.c.state, func.count())
                .where(assign_t.c.queue_id == q["id"])
                .group_by(assign_t.c.reviewer, assign_t.c.state)):
            per.setdefault(reviewer, {"open": 0, "done": 0, "skipped": 0, "expired": 0})
            per[reviewer][state] = n
    return {"queue": q, "items": int(items), "complete": int(complete),
            "judged": int(judged), "reviewers": per}


@db_errors
def item_judgements(store: Store, item_id: str) -> list[dict[str, Any]]:
    query = select(judge_t).where(judge_t.c.item_id == item_id) \
        .order_by(judge_t.c.reviewer, judge_t.c.criterion)
    with store.engine.connect() as conn:
        return [utc_row(r) for r in conn.execute(query).mappings()]


@db_errors
def judgement_values(store: Store, queue_id: str, k: int) -> list[tuple[int, str, str, str]]:
    """(item position, reviewer, criterion, value) of every judgement of the queue's
    complete items (done >= k): what agreement is computed on, and what reviewers may see
    (blind). Positions rather than ids: an integer reads and groups faster."""
    query = (select(items_t.c.position, judge_t.c.reviewer, judge_t.c.criterion,
                    judge_t.c.value)
             .join(items_t, items_t.c.id == judge_t.c.item_id)
             .where(judge_t.c.queue_id == queue_id, items_t.c.done >= k))
    with store.engine.connect() as conn:
        return _driver_rows(conn, query)


def _driver_rows(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """The rows as the driver's own tuples: for 100,000 rows, SQLAlchemy's Row objects cost
    as much as the query (only for columns that need no result processing)."""
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return cursor.fetchall()
    finally:
        cursor.close()


@db_errors
def item_ids(store: Store, queue_id: str, positions: Iterable[int]) -> dict[int, str]:
    """{position: item id} of some of a queue's items."""
    query = select(items_t.c.position, items_t.c.id).where(
        items_t.c.queue_id == queue_id, items_t.c.position.in_(list(positions)))
    with store.engine.connect() as conn:
        return dict(conn.execute(query).all())


@db_errors
def adjudicate(store: Store, item_id: str, criterion: str, value: str,
               admin: str | None) -> None:
    """Set (or replace) the final value of an item's criterion."""
    with store._write() as conn:
        row = conn.execute(select(items_t.c.queue_id, items_t.c.message_id)
                           .where(items_t.c.id == item_id)).first()
        if row is None:
            raise ReviewError("review item not found")
        conn.execute(delete(review_adjudications).where(
            review_adjudications.c.item_id == item_id,
            review_adjudications.c.criterion == criterion))
        conn.execute(insert(review_adjudications).values(
            item_id=item_id, criterion=criterion, queue_id=row.queue_id,
            message_id=row.message_id, value=value, admin=admin, created_at=now()))


@db_errors
def adjudications(store: Store, queue_id: str) -> dict[tuple[str, str], str]:
    """{(item, criterion): value} of a queue's adjudications."""
    query = select(review_adjudications.c.item_id, review_adjudications.c.criterion,
                   review_adjudications.c.value).where(
        review_adjudications.c.queue_id == queue_id)
    with store.engine.connect() as conn:
        return {(i, c): v for i, c, v in conn.execute(query)}


@db_errors
def iter_judgements(store: Store, queue_id: str | None = None,
                    batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every judgement (of one queue), oldest first, with its queue's name, streamed."""
    query = (select(review_queues.c.name.label("queue"), judge_t.c.item_id.label("item"),
                    judge_t.c.message_id, judge_t.c.reviewer, judge_t.c.criterion,
                    judge_t.c.value, judge_t.c.created_at.label("time"))
             .join(review_queues, review_queues.c.id == judge_t.c.queue_id)
             .order_by(judge_t.c.created_at, judge_t.c.id))
    if queue_id is not None:
        query = query.where(judge_t.c.queue_id == queue_id)
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for row in result.mappings():
            yield {**row, "time": as_utc(row["time"])}


@db_errors
def iter_item_outcomes(store: Store, queue_id: str | None = None,
                       batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Per complete item (done >= k) and criterion: its values and its adjudication, for
    the gold labels. Items in queue and id order."""
    adjudicated = review_adjudications
    query = (select(review_queues.c.id.label("queue_id"), review_queues.c.name.label("queue"),
                    items_t.c.id.label("item"), items_t.c.message_id,
                    judge_t.c.criterion, judge_t.c.value, adjudicated.c.value.label("gold"),
                    adjudicated.c.admin)
             .join(items_t, items_t.c.queue_id == review_queues.c.id)
             .join(judge_t, judge_t.c.item_id == items_t.c.id)
             .outerjoin(adjudicated, and_(adjudicated.c.item_id == items_t.c.id,
                                          adjudicated.c.criterion == judge_t.c.criterion))
             .where((items_t.c.done >= review_queues.c.k) | adjudicated.c.value.is_not(None))
             .order_by(review_queues.c.created_at, items_t.c.position, judge_t.c.criterion))
    if queue_id is not None:
        query = query.where(review_queues.c.id == queue_id)
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        yield from (dict(r) for r in result.mappings())


@db_errors
def corrections(store: Store, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The newest correction of each of ``message_ids`` that has one."""
    ids = list(message_ids)
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 1000):
            query = (select(review_corrections)
                     .where(review_corrections.c.message_id.in_(ids[start:start + 1000]))
                     .order_by(review_corrections.c.created_at, review_corrections.c.id))
            for row in conn.execute(query).mappings():
                out[row["message_id"]] = utc_row(row)
    return out
