"""The rows behind the training exports: consented conversations, streamed one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select

from .engine import as_utc
from .errors import db_errors
from .filters import Filters
from .queries import ROLE_ORDER
from .schema import conversations, messages, ratings, review_corrections
from .store import Store


@db_errors
def iter_conversations(store: Store, filters: Filters = Filters(), *,
                       batch: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """Each conversation with training consent that has a wanted rating or a reviewer's
    correction written in the filter's window (``corrected``; ``correction`` is the newest
    correction's text, whenever written): all its messages
    (every answer version) in order, each answer with its rating, ``wanted`` (True when
    the rating passes the filters) and its stored context (``context_from``, ``context``:
    see store/context.py). Streamed: memory holds one conversation at a time."""
    wanted = and_(*filters.rated())
    having = select(ratings.c.conversation_id).where(wanted)
    # Reviewers' corrections (review.py): the newest of each answer, and whether one was
    # written inside the filter; a conversation with one is read even if nothing in it is
    # rated. ``corrected`` is an alias: the outer query's messages must not correlate in.
    corrected = messages.alias("corrected")
    in_window = filters.made(review_corrections.c.created_at, corrected.c.model,
                             corrected.c.conversation_id)
    having_corrections = (select(corrected.c.conversation_id)
                          .join(review_corrections,
                                review_corrections.c.message_id == corrected.c.id)
                          .where(*in_window))
    newest = (select(review_corrections.c.content)
              .where(review_corrections.c.message_id == messages.c.id)
              .order_by(review_corrections.c.created_at.desc(), review_corrections.c.id.desc())
              .limit(1).scalar_subquery())
    written = exists().where(
        review_corrections.c.message_id == messages.c.id,
        *filters.made(review_corrections.c.created_at, messages.c.model,
                      messages.c.conversation_id))
    query = (select(messages.c.id, messages.c.conversation_id, messages.c.parent_id,
                    messages.c.turn, messages.c.role, messages.c.content, messages.c.version,
                    messages.c.selected, messages.c.status, messages.c.model,
                    messages.c.system_prompt, messages.c.context_from, messages.c.context,
                    ratings.c.scale, ratings.c.value,
                    ratings.c.score, ratings.c.rated_at,
                    case((wanted, literal(True)), else_=literal(False)).label("wanted"),
                    newest.label("correction"),
                    case((written, literal(True)), else_=literal(False)).label("corrected"))
             .select_from(messages.join(conversations,
                                        conversations.c.id == messages.c.conversation_id)
                          .outerjoin(ratings, ratings.c.message_id == messages.c.id))
             .where(conversations.c.training_consent.is_(True),
                    messages.c.conversation_id.in_(having)
                    | messages.c.conversation_id.in_(having_corrections))
             .order_by(messages.c.conversation_id, messages.c.turn, ROLE_ORDER,
                       messages.c.version, messages.c.id))
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for _, rows in groupby(result.mappings(), key=lambda r: r["conversation_id"]):
            conversation = []
            for row in rows:
                item = dict(row)
                item["wanted"] = bool(item["wanted"])
                item["corrected"] = bool(item["corrected"])
                item["rated_at"] = as_utc(item["rated_at"])
                conversation.append(item)
            yield conversation


@db_errors
def count_without_consent(store: Store, filters: Filters = Filters()) -> int:
    """How many wanted ratings are left out because their conversation has no consent."""
    query = (select(func.count()).select_from(
        ratings.join(conversations, conversations.c.id == ratings.c.conversation_id))
        .where(*filters.rated(), conversations.c.training_consent.is_(False)))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
