"""The review queues' SQL: which answers a queue holds (``QueueFilter``), creating a queue,
reading queues. Handing items out and saving judgements: review_items.py; what the
judgements add up to: review_results.py. The rules around them live in
``chatfeedback.review``."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import exists, func, insert, select

from ..errors import ReviewError
from ..ids import new_id
from . import scoring
from .engine import instant, utc_row
from .errors import db_errors
from .schema import (
    conversations,
    messages,
    rating_tags,
    ratings,
    review_items,
    review_queues,
)
from .store import Store, now

POLAR = {"positive": scoring.positive, "negative": scoring.negative, "neutral": scoring.neutral}
POLARITIES = (*POLAR, "unrated")
items_t = review_items


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
        return [utc_row(r) for r in conn.execute(query).mappings()]


@db_errors
def queue(store: Store, name_or_id: str) -> dict[str, Any]:
    query = select(review_queues).where((review_queues.c.name == name_or_id)
                                        | (review_queues.c.id == name_or_id))
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise ReviewError(f"no review queue named '{name_or_id}'")
    return utc_row(row)
