"""The Review page through AppTest of the real app: who sees it, creating a queue, judging
blind, skipping, progress, agreement and adjudication."""

from __future__ import annotations

import pytest

from chatfeedback.review import QueueFilter, Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store import review_results
from chatfeedback.ui import keys

from .support import REVIEW_SETTINGS
from .test_access import AUTH, open_page, pages

RUBRIC = REVIEW_SETTINGS
CRITERIA = parse_criteria([{"name": "correct", "kind": "scale"},
                           {"name": "tone", "kind": "choice",
                            "options": ["too formal", "right", "too casual"]}], "t")


@pytest.fixture
def answers(store):
    ids = []
    for i in range(3):
        conv = store.import_conversation([("user", f"What is {i} + {i}?"),
                                          ("assistant", f"It is {2 * i}.")], model="m")
        ids.append(next(m.id for m in store.messages(conv.id) if m.role == "assistant"))
    return ids


def signed_in(make_app, email, query=None):
    at = make_app(RUBRIC, query=query, run=False)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
    return at.run()


def by_key(elements, prefix):
    return [e for e in elements if (e.key or "").startswith(prefix)]


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_only_reviewers_and_admins_see_the_review_page(make_app, store):
    for email, expected in [("ann@example.org", True), ("lead@example.org", True),
                            ("eve@example.org", False)]:
        at = signed_in(make_app, email)
        assert ("Review" in pages(at)) is expected, email
    # without sign-in everyone reviews
    at = make_app(RUBRIC)
    assert "Review" in pages(at)


def test_an_admin_creates_a_queue_and_a_reviewer_judges_it(make_app, store, answers):
    at = signed_in(make_app, "lead@example.org")
    at = open_page(at, "Review")
    assert not at.exception, at.exception
    assert "No review queues yet" in at.info[0].value
    at.text_input(key=keys.new_queue("name")).input("first look")
    at.number_input(key=keys.new_queue("k")).set_value(2)
    button(at, "Create queue").click().run()
    assert not at.exception, at.exception
    assert "Created queue 'first look' with 3 items." in at.success[0].value
    assert at.selectbox(key=keys.REVIEW_QUEUE).value == "first look"

    at = open_page(signed_in(make_app, "ann@example.org", {"queue": "first look"}), "Review")
    assert not at.exception, at.exception
    assert "0 of 3 items complete · you judged 0" in at.get("progress")[0].proto.text
    assert not at.chat_message  # nothing is taken by opening the page
    button(at, "Take the next item").click().run()
    assert [m.markdown[0].value for m in at.chat_message] == ["What is 0 + 0?", "It is 0."]
    radios = by_key(at.radio, keys.review("criterion", ""))
    assert [r.label for r in radios] == ["**correct**", "**tone**"]
    assert "Is every statement true?" in [c.value for c in at.caption]
    radios[0].set_value(2)
    button(at, "Submit").click().run()
    assert "missing: tone" in at.error[0].value  # nothing saved, the choice is kept
    by_key(at.radio, keys.review("criterion", ""))[1].set_value("too formal")
    by_key(at.text_area, keys.review("correction", ""))[0].input("It is 0 (zero).")
    button(at, "Submit").click().run()
    assert not at.exception, at.exception
    assert "Saved. Here is the next item." in at.success[0].value
    assert [m.markdown[0].value for m in at.chat_message] == ["What is 1 + 1?", "It is 2."]
    # skip the second item, with a reason
    by_key(at.text_input, keys.review("skip_reason", ""))[0].input("not my field")
    button(at, "Skip").click().run()
    assert "Skipped" in at.success[0].value
    assert [m.markdown[0].value for m in at.chat_message] == ["What is 2 + 2?", "It is 4."]

    review = Review(store, CRITERIA)
    queue = review.queue("first look")
    assert review.progress(queue)["reviewers"]["ann@example.org"] == {
        "open": 1, "done": 1, "skipped": 1, "expired": 0}
    first = review_results.corrections(store, [answers[0]])[answers[0]]
    assert (first["content"], first["author"]) == ("It is 0 (zero).", "ann@example.org")
    # blind: nothing complete yet, so no agreement and no values of ann's on the page
    at.radio(key=keys.REVIEW_VIEW).set_value("Agreement").run()
    assert "Alpha is not defined yet: 0 complete items" in at.info[0].value
    assert not at.expander

    # bob judges the first item differently; it is complete, the admin adjudicates
    at = open_page(signed_in(make_app, "bob@example.org", {"queue": "first look"}), "Review")
    button(at, "Take the next item").click().run()
    assert [m.markdown[0].value for m in at.chat_message] == ["What is 0 + 0?", "It is 0."]
    by_key(at.radio, keys.review("criterion", ""))[0].set_value(5)
    by_key(at.radio, keys.review("criterion", ""))[1].set_value("right")
    button(at, "Submit").click().run()
    assert not at.exception, at.exception
    at.radio(key=keys.REVIEW_VIEW).set_value("Agreement").run()
    expanders = [e.label for e in at.expander]
    assert "Item 1: 2, 5" in expanders and "Item 1: too formal, right" in expanders
    assert not by_key(at.radio, keys.review("final", ""))  # reviewers do not adjudicate

    at = open_page(signed_in(make_app, "lead@example.org", {"queue": "first look"}), "Review")
    at.radio(key=keys.REVIEW_VIEW).set_value("Agreement").run()
    finals = by_key(at.radio, keys.review("final", "correct", ""))
    assert len(finals) == 1
    finals[0].set_value(4)
    button(at, "Set final value").click().run()
    assert not at.exception, at.exception
    assert "Item 1: 2, 5 → 4" in [e.label for e in at.expander]
    gold = {(g["criterion"], g["value"], g["source"]) for g in review.iter_gold(queue)}
    assert gold == {("correct", 4, "adjudicated")}
    at.radio(key=keys.REVIEW_VIEW).set_value("Progress").run()
    progress = at.dataframe[0].value
    assert list(progress["Reviewer"]) == ["ann@example.org", "bob@example.org"]  # not lead


def test_a_typed_address_gives_a_non_reviewer_nothing(make_app, store, answers):
    Review(store, CRITERIA).create_queue("q", QueueFilter())
    at = signed_in(make_app, "eve@example.org", {"queue": "q"})
    assert "Review" not in pages(at)
    assert not at.chat_message


def test_without_sign_in_a_reviewer_types_a_name(make_app, store, answers):
    Review(store, CRITERIA).create_queue("q", QueueFilter())
    at = open_page(make_app(RUBRIC), "Review")
    assert "Type your name to start reviewing." in [i.value for i in at.info]
    at.text_input(key=keys.REVIEW_NAME).input("Ann").run()
    button(at, "Take the next item").click().run()
    assert at.query_params["reviewer"] == ["Ann"] or at.query_params["reviewer"] == "Ann"
    assert [m.markdown[0].value for m in at.chat_message] == ["What is 0 + 0?", "It is 0."]
