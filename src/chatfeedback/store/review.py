"""The review tables' SQL: queues from a filter, handing items out, judgements, skips,
corrections and adjudications. The rules around them live in ``chatfeedback.review``.

Handing out: an item is wanted while fewer than k reviewers hold it or are done with it
(``taken < k``). A reviewer's request, in one write transaction, resumes the item they
hold, else takes the first wanted item they never had: on PostgreSQL that row is read
``FOR UPDATE SKIP LOCKED`` (two reviewers asking at once lock different rows, and a row
whose ``taken`` reached k meanwhile is re-checked and passed over), on SQLite the
transaction holds the write lock from its start (``BEGIN IMMEDIATE``). The counter is raised
only ``WHERE taken < k``, and (item, reviewer) is the assignments' primary key: nobody gets
an item twice and no item goes beyond k, whatever the interleaving.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, exists, func, insert, select, update

from ..errors import ReviewError
from ..ids import new_id
from . import outbox, scoring
from .engine import instant
from .errors import db_errors
from .schema import (
    conversations,
    messages,
    rating_tags,
    ratings,
    review_adjudications,
    review_assignments,
    review_corrections,
    review_items,
    review_judgements,
    review_queues,
)
from .store import Store, as_utc, now

POLAR = {"positive": scoring.positive, "negative": scoring.negative, "neutral": scoring.neutral}
POLARITIES = (*POLAR, "unrated")
items_t, assign_t, judge_t = review_items, review_assignments, review_judgements


@dataclass(frozen=True)
class QueueFilter:
    """Which answers a queue holds: complete (or stopped) answers with text, created in
    [since, until) (UTC days), of ``model``, whose current rating has ``polarity``
    (positive, negative, neutral, or unrated), with reason ``tag``, shown to a person but
    not rated (``shown_unrated``), imported in ``batch``, in a conversation of
    ``experiment`` (and its ``arm``); then a random ``sample`` of N (``seed`` makes it
    repeatable)."""

    since: date | None = None
    until: date | None = None
    model: str | None = None
    polarity: str | None = None
    tag: str | None = None
    shown_unrated: bool = False
    batch: str | None = None
    experiment: str | None = None
    arm: str | None = None
    sample: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.polarity is not None and self.polarity not in POLARITIES:
            raise ReviewError(f"polarity must be one of {', '.join(POLARITIES)}; "
                              f"got {self.polarity!r}")
        if self.sample is not None and self.sample < 1:
            raise ReviewError(f"sample must be a positive number of answers, got {self.sample}")
        if self.since and self.until and self.until <= self.since:
            raise ReviewError("until must be after since")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the unset fields (stored with the queue)."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, False):
                continue
            out[key] = value.isoformat() if isinstance(value, date) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueFilter:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("since", "until"):
            if isinstance(values.get(key), str):
                values[key] = date.fromisoformat(values[key])
        return cls(**values)

    def conditions(self) -> list[Any]:
        """Conditions on ``messages`` (outer-joined to ``ratings``, joined to
        ``conversations``): every field but the sample."""
        where: list[Any] = [messages.c.role == "assistant",
                            messages.c.status.in_(("complete", "stopped")),
                            messages.c.content != ""]
        if self.since is not None:
            where.append(messages.c.created_at >= instant(self.since))
        if self.until is not None:
            where.append(messages.c.created_at < instant(self.until))
        if self.model is not None:
            where.append(messages.c.model == self.model)
        if self.polarity in POLAR:
            where.append(POLAR[self.polarity](ratings))
        elif self.polarity == "unrated":
            where.append(ratings.c.value.is_(None))
        if self.tag is not None:
            where.append(exists().where(rating_tags.c.message_id == messages.c.id,
                                        rating_tags.c.tag == self.tag))
        if self.shown_unrated:
            where += [messages.c.shown_at.is_not(None), ratings.c.value.is_(None)]
        if self.batch is not None:
            where.append(conversations.c.import_batch == self.batch)
        if self.experiment is not None:
            where.append(conversations.c.experiment == self.experiment)
        if self.arm is not None:
            where.append(conversations.c.arm == self.arm)
        return where



@db_errors
def matching_answers(store: Store, qfilter: QueueFilter) -> list[str]:
    """The ids of the answers ``qfilter`` selects, oldest first (a sample: in random order)."""
    query = (select(messages.c.id)
             .join(conversations, conversations.c.id == messages.c.conversation_id)
             .outerjoin(ratings, ratings.c.message_id == messages.c.id)
             .where(*qfilter.conditions()).order_by(messages.c.id))
    with store.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    if qfilter.sample is not None:
        ids = random.Random(qfilter.seed).sample(ids, min(qfilter.sample, len(ids)))
    return ids


@db_errors
def create_queue(store: Store, *, name: str, qfilter: QueueFilter, k: int,
                 criteria: list[dict[str, Any]], created_by: str | None,
                 message_ids: list[str]) -> dict[str, Any]:
    """A queue holding ``message_ids`` in that order, written in one transaction."""
    row = {"id": new_id(), "name": name, "filter": qfilter.as_dict(), "k": k,
           "criteria": criteria, "items": len(message_ids), "created_by": created_by,
           "created_at": now()}
    with store._write() as conn:
        if conn.execute(select(review_queues.c.id).where(review_queues.c.name == name)).first():
            raise ReviewError(f"a queue named '{name}' exists already; pick another name")
        conn.execute(insert(review_queues).values(row))
        for start in range(0, len(message_ids), 10_000):
            conn.execute(insert(items_t), [
                {"id": new_id(), "queue_id": row["id"], "message_id": message_id,
                 "position": start + i, "taken": 0, "done": 0, "wanted": True}
                for i, message_id in enumerate(message_ids[start:start + 10_000])])
    return row


@db_errors
def queues(store: Store) -> list[dict[str, Any]]:
    """Every queue, newest first, with how many of its items are complete."""
    complete = (select(func.count()).where(items_t.c.queue_id == review_queues.c.id,
                                           items_t.c.done >= review_queues.c.k)
                .scalar_subquery())
    query = select(review_queues, complete.label("complete")) \
        .order_by(review_queues.c.created_at.desc(), review_queues.c.id.desc())
    with store.engine.connect() as conn:
        return [_times(r) for r in conn.execute(query).mappings()]


@db_errors
def queue(store: Store, name_or_id: str) -> dict[str, Any]:
    query = select(review_queues).where((review_queues.c.name == name_or_id)
                                        | (review_queues.c.id == name_or_id))
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise ReviewError(f"no review queue named '{name_or_id}'")
    return _times(row)


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
        return [_times(r) for r in conn.execute(query).mappings()]


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
                out[row["message_id"]] = _times(row)
    return out


def _times(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in row.items()}
