"""The outbox's SQL: events written with the rows they describe, queued per sink, settled.

* :func:`record` is the one place an event enters the outbox; ratings.py, arena.py and
  review.py call it inside the transaction that writes the rating, vote or judgement, so
  an event is in the outbox exactly when its row is committed.
* The delivery worker (outbox/worker.py) calls :func:`register`, :func:`fan_out` (each new
  event queued once for every sink known then), :func:`due` and :func:`settle`.
* ``chatfeedback sinks`` and the Sinks page call :func:`status`, :func:`retry`,
  :func:`replay` and :func:`prune`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    update,
)

from .engine import as_utc, now
from .errors import db_errors
from .schema import outbox, outbox_deliveries, outbox_leases, outbox_sinks

if TYPE_CHECKING:
    from .store import Store

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATES = (PENDING, DELIVERED, DEAD)
d = outbox_deliveries.c


def record(conn: Connection, event_id: str, action: str, when: datetime, actor: str | None, *,
           message_id: str | None, conversation_id: str | None, value: int | None,
           scale: str | None, model: str | None = None, trace_id: str | None = None,
           comment: str | None = None, tags: Iterable[str] | None = None,
           criterion: str | None = None, label: str | None = None) -> None:
    """Write one event into the outbox, in the caller's transaction. Its keys are the fields
    of outbox/base.py's Event (tests/test_outbox_store.py checks they agree)."""
    payload = {"id": event_id, "action": action, "message_id": message_id,
               "conversation_id": conversation_id, "value": value, "scale": scale,
               "actor": actor or "", "at": as_utc(when).isoformat(), "model": model,
               "trace_id": trace_id, "comment": comment, "tags": list(tags or ()),
               "criterion": criterion, "label": label}
    conn.execute(insert(outbox).values(id=event_id, payload=payload, created_at=now(),
                                       fanned=False))


@db_errors
def register(store: Store, sinks: Mapping[str, str]) -> dict[str, datetime]:
    """Make each sink (name: kind) known from now on if it is new; return each one's
    ``since`` (events written before it are not queued for it)."""
    with store._write() as conn:
        known = {r.name: as_utc(r.since) for r in conn.execute(
            select(outbox_sinks.c.name, outbox_sinks.c.since)
            .where(outbox_sinks.c.name.in_(list(sinks))))}
        new = [name for name in sinks if name not in known]
        if new:
            when = now()
            conn.execute(insert(outbox_sinks), [{"name": n, "kind": sinks[n], "since": when}
                                                for n in new])
            known.update(dict.fromkeys(new, when))
    return {name: known[name] for name in sinks}


@db_errors
def fan_out(store: Store, since: Mapping[str, datetime], batch: int) -> int:
    """Queue up to ``batch`` events not yet queued (oldest first) for every sink in
    ``since`` that is older than the event; return how many events were handled."""
    with store._write() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.created_at)
                            .where(outbox.c.fanned.is_(False)).order_by(outbox.c.id)
                            .limit(batch).with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        when = now()
        queued = [{"sink": sink, "event_id": row.id, "state": PENDING, "tries": 0,
                   "next_at": when, "error": None, "updated_at": when}
                  for row in rows for sink, start in since.items()
                  if as_utc(row.created_at) >= start]
        if queued:
            conn.execute(insert(outbox_deliveries), queued)
        conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                     .values(fanned=True))
    return len(rows)


@dataclass(frozen=True)
class Due:
    """A pending delivery whose time has come."""

    event_id: str
    tries: int          # failed tries so far
    payload: dict[str, Any]


@db_errors
def due(store: Store, sink: str, batch: int) -> list[Due]:
    """Up to ``batch`` of ``sink``'s pending deliveries that are due, longest waiting first."""
    query = (select(d.event_id, d.tries, outbox.c.payload)
             .join(outbox, outbox.c.id == d.event_id)
             .where(d.sink == sink, d.state == PENDING, d.next_at <= now())
             .order_by(d.next_at, d.event_id).limit(batch))
    with store.engine.connect() as conn:
        return [Due(r.event_id, r.tries, r.payload) for r in conn.execute(query)]


@dataclass(frozen=True)
class Failure:
    event_id: str
    tries: int               # tries including this one
    next_at: datetime        # when to try again (ignored when dead)
    error: str
    dead: bool


@db_errors
def settle(store: Store, sink: str, delivered: Sequence[str],
           failed: Sequence[Failure]) -> None:
    """Record a batch's outcome: delivered ones done, failed ones tried again from their
    ``next_at`` or dead. Only pending rows change (a delivery is settled once)."""
    if not delivered and not failed:
        return
    when = now()
    with store._write() as conn:
        if delivered:
            conn.execute(update(outbox_deliveries)
                         .where(d.sink == sink, d.event_id.in_(list(delivered)),
                                d.state == PENDING)
                         .values(state=DELIVERED, tries=d.tries + 1, error=None,
                                 updated_at=when))
        if failed:
            conn.execute(update(outbox_deliveries)
                         .where(d.sink == sink, d.event_id == bindparam("e"),
                                d.state == PENDING)
                         .values(state=bindparam("s"), tries=bindparam("t"),
                                 next_at=bindparam("n"), error=bindparam("x"),
                                 updated_at=when),
                         [{"e": f.event_id, "s": DEAD if f.dead else PENDING, "t": f.tries,
                           "n": f.next_at, "x": f.error[:2000]} for f in failed])


