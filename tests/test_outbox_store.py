"""The outbox table on SQLite and PostgreSQL: every rating event, vote and judgement enters
it in the transaction that writes it; the worker's queue per sink (fan-out from when a sink
is first seen, due, settle), status, retry of dead deliveries and replay of history."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chatfeedback.arena import Arena, interleave
from chatfeedback.errors import FeedbackError
from chatfeedback.outbox.base import Event
from chatfeedback.review import QueueFilter, Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store import Store
from chatfeedback.store import outbox as queue
from chatfeedback.store.engine import now
from chatfeedback.store.schema import outbox, rating_events

pytestmark = pytest.mark.all_databases


def answer(store: Store, model: str = "echo") -> str:
    conv = store.import_conversation([("user", "q"), ("assistant", "a")], model=model)
    return next(m.id for m in store.messages(conv.id) if m.role == "assistant")


def payloads(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [r.payload for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def test_every_rating_event_enters_the_outbox_with_the_state_it_left(store):
    message = answer(store)
    store.rate(message, 1, scale="thumbs", actor="ann@example.org")
    store.rate(message, 0, scale="thumbs", actor="ann@example.org")
    store.annotate(message, comment="Wrong: mail me at ann@example.org", tags=["Wrong"],
                   actor="ann@example.org")
    store.rate(message, None, scale="thumbs", actor="ann@example.org")
    store.rate(message, 1, scale="thumbs", actor="ann@example.org")
    with pytest.raises(FeedbackError):  # refused: nothing written, in the outbox neither
        store.rate(message, 0, scale="thumbs", allow_change=False)
    rows = payloads(store)
    with store.engine.connect() as conn:
        trail = conn.execute(select(rating_events.c.id, rating_events.c.action)
                             .order_by(rating_events.c.id)).all()
    assert [(p["id"], p["action"]) for p in rows] == [tuple(t) for t in trail]
    assert [p["action"] for p in rows] == ["set", "change", "comment", "tags", "clear", "set"]
    assert [p["value"] for p in rows] == [1, 0, 0, 0, None, 1]
    comment, tags = rows[2], rows[3]
    assert comment["comment"] == tags["comment"] == "Wrong: mail me at ann@example.org"
    assert comment["tags"] == tags["tags"] == ["Wrong"]
    assert {p["message_id"] for p in rows} == {message}
    assert {(p["scale"], p["model"], p["actor"]) for p in rows} == \
        {("thumbs", "echo", "ann@example.org")}
    # the keys are the Event's fields, and a stored row reads back as an Event
    assert set(rows[0]) == {f.name for f in fields(Event)}
    event = Event.from_json(rows[0])
    assert event.id == rows[0]["id"] and event.at.startswith(str(now().year))


def test_votes_and_judgements_enter_the_outbox(make_service, store):
    arena = Arena(make_service('[[models]]\nname = "gpt"\nbackend = "echo"\ndelay = 0.0\n'
                               '[[models]]\nname = "llama"\nbackend = "echo"\ndelay = 0.0\n'
                               '[arena]\nmodels = ["gpt", "llama"]\n'))
    turn = arena.start("tea?", voter="cy@example.org")
    for _ in interleave(arena.replies(turn)):
        pass
    arena.finish(turn.round.id)
    arena.vote(turn.round.id, "model_b", actor="cy@example.org")
    criteria = parse_criteria([{"name": "correct", "kind": "scale"},
                               {"name": "tone", "kind": "choice",
                                "options": ["formal", "right"]}], "test")
    review = Review(store, criteria)
    answer(store, model="m")
    q = review.create_queue("all", QueueFilter(model="m"), k=1, criteria=["correct", "tone"],
                            created_by="admin")
    item = review.next_item(q, "rev@example.org")
    review.submit(q, item.id, "rev@example.org", {"correct": 4, "tone": "right"})
    vote, *judged = payloads(store)
    assert (vote["action"], vote["label"], vote["value"], vote["scale"]) == \
        ("vote", "model_b", 1, "arena")
    assert vote["model"] == f"{turn.round.model_a} vs {turn.round.model_b}"
    assert sorted((j["criterion"], j["value"], j["label"]) for j in judged) == \
        [("correct", 4, "4"), ("tone", None, "right")]
    assert {(j["action"], j["actor"], j["model"], j["message_id"]) for j in judged} == \
        {("review", "rev@example.org", "m", item.message_id)}


def test_fan_out_from_when_a_sink_is_first_seen_then_status_retry_replay(store):
    message = answer(store)
    store.rate(message, 1, scale="thumbs", actor="a")           # before any sink: history
    since = queue.register(store, {"hooks": "webhook"})
    store.annotate(message, comment="one", actor="a")
    store.annotate(message, comment="two", actor="a")
    assert queue.fan_out(store, since, batch=1) == 1             # batches
    assert queue.fan_out(store, since, batch=10) == 2
    assert queue.fan_out(store, since, batch=10) == 0            # each event once
    due = queue.due(store, "hooks", batch=10)
    assert [d.payload["comment"] for d in due] == ["one", "two"]  # not the history
    [hooks] = queue.status(store, ["hooks"])
    assert (hooks.pending, hooks.delivered, hooks.dead, hooks.queued) == (2, 0, 0, 0)

    store.annotate(message, comment="three", actor="a")          # written, not yet queued
    [hooks] = queue.status(store, ["hooks"])
    assert hooks.queued == 1 and hooks.as_json()["pending"] == 3
    first, second = due
    queue.settle(store, "hooks", [first.event_id],
                 [queue.Failure(second.event_id, 12, now(), "answered 500", dead=True)])
    queue.settle(store, "hooks", [second.event_id], [])         # settled once: stays dead
    [hooks] = queue.status(store, ["hooks"])
    assert (hooks.pending, hooks.delivered, hooks.dead) == (0, 1, 1)
    assert hooks.last_error == "answered 500" and hooks.last_delivered is not None
    assert queue.retry(store, "other") == 0
    assert queue.retry(store, "hooks") == 1
    assert [(d.event_id, d.tries) for d in queue.due(store, "hooks", 10)] == \
        [(second.event_id, 0)]

    # a later failure waits for its time; a sink added now gets only what comes now
    queue.settle(store, "hooks", [], [queue.Failure(second.event_id, 1,
                                                    now() + timedelta(hours=1), "x", False)])
    assert queue.due(store, "hooks", 10) == []
    since = queue.register(store, {"hooks": "webhook", "late": "webhook"})
    assert queue.fan_out(store, since, batch=10) == 1
    assert [d.payload["comment"] for d in queue.due(store, "late", 10)] == []  # "three" is older
    store.annotate(message, comment="four", actor="a")
    queue.fan_out(store, since, batch=10)
    assert [d.payload["comment"] for d in queue.due(store, "late", 10)] == ["four"]
    # ... unless asked: replay queues what it never got, once
    assert queue.replay(store, "late", "webhook", since["hooks"] - timedelta(days=1)) == 4
    assert queue.replay(store, "late", "webhook", since["hooks"] - timedelta(days=1)) == 0
    assert len(queue.due(store, "late", 10)) == 5
    names = [s.name for s in queue.status(store, ["late"])]
    assert names == ["late", "hooks"]   # configured first, then the others seen before
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 5


def test_prune_deletes_what_was_delivered_and_keeps_what_a_sink_still_needs(store):
    message = answer(store)
    store.rate(message, 1, scale="thumbs", actor="a")            # history: no sink had it
    since = queue.register(store, {"hooks": "webhook"})
    for comment in ("one", "two", "three"):
        store.annotate(message, comment=comment, actor="a")
    queue.fan_out(store, since, batch=10)
    one, two, _ = queue.due(store, "hooks", 10)
    queue.settle(store, "hooks", [one.event_id],
                 [queue.Failure(two.event_id, 12, now(), "gone", dead=True)])
    assert queue.prune(store, now() - timedelta(days=1)) == (0, 0)  # nothing that old
    assert queue.prune(store, now() + timedelta(minutes=1)) == (1, 2)  # "one", the history
    [hooks] = queue.status(store, ["hooks"])
    assert (hooks.delivered, hooks.dead, hooks.pending) == (0, 1, 1)
    assert sorted(p["comment"] for p in payloads(store)) == ["three", "two"]
    with store.engine.connect() as conn:  # the audit trail keeps them all
        assert conn.execute(select(func.count()).select_from(rating_events)).scalar_one() == 4
