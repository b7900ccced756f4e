"""Reviewers' corrections in the training exports, on SQLite and PostgreSQL: sft gets the
corrected answer, dpo the correction chosen over an answer rated below the top; marked
``"source": "correction"``; consent and the date window apply; the answer is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from chatfeedback.review import QueueFilter, Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store.schema import review_corrections

from .test_exports import SFT, assistant, export, hand_built, msgs, read_jsonl, sys_user

pytestmark = pytest.mark.all_databases
__all__ = ["hand_built"]  # the fixture, used by name
OLD = datetime(2000, 1, 1, 12, tzinfo=UTC)


def correct(store, corrections: dict[str, str]) -> None:
    """A reviewer goes through a queue of every answer, writing ``corrections``."""
    review = Review(store, parse_criteria(None, "t"))
    queue = review.create_queue(f"q{len(review.queues())}", QueueFilter(), k=1)
    while (item := review.next_item(queue, "ann@example.org")) is not None:
        if item.message_id in corrections:
            review.submit(queue, item.id, "ann@example.org", {"good": 0},
                          correction=corrections[item.message_id])
        else:
            review.skip(item.id, "ann@example.org", "not this one")


def test_corrections_in_sft_and_dpo(store, hand_built, db_url, tmp_path):
    d = store.create_conversation(model="m2", training_consent=True).id
    question = store.add_message(d, "user", "Unrated question").id
    unrated = store.add_message(d, "assistant", "meh", parent_id=question, model="m2").id
    correct(store, {
        hand_built["lyon"]: "Paris is the capital.",      # rated 👎: a DPO pair as well
        hand_built["hello"]: "Hello there!",              # rated 👍, the top: sft only
        hand_built["ok"]: "Fine.",                        # no training consent: nowhere
        unrated: "A good answer.",                        # an unrated conversation joins
        hand_built["violets"]: "Violets  are blue",       # 5★: top; sft only
    })
    out, err = export(db_url, tmp_path, "sft")
    rows = read_jsonl(out)
    corrections = [r for r in rows if r["source"] == "correction"]
    assert [r for r in rows if r["source"] == "rating"] == SFT
    assert sorted(r["messages"][-1]["content"] for r in corrections) == [
        "A good answer.", "Hello there!", "Paris is the capital.", "Violets  are blue"]
    assert {"messages": sys_user("Hi", "Hello!", "Capital of France?",
                                 "Paris is the capital."),
            "source": "correction"} in corrections
    assert {"messages": msgs("Unrated question", "A good answer."),
            "source": "correction"} in corrections
    assert "Fine." not in out.read_text()
    assert "4 of the rows are reviewers' corrections" in err

    out, err = export(db_url, tmp_path, "dpo")
    assert read_jsonl(out)[-1] == {
        "prompt": sys_user("Hi", "Hello!", "Capital of France?"),
        "chosen": assistant("Paris is the capital."), "rejected": assistant("Lyon"),
        "source": "correction"}
    assert "dpo: 2 rows, 2 pairs" in err
    assert store.message(hand_built["lyon"]).content == "Lyon"  # never overwritten


def test_a_correction_equal_to_its_answer_is_no_pair(store, hand_built, db_url, tmp_path):
    correct(store, {hand_built["lyon"]: "  Lyon "})
    out, err = export(db_url, tmp_path, "dpo")
    assert [r["source"] for r in read_jsonl(out)] == ["rating"]
    assert "1 pairs whose chosen and rejected texts are the same" in err


def test_the_window_applies_to_when_the_correction_was_written(store, hand_built, db_url,
                                                               tmp_path):
    correct(store, {hand_built["lyon"]: "Paris is the capital."})
    with store.engine.begin() as conn:  # written long before today's ratings
        conn.execute(update(review_corrections).values(created_at=OLD))
    today = datetime.now(UTC).date()
    out, _ = export(db_url, tmp_path, "sft", "--since", today.isoformat())
    assert [r["source"] for r in read_jsonl(out)] == ["rating"] * 3
    out, _ = export(db_url, tmp_path, "sft", "--until", "2000-01-02")
    assert read_jsonl(out) == [{"messages": sys_user("Hi", "Hello!", "Capital of France?",
                                                     "Paris is the capital."),
                                "source": "correction"}]
    out, _ = export(db_url, tmp_path, "sft", "--until", "2000-01-02", "--model", "m2")
    assert read_jsonl(out) == []  # lyon is m1's
