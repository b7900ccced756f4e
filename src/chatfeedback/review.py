"""Review work for teams: queues of answers, judgements by a rubric, corrections, agreement
between reviewers and adjudication. The UI's Review page and ``chatfeedback queue`` use this.

Rules kept here, once:

* a queue holds the answers a filter selects; each item goes to ``k`` reviewers, never twice
  to the same one (store/review_items.py hands them out);
* blind: a reviewer sees no other judgement of an item until it is complete (k judged);
* a judgement gives a value for every criterion of the queue's rubric; a correction is the
  answer that should have been given, stored beside the answer (never over it);
* gold: an admin's adjudicated value, else the value every reviewer of a complete item gave.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

import numpy as np

from .errors import ReviewError
from .rubric import Criterion, by_name, configured, criterion_from_dict
from .stats import agreement as ag
from .store import Message, Store
from .store import review as rs
from .store import review_items as handing
from .store import review_results as results
from .store.review import QueueFilter

STALE_AFTER = timedelta(minutes=30)  # a claim left open this long goes to someone else
MAX_CORRECTION = 20_000
EXPORT_FORMATS = ("reviews", "gold")
__all__ = ["STALE_AFTER", "Item", "Queue", "QueueFilter", "Review"]


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    k: int
    criteria: tuple[Criterion, ...]
    filter: QueueFilter
    items: int
    created_by: str | None
    created_at: datetime
    complete: int | None = None

    def criterion(self, name: str) -> Criterion:
        return by_name(self.criteria, name, lambda known: ReviewError(
            f"queue '{self.name}' has no criterion '{name}' (it has {known})"))


@dataclass(frozen=True)
class Item:
    """One answer in a queue, as handed to a reviewer."""

    id: str
    queue_id: str
    message_id: str
    conversation_id: str
    content: str
    model: str | None
    position: int
    done: int


class Review:
    """Review queues over one store, with the rubric of the settings."""

    def __init__(self, store: Store, criteria: Sequence[Criterion]) -> None:
        self.store = store
        self.criteria = tuple(criteria)

    # ------------------------------------------------------------------ queues
    def create_queue(self, name: str, qfilter: QueueFilter, *, k: int = 1,
                     criteria: Sequence[str] | None = None,
                     created_by: str | None = None) -> Queue:
        """A queue of the answers ``qfilter`` selects, judged by ``k`` reviewers each on
        ``criteria`` (names from the settings; default: all of them)."""
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise ReviewError("a queue needs a name (1 to 200 characters)")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ReviewError(f"k (reviewers per item) must be a positive whole number, got {k!r}")
        chosen = [configured(self.criteria, c, ReviewError)
                  for c in dict.fromkeys(criteria or [c.name for c in self.criteria])]
        ids = rs.matching_answers(self.store, qfilter)
        if not ids:
            raise ReviewError("the filter matches no answers: nothing to review")
        row = rs.create_queue(self.store, name=name, qfilter=qfilter, k=k,
                              criteria=[c.as_dict() for c in chosen],
                              created_by=created_by, message_ids=ids)
        return _queue(row)

    def queues(self) -> list[Queue]:
        return [_queue(r) for r in rs.queues(self.store)]

    def queue(self, name_or_id: str) -> Queue:
        return _queue(rs.queue(self.store, name_or_id))

    # ---------------------------------------------------------------- reviewing
    def next_item(self, queue: Queue, reviewer: str) -> Item | None:
        """The item ``reviewer`` holds, else the next one that wants a reviewer; None when
        the queue has nothing left for them."""
        row = handing.next_item(self.store, queue.id, reviewer, queue.k, STALE_AFTER)
        return None if row is None else _item(row)

    def held_item(self, queue: Queue, reviewer: str) -> Item | None:
        """The item ``reviewer`` holds in the queue, without taking a new one."""
        row = handing.held_item(self.store, queue.id, reviewer)
        return None if row is None else _item(row)

    def item(self, item_id: str) -> Item:
        return _item(handing.item(self.store, item_id))

    def conversation(self, item: Item) -> list[Message]:
        """What the reviewer reads: the messages the answer's request contained (its stored
        context, see history.py), then the answer. The system prompt is the answer's
        ``system_prompt``."""
        return [*self.store.context(item.message_id), self.store.message(item.message_id)]

    def submit(self, queue: Queue, item_id: str, reviewer: str, values: Mapping[str, Any],
               correction: str | None = None) -> None:
        """Save a reviewer's value for every criterion of the queue (and a correction)."""
        missing = [c.name for c in queue.criteria if values.get(c.name) is None]
        if missing:
            raise ReviewError(f"give a value for every criterion; missing: {', '.join(missing)}")
        extra = set(values) - {c.name for c in queue.criteria}
        if extra:
            queue.criterion(min(extra))  # the one-line error
        stored = {}
        for criterion in queue.criteria:
            try:
                stored[criterion.name] = str(criterion.check(values[criterion.name]))
            except ValueError as exc:
                raise ReviewError(str(exc)) from None
        text = (correction or "").strip() or None
        if text and len(text) > MAX_CORRECTION:
            raise ReviewError(f"the correction has {len(text):,} characters; the limit is "
                              f"{MAX_CORRECTION:,}")
        handing.submit(self.store, item_id, reviewer, queue.k, stored, text)

    def skip(self, item_id: str, reviewer: str, reason: str) -> None:
        reason = (reason or "").strip()
        if not reason:
            raise ReviewError("say why you skip this item (a reason is required)")
        handing.skip(self.store, item_id, reviewer, reason)

    def judgements(self, queue: Queue, item_id: str, viewer: str | None, *,
                   admin: bool = False) -> list[dict[str, Any]] | None:
        """The item's judgements, values decoded; None while the item is incomplete and the
        viewer is not an admin (blind review)."""
        item = self.item(item_id)
        if item.done < queue.k and not admin:
            return None
        rows = results.item_judgements(self.store, item_id)
        return [{**r, "value": _decode(queue.criterion(r["criterion"]), r["value"])}
                for r in rows]

    def progress(self, queue: Queue) -> dict[str, Any]:
        return results.progress(self.store, queue.id)

    # ---------------------------------------------------------------- agreement
    def agreement(self, queue: Queue, *, replicates: int = 1000,
                  widest: int = 20) -> dict[str, ag.Agreement]:
        """Per criterion, over the complete items (the others are still blind): alpha with
        its interval, kappa per pair, the widest disagreements."""
        rows = results.judgement_values(self.store, queue.id, queue.k)
        columns = list(zip(*rows, strict=True)) or [(), (), (), ()]
        positions = np.asarray(columns[0], dtype=np.int64)
        reviewers, names, values = (np.asarray(c, dtype=object) for c in columns[1:])
        out = {}
        for criterion in queue.criteria:
            mine = names == criterion.name
            # stored as text: the agreement's domain is the text of each value
            result = ag.agreement(positions[mine], reviewers[mine], values[mine],
                                  domain=[str(v) for v in criterion.domain],
                                  level=criterion.level, replicates=replicates, widest=widest)
            out[criterion.name] = result
        ids = results.item_ids(self.store, queue.id,
                               {d.item for r in out.values() for d in r.widest})
        return {name: _decoded(result, queue.criterion(name), ids)
                for name, result in out.items()}

    def adjudicate(self, queue: Queue, item_id: str, criterion: str, value: Any,
                   admin: str | None) -> None:
        """An admin's final value for an item's criterion: the gold label exports use."""
        try:
            stored = str(queue.criterion(criterion).check(value))
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        if self.item(item_id).queue_id != queue.id:
            raise ReviewError(f"that item is not in queue '{queue.name}'")
        results.adjudicate(self.store, item_id, criterion, stored, admin)

    def adjudications(self, queue: Queue) -> dict[tuple[str, str], Any]:
        return {key: _decode(queue.criterion(key[1]), value)
                for key, value in results.adjudications(self.store, queue.id).items()}

    # ------------------------------------------------------------------ exports
    def export_rows(self, fmt: str, queue: Queue | None = None) -> Iterator[dict[str, Any]]:
        """The rows of the ``reviews`` or ``gold`` export (of every queue, or one)."""
        if fmt not in EXPORT_FORMATS:
            raise ReviewError(f"unknown review export '{fmt}' (use reviews or gold)")
        return self.iter_reviews(queue) if fmt == "reviews" else self.iter_gold(queue)

    def iter_reviews(self, queue: Queue | None = None) -> Iterator[dict[str, Any]]:
        """One row per judgement: queue, item, message_id, reviewer, criterion, value, time."""
        criteria = self._criteria_by_queue()
        for row in results.iter_judgements(self.store, queue.id if queue else None):
            criterion = criteria[row["queue"]].get(row["criterion"])
            yield {**row, "value": _decode(criterion, row["value"])}

    def iter_gold(self, queue: Queue | None = None) -> Iterator[dict[str, Any]]:
        """Per item and criterion: the adjudicated value, else the unanimous value of a
        complete item (items whose reviewers disagree and nobody adjudicated are left out)."""
        criteria = self._criteria_by_queue()
        rows = results.iter_item_outcomes(self.store, queue.id if queue else None)
        for (name, item_id, criterion_name), group in groupby(
                rows, key=lambda r: (r["queue"], r["item"], r["criterion"])):
            group = list(group)
            first = group[0]
            values = {r["value"] for r in group}
            if first["gold"] is not None:
                value, source = first["gold"], "adjudicated"
            elif len(values) == 1:
                value, source = values.pop(), "unanimous"
            else:
                continue
            criterion = criteria[name].get(criterion_name)
            yield {"queue": name, "item": item_id, "message_id": first["message_id"],
                   "criterion": criterion_name, "value": _decode(criterion, value),
                   "source": source, "judgements": len(group)}

    def _criteria_by_queue(self) -> dict[str, dict[str, Criterion]]:
        return {q.name: {c.name: c for c in q.criteria} for q in self.queues()}