@dataclass(frozen=True)
class SinkStatus:
    """One sink's figures (``queued``: events written after it was first seen that no worker
    has queued yet; they count as pending)."""

    name: str
    kind: str | None
    since: datetime | None       # first seen by a worker (None: never yet)
    pending: int
    delivered: int
    dead: int
    queued: int
    oldest_pending: datetime | None
    last_delivered: datetime | None
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        iso = (lambda t: None if t is None else t.isoformat())
        return {"name": self.name, "kind": self.kind, "since": iso(self.since),
                "pending": self.pending + self.queued, "delivered": self.delivered,
                "dead": self.dead, "oldest_pending": iso(self.oldest_pending),
                "last_delivered": iso(self.last_delivered), "last_error": self.last_error}


@db_errors
def status(store: Store, names: Sequence[str] = ()) -> list[SinkStatus]:
    """The figures of the sinks ``names`` (configured) and of every sink a worker has seen."""
    with store.engine.connect() as conn:
        seen = {r.name: r for r in conn.execute(select(outbox_sinks))}
        counts: dict[tuple[str, str], Any] = {
            (r.sink, r.state): r for r in conn.execute(
                select(d.sink, d.state, func.count().label("n"),
                       func.min(d.next_at).label("first"), func.max(d.updated_at).label("last"))
                .group_by(d.sink, d.state))}
        result = []
        for name in [*names, *sorted(set(seen) - set(names))]:
            sink = seen.get(name)
            queued = 0 if sink is None else conn.execute(
                select(func.count()).select_from(outbox)
                .where(outbox.c.fanned.is_(False), outbox.c.created_at >= sink.since)).scalar_one()
            error = conn.execute(select(d.error).where(d.sink == name, d.error.is_not(None))
                                 .order_by(d.updated_at.desc()).limit(1)).scalar()
            pending, done, dead = (counts.get((name, s)) for s in STATES)
            result.append(SinkStatus(
                name=name, kind=None if sink is None else sink.kind,
                since=None if sink is None else as_utc(sink.since),
                pending=pending.n if pending else 0, delivered=done.n if done else 0,
                dead=dead.n if dead else 0, queued=queued,
                oldest_pending=as_utc(pending.first) if pending else None,
                last_delivered=as_utc(done.last) if done else None, last_error=error))
    return result


@db_errors
def retry(store: Store, sink: str | None = None) -> int:
    """Queue the dead deliveries (of ``sink``, or of every sink) again with fresh tries;
    return how many."""
    condition = d.state == DEAD if sink is None else and_(d.state == DEAD, d.sink == sink)
    with store._write() as conn:
        return conn.execute(update(outbox_deliveries).where(condition)
                            .values(state=PENDING, tries=0, next_at=now(),
                                    updated_at=now())).rowcount


@db_errors
def replay(store: Store, sink: str, kind: str, since: datetime) -> int:
    """Queue for ``sink`` every event written since ``since`` that was never queued for it
    (history a sink added later did not get); return how many."""
    when = now()
    register(store, {sink: kind})
    with store._write() as conn:
        missing = ~exists().where(d.sink == sink, d.event_id == outbox.c.id)
        rows = select(literal(sink), outbox.c.id, literal(PENDING), literal(0), literal(when),
                      null(), literal(when)).where(outbox.c.fanned.is_(True),
                                                   outbox.c.created_at >= since, missing)
        return len(conn.execute(insert(outbox_deliveries).from_select(
            ["sink", "event_id", "state", "tries", "next_at", "error", "updated_at"],
            rows).returning(d.event_id)).all())


@db_errors
def prune(store: Store, before: datetime) -> tuple[int, int]:
    """Delete the deliveries delivered before ``before``, then the events written before it
    that no sink still has pending or dead; return (deliveries, events) deleted. The audit
    trail (rating_events) keeps every event."""
    with store._write() as conn:
        deliveries = conn.execute(delete(outbox_deliveries).where(
            d.state == DELIVERED, d.updated_at < before)).rowcount
        events = conn.execute(delete(outbox).where(
            outbox.c.fanned.is_(True), outbox.c.created_at < before,
            ~exists().where(d.event_id == outbox.c.id))).rowcount
    return deliveries, events


@db_errors
def holder(store: Store) -> tuple[str, datetime] | None:
    """The process that delivers (host:pid) and until when its lease runs, if any."""
    with store.engine.connect() as conn:
        row = conn.execute(select(outbox_leases.c.holder, outbox_leases.c.expires_at)
                           .where(outbox_leases.c.name == "worker")).first()
    return None if row is None else (row.holder, as_utc(row.expires_at))
