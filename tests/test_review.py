"""Review queues on SQLite and PostgreSQL: filters, handing out (k reviewers, never twice,
never beyond k, also under concurrent requests), skips, blind judgements, corrections,
adjudication, gold labels and agreement."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from chatfeedback.errors import ReviewError
from chatfeedback.review import QueueFilter, Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store import Store, review_results
from chatfeedback.store import review as rs
from chatfeedback.store.schema import (
    conversations,
    messages,
    review_assignments,
    review_items,
)

pytestmark = pytest.mark.all_databases

CRITERIA = parse_criteria([
    {"name": "correct", "kind": "scale"},
    {"name": "tone", "kind": "choice", "options": ["too formal", "right", "too casual"]},
], "test")


def answers(store: Store, n: int, *, model: str = "m", batch: str | None = None) -> list[str]:
    ids = []
    for i in range(n):
        conv = store.import_conversation([("user", f"question {i}"), ("assistant", f"answer {i}")],
                                         model=model, import_batch=batch)
        ids.append(next(m.id for m in store.messages(conv.id) if m.role == "assistant"))
    return ids


@pytest.fixture
def review(store: Store) -> Review:
    return Review(store, CRITERIA)


GOOD = {"correct": 4, "tone": "right"}


def test_queue_from_filters(store, review):
    plain = answers(store, 6, model="a")
    other = answers(store, 2, model="b", batch="batch1")
    store.rate(plain[0], 1, scale="thumbs")
    store.rate(plain[1], 0, scale="thumbs")
    store.rate(plain[2], 3, scale="stars")
    store.annotate(plain[1], tags=["Wrong"])
    store.mark_shown([plain[3], plain[0]])

    def chosen(**kw):
        return set(rs.matching_answers(store, QueueFilter(**kw)))

    assert chosen() == set(plain + other)
    assert chosen(model="b") == set(other)
    assert chosen(batch="batch1") == set(other)
    with store.engine.begin() as conn:  # two conversations assigned in an experiment
        for answer_id, arm in ((plain[4], "a"), (plain[5], "b")):
            conv = conn.execute(select(messages.c.conversation_id)
                                .where(messages.c.id == answer_id)).scalar()
            conn.execute(update(conversations).where(conversations.c.id == conv)
                         .values(experiment="tone-test", arm=arm))
    assert chosen(experiment="tone-test") == {plain[4], plain[5]}
    assert chosen(experiment="tone-test", arm="b") == {plain[5]}
    assert chosen(polarity="positive") == {plain[0]}
    assert chosen(polarity="negative") == {plain[1]}
    assert chosen(polarity="neutral") == {plain[2]}
    assert chosen(polarity="unrated") == set(plain[3:] + other)
    assert chosen(tag="Wrong") == {plain[1]}
    assert chosen(shown_unrated=True) == {plain[3]}
    tomorrow = date.today() + timedelta(days=1)
    assert chosen(since=tomorrow) == set()
    assert chosen(until=tomorrow) == set(plain + other)
    sample = rs.matching_answers(store, QueueFilter(sample=3, seed=5))
    assert len(sample) == 3 and sample == rs.matching_answers(store, QueueFilter(sample=3, seed=5))
    # failed answers and prompts are never items
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "q")
    store.add_message(conv.id, "assistant", "partial", parent_id=user.id, status="error")
    assert chosen() == set(plain + other)

    queue = review.create_queue("negatives", QueueFilter(polarity="negative"), k=2,
                                criteria=["correct"], created_by="lead@x")
    assert (queue.items, queue.k, [c.name for c in queue.criteria]) == (1, 2, ["correct"])
    assert review.queue("negatives") == queue
    assert review.queue(queue.id).filter == QueueFilter(polarity="negative")


@pytest.mark.parametrize("kwargs, message", [
    ({"name": " "}, "a queue needs a name"),
    ({"k": 0}, "k (reviewers per item) must be a positive whole number"),
    ({"criteria": ["nope"]}, "unknown criterion 'nope'; the settings define correct, tone"),
    ({"qfilter": QueueFilter(model="none")}, "the filter matches no answers"),
])
def test_bad_queues_are_refused(store, review, kwargs, message):
    answers(store, 1)
    args = {"name": "q", "qfilter": QueueFilter(), **kwargs}
    with pytest.raises(ReviewError, match=re.escape(message)):
        review.create_queue(args.pop("name"), args.pop("qfilter"), **args)


def test_filter_values_are_checked():
    with pytest.raises(ReviewError, match="polarity must be one of"):
        QueueFilter(polarity="happy")
    with pytest.raises(ReviewError, match="sample must be a positive"):
        QueueFilter(sample=0)


def test_a_queue_name_is_unique(store, review):
    answers(store, 1)
    review.create_queue("q", QueueFilter())
    with pytest.raises(ReviewError, match="a queue named 'q' exists already"):
        review.create_queue("q", QueueFilter())


def test_each_item_reaches_k_reviewers_and_nobody_twice(store, review):
    answers(store, 3)
    queue = review.create_queue("q", QueueFilter(), k=2)
    seen: dict[str, list[str]] = {}
    for reviewer in ["ann", "bob", "cat", "ann", "bob", "cat"]:
        item = review.next_item(queue, reviewer)
        assert item is not None
        assert review.next_item(queue, reviewer) == item  # held until judged: a reload resumes
        seen.setdefault(item.id, []).append(reviewer)
        review.submit(queue, item.id, reviewer, GOOD)
    assert sorted(len(r) for r in seen.values()) == [2, 2, 2]
    assert all(len(set(r)) == 2 for r in seen.values())
    assert all(review.next_item(queue, r) is None for r in ["ann", "bob", "cat", "dan"])
    progress = review.progress(queue)
    assert (progress["items"], progress["complete"], progress["judged"]) == (3, 3, 6)
    assert progress["reviewers"]["ann"]["done"] == 2


def test_skip_gives_the_item_to_someone_else(store, review):
    answers(store, 1)
    queue = review.create_queue("q", QueueFilter(), k=1)
    item = review.next_item(queue, "ann")
    with pytest.raises(ReviewError, match="a reason is required"):
        review.skip(item.id, "ann", " ")
    review.skip(item.id, "ann", "not my field")
    assert review.next_item(queue, "ann") is None  # never the same item again
    assert review.next_item(queue, "bob").id == item.id
    with pytest.raises(ReviewError, match="not open for you"):
        review.skip(item.id, "ann", "again")
    reviewers = review.progress(queue)["reviewers"]
    assert reviewers["ann"]["skipped"] == 1 and reviewers["bob"]["open"] == 1
    with store.engine.connect() as conn:
        reason = conn.execute(select(review_assignments.c.reason).where(
            review_assignments.c.reviewer == "ann")).scalar()
    assert reason == "not my field"


def test_a_claim_left_open_too_long_goes_to_another_reviewer(store, review):
    answers(store, 1)
    queue = review.create_queue("q", QueueFilter(), k=1)
    item = review.next_item(queue, "ann")
    assert review.next_item(queue, "bob") is None
    with store.engine.begin() as conn:  # ann walked away an hour ago
        conn.execute(update(review_assignments).values(
            claimed_at=datetime.now().astimezone() - timedelta(hours=1)))
    assert review.next_item(queue, "bob").id == item.id
    with pytest.raises(ReviewError, match="went to other reviewers"):
        review.submit(queue, item.id, "ann", GOOD)
    review.submit(queue, item.id, "bob", GOOD)
    with store.engine.connect() as conn:
        assert conn.execute(select(review_items.c.taken, review_items.c.done)).one() == (1, 1)


def test_judgements_are_checked_and_blind_until_complete(store, review):
    (answer,) = answers(store, 1)
    queue = review.create_queue("q", QueueFilter(), k=2)
    item = review.next_item(queue, "ann")
    for values, message in [({"correct": 4}, "missing: tone"),
                            ({"correct": 9, "tone": "right"}, "9 is not one of 1, 2, 3, 4, 5"),
                            ({"correct": 4, "tone": "rude"}, "'rude' is not one of"),
                            ({**GOOD, "length": 1}, "has no criterion 'length'")]:
        with pytest.raises(ReviewError, match=message):
            review.submit(queue, item.id, "ann", values)
    with pytest.raises(ReviewError, match="not yours to judge"):
        review.submit(queue, item.id, "bob", GOOD)
    review.submit(queue, item.id, "ann", GOOD, correction="  The right answer.  ")
    with pytest.raises(ReviewError, match="not yours to judge"):
        review.submit(queue, item.id, "ann", GOOD)  # once only
    assert review.judgements(queue, item.id, "ann") is None  # blind: bob has not judged
    assert len(review.judgements(queue, item.id, "lead", admin=True)) == 2
    assert review.next_item(queue, "bob").id == item.id
    review.submit(queue, item.id, "bob", {"correct": "2", "tone": "too formal"})
    shown = review.judgements(queue, item.id, "ann")
    assert {(j["reviewer"], j["criterion"], j["value"]) for j in shown} == {
        ("ann", "correct", 4), ("ann", "tone", "right"),
        ("bob", "correct", 2), ("bob", "tone", "too formal")}
    # the correction sits beside the answer, which is unchanged
    assert store.message(answer).content == "answer 0"
    correction = review_results.corrections(store, [answer])[answer]
    assert (correction["content"], correction["author"]) == ("The right answer.", "ann")


def test_adjudication_gold_and_review_rows(store, review):
    ids = answers(store, 3)
    queue = review.create_queue("q", QueueFilter(), k=2, criteria=["correct"])
    items = {}
    for reviewer, values in [("ann", [5, 2, 3]), ("bob", [5, 4, 1])]:
        for value in values:
            item = review.next_item(queue, reviewer)
            items.setdefault(item.position, item)
            review.submit(queue, item.id, reviewer, {"correct": value})
    _, second, third = (items[p] for p in sorted(items))
    with pytest.raises(ReviewError, match="is not one of"):
        review.adjudicate(queue, second.id, "correct", 7, "lead")
    review.adjudicate(queue, second.id, "correct", 4, "lead")
    review.adjudicate(queue, second.id, "correct", 3, "lead")  # the last word counts
    gold = list(review.iter_gold(queue))
    assert [(g["message_id"], g["value"], g["source"]) for g in gold] == [
        (ids[0], 5, "unanimous"), (ids[1], 3, "adjudicated")]  # the third: disagreement
    rows = list(review.iter_reviews(queue))
    assert len(rows) == 6
    assert set(rows[0]) == {"queue", "item", "message_id", "reviewer", "criterion", "value",
                            "time"}
    assert {(r["reviewer"], r["value"]) for r in rows if r["item"] == third.id} == {
        ("ann", 3), ("bob", 1)}
    assert review.adjudications(queue) == {(second.id, "correct"): 3}


def test_agreement_of_a_queue(store, review):
    answers(store, 4)
    queue = review.create_queue("q", QueueFilter(), k=2)
    plan = {"ann": [(1, "right"), (2, "right"), (4, "too casual"), (5, "right")],
            "bob": [(1, "right"), (3, "right"), (4, "too casual"), (5, "too formal")]}
    for reviewer, values in plan.items():
        for correct, tone in values:
            item = review.next_item(queue, reviewer)
            review.submit(queue, item.id, reviewer, {"correct": correct, "tone": tone})
    result = review.agreement(queue, replicates=200)
    assert result["correct"].level == "ordinal" and result["tone"].level == "nominal"
    assert result["correct"].items == 4 and result["correct"].raters == 2
    assert result["correct"].alpha > 0.5
    assert [(p.rater_a, p.rater_b, p.items) for p in result["tone"].pairs] == [("ann", "bob", 4)]
    assert len(result["tone"].widest) == 1


def test_two_reviewers_asking_at_the_same_moment(db_url):
    """Eight reviewers, each with their own connection pool, ask for items at the same
    moment and judge them, until nothing is left: every item is judged by exactly k
    different reviewers, never more."""
    setup = Store.open(db_url)
    answers(setup, 30)
    review = Review(setup, CRITERIA)
    queue = review.create_queue("race", QueueFilter(), k=2, criteria=["correct"])
    reviewers = [f"r{i}" for i in range(8)]
    barrier = threading.Barrier(len(reviewers))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        store = Store.open(db_url, upgrade=False)
        mine = Review(store, CRITERIA)
        try:
            barrier.wait(timeout=60)
            while (item := mine.next_item(queue, name)) is not None:
                mine.submit(queue, item.id, name, {"correct": 3})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert errors == []
    rows = [(r["item"], r["reviewer"]) for r in review.iter_reviews(queue)]
    assert len(rows) == len(set(rows)) == 60
    per_item: dict[str, int] = {}
    for item_id, _ in rows:
        per_item[item_id] = per_item.get(item_id, 0) + 1
    assert sorted(set(per_item.values())) == [2] and len(per_item) == 30
    with setup.engine.connect() as conn:
        counters = conn.execute(select(review_items.c.taken, review_items.c.done,
                                       review_items.c.wanted)).all()
    assert set(counters) == {(2, 2, False)}
    setup.close()


def test_the_reviewer_reads_what_the_answer_was_sent(store, review):
    """The conversation shown is the answer's stored context: a failed turn before it was
    not sent (history.py), nor is a later turn; a regenerated version has its own."""
    conv = store.create_conversation()
    u0 = store.add_message(conv.id, "user", "first")
    store.add_message(conv.id, "assistant", "", parent_id=u0.id, status="error")
    u1 = store.add_message(conv.id, "user", "second")
    a1 = store.add_message(conv.id, "assistant", "two", parent_id=u1.id)
    u2 = store.add_message(conv.id, "user", "third")
    a2 = store.add_message(conv.id, "assistant", "three", parent_id=u2.id)
    a2b = store.add_message(conv.id, "assistant", "three again", parent_id=u2.id,
                            system_prompt="Be brief.")
    queue = review.create_queue("q", QueueFilter(), k=1)  # the failed answer is no item
    seen = {}
    while (item := review.next_item(queue, "ann")) is not None:
        seen[item.message_id] = [m.content for m in review.conversation(item)]
        review.skip(item.id, "ann", "looked")
    assert seen == {a1.id: ["second", "two"],
                    a2.id: ["second", "two", "third", "three"],
                    a2b.id: ["second", "two", "third", "three again"]}
    assert review.conversation(review.item(_item_of(store, a2b.id)))[-1].system_prompt \
        == "Be brief."


def _item_of(store, message_id):
    with store.engine.connect() as conn:
        return conn.execute(select(review_items.c.id).where(
            review_items.c.message_id == message_id)).scalar()