def _decoded(result: ag.Agreement, criterion: Criterion,
             ids: Mapping[int, str]) -> ag.Agreement:
    """The widest disagreements with their item's id and the criterion's own values."""
    decode = {str(v): v for v in criterion.domain}
    return replace(result, widest=tuple(
        replace(d, item=ids[d.item], values=tuple(decode[v] for v in d.values))
        for d in result.widest))


def _decode(criterion: Criterion | None, stored: str) -> Any:
    """A stored value as the criterion's own value (an int, or the option's text)."""
    if criterion is None:
        return stored
    try:
        return criterion.check(stored)
    except ValueError:
        return stored  # the rubric was edited since; keep the text


def _queue(row: Mapping[str, Any]) -> Queue:
    return Queue(id=row["id"], name=row["name"], k=row["k"],
                 criteria=tuple(criterion_from_dict(c) for c in row["criteria"]),
                 filter=QueueFilter.from_dict(row["filter"]), items=row["items"],
                 created_by=row["created_by"], created_at=row["created_at"],
                 complete=row.get("complete"))


def _item(row: Mapping[str, Any]) -> Item:
    return Item(id=row["id"], queue_id=row["queue_id"], message_id=row["message_id"],
                conversation_id=row["conversation_id"], content=row["content"],
                model=row["model"], position=row["position"], done=row["done"])
