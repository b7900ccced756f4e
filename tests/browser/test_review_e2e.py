"""Review for real: `chatfeedback run` with sign-in at a local OpenID Connect provider; an
admin creates a queue of 6 answers with k = 2 on the Review page, two reviewers signed in
at once in their own browser contexts judge blind, one writes a correction, agreement
appears, the admin adjudicates one item, and the downloaded exports carry it."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect

from chatfeedback.store import Store, review_results

from ..support import REVIEW_SETTINGS, Server, signin_app, wait_for_app, write_config
from .test_signin import provider, sign_in  # noqa: F401 - provider is a fixture

SETTINGS = REVIEW_SETTINGS
# what each reviewer says about items 1-6 (in the order they are handed out)
ANN = [(2, "right"), (4, "right"), (5, "too formal"), (3, "right"), (1, "too casual"),
       (4, "right")]
BOB = [(5, "right"), (4, "right"), (5, "right"), (3, "right"), (2, "too casual"),
       (4, "right")]


def open_review(page, app_url: str) -> None:
    page.goto(app_url + "review?queue=six")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Review")).to_be_visible()


def judge(page, correct: int, tone: str, correction: str | None = None) -> None:
    radios = page.get_by_test_id("stRadio")
    radios.filter(has_text="correct").get_by_text(str(correct), exact=True).click()
    radios.filter(has_text="tone").get_by_text(tone, exact=True).click()
    if correction:
        page.get_by_label("Correction (optional)").fill(correction)
    page.get_by_role("button", name="Submit").click()
    wait_for_app(page)
    expect(page.get_by_text("Saved. Here is the next item.")).to_be_visible()


def judge_all(page, app_url: str, plan, first_correction: str | None = None) -> list[str]:
    """Judge every item the queue hands this reviewer; the answers seen, in order."""
    open_review(page, app_url)
    page.get_by_role("button", name="Take the next item").click()
    wait_for_app(page)
    seen = []
    for index, (correct, tone) in enumerate(plan):
        answer = page.get_by_test_id("stChatMessage").last.get_by_test_id("stMarkdownContainer")
        if seen:  # the page has moved on to the next item (never the same one twice)
            expect(answer).not_to_have_text(seen[-1])
            wait_for_app(page)
        seen.append(answer.inner_text().strip())
        judge(page, correct, tone, first_correction if index == 0 else None)
    expect(page.get_by_text("Nothing left for you in this queue")).to_be_visible()
    return seen


def test_two_reviewers_judge_blind_and_an_admin_adjudicates(browser, tmp_path, db_url,
                                                            provider):  # noqa: F811
    store = Store.open(db_url)
    answers = []
    for i in range(6):
        conv = store.import_conversation([("user", f"Question {i}?"),
                                          ("assistant", f"Answer number {i}.")], model="m")
        store.set_training_consent(conv.id, True)
        answers.append(next(m.id for m in store.messages(conv.id) if m.role == "assistant"))
    port, app_url = signin_app(tmp_path, provider)
    config = write_config(tmp_path / "chatfeedback.toml", SETTINGS)
    server = Server(db_url, config, port=port, log=tmp_path / "server.log").start()
    contexts = [browser.new_context(viewport={"width": 1200, "height": 1000})
                for _ in range(3)]
    lead, ann, bob = (c.new_page() for c in contexts)
    for page in (lead, ann, bob):
        page.set_default_timeout(30_000)
    try:
        sign_in(lead, app_url, "lead@example.org")
        open_review(lead, app_url)
        lead.get_by_text("New queue").click()
        lead.get_by_label("Name").fill("six")
        lead.get_by_label("Reviewers per item (k)").fill("2")
        lead.get_by_role("button", name="Create queue").click()
        wait_for_app(lead)
        expect(lead.get_by_text("Created queue 'six' with 6 items.")).to_be_visible()

        sign_in(ann, app_url, "ann@example.org")
        sign_in(bob, app_url, "bob@example.org")  # both signed in at once
        ann_seen = judge_all(ann, app_url, ANN, first_correction="The corrected answer 0.")
        # blind: ann has judged everything, bob nothing; no item is complete, so nothing of
        # ann's is shown as agreement, not even to ann
        ann.get_by_test_id("stRadio").first.get_by_text("Agreement", exact=True).click()
        wait_for_app(ann)
        expect(ann.get_by_text("Alpha is not defined yet: 0 complete items").first).to_be_visible()
        bob_seen = judge_all(bob, app_url, BOB)
        assert ann_seen == bob_seen == [f"Answer number {i}." for i in range(6)]

        # agreement appears for everyone reviewing (here: ann, after a reload)
        open_review(ann, app_url)
        ann.get_by_test_id("stRadio").first.get_by_text("Agreement", exact=True).click()
        wait_for_app(ann)
        expect(ann.get_by_text("Krippendorff's alpha (ordinal)")).to_be_visible()
        expect(ann.get_by_text("Item 1: 2, 5")).to_be_visible()  # the widest, first

        # the admin adjudicates item 1's correctness
        open_review(lead, app_url)
        lead.get_by_test_id("stRadio").first.get_by_text("Agreement", exact=True).click()
        wait_for_app(lead)
        lead.get_by_text("Item 1: 2, 5").click()
        expander = lead.get_by_test_id("stExpander").filter(has_text="Item 1: 2, 5")
        expander.get_by_test_id("stRadio").get_by_text("4", exact=True).click()
        expander.get_by_role("button", name="Set final value").click()
        wait_for_app(lead)
        expect(lead.get_by_text("Item 1: 2, 5 → 4")).to_be_visible()

        # the exports carry it
        lead.get_by_test_id("stSidebarNav").get_by_text("Export").click()
        wait_for_app(lead)
        with lead.expect_download() as download:
            lead.get_by_role("button", name="Gold labels").click()
        gold = [json.loads(line) for line in
                Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
        with lead.expect_download() as download:
            lead.get_by_role("button", name="Review judgements").click()
        reviews = [json.loads(line) for line in
                   Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
        with lead.expect_download() as download:
            lead.get_by_role("button", name="SFT:").click()
        sft = [json.loads(line) for line in
               Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
    finally:
        for context in contexts:
            context.close()
        server.stop()

    by_key = {(g["message_id"], g["criterion"]): (g["value"], g["source"]) for g in gold}
    assert by_key[(answers[0], "correct")] == (4, "adjudicated")
    assert by_key[(answers[0], "tone")] == ("right", "unanimous")
    assert by_key[(answers[1], "correct")] == (4, "unanimous")
    assert (answers[2], "correct") in by_key and (answers[4], "correct") not in by_key
    assert len(reviews) == 24
    assert {r["reviewer"] for r in reviews} == {"ann@example.org", "bob@example.org"}
    correction = review_results.corrections(store, [answers[0]])[answers[0]]
    assert (correction["content"], correction["author"]) == ("The corrected answer 0.",
                                                             "ann@example.org")
    assert store.message(answers[0]).content == "Answer number 0."
    assert {"messages": [{"role": "user", "content": "Question 0?"},
                         {"role": "assistant", "content": "The corrected answer 0."}],
            "source": "correction"} in sft
