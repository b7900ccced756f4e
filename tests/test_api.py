"""The Python API (``import chatfeedback``): logging, rating, the rules and the errors, on a
real SQLite file and a real PostgreSQL database; and what importing the package costs."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import chatfeedback
from chatfeedback.analytics import Analytics
from chatfeedback.cli import main
from chatfeedback.store import Store
from chatfeedback.store.schema import outbox

pytestmark = pytest.mark.all_databases

SRC = Path(chatfeedback.__file__).parent


def export(db_url: str, fmt: str = "jsonl") -> list[dict]:
    result = CliRunner().invoke(main, ["export", "--format", fmt, "--db", db_url])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_log_rate_comment_tag_as_the_chat_does(db_url):
    with chatfeedback.connect(db_url) as fb:
        turn = fb.log("What is 2 + 2?", "4", model="my-model", user="ann@example.org",
                      system_prompt="Be brief.", trace_id="trace-0001", meta={"ticket": 7},
                      settings={"temperature": 0.2}, latency_ms=120.0, prompt_tokens=12,
                      completion_tokens=1)
        assert (turn.conversation.owner, turn.conversation.model) == ("ann@example.org",
                                                                    "my-model")
        assert turn.conversation.meta == {"ticket": 7} and turn.conversation.source == "api"
        answer = turn.answer
        assert (answer.content, answer.model, answer.trace_id, answer.total_tokens) == (
            "4", "my-model", "trace-0001", 13)
        assert answer.shown_at is not None  # the person saw it (exposure)

        rating = fb.rate(answer.id, 1, rater="ann@example.org")
        assert (rating.value, rating.scale, rating.rater) == (1, "thumbs", "ann@example.org")
        fb.comment(answer.id, "short and right", rater="ann@example.org")
        rating = fb.tag(answer.id, ["Accurate", "Clear"], rater="ann@example.org")
        assert (rating.comment, rating.tags) == ("short and right", ("Accurate", "Clear"))
        assert fb.rating(answer.id) == rating

        totals = Analytics(fb.service.store).totals()  # the running totals count it
        assert (totals.answers, totals.shown, totals.rated, totals.positive) == (1, 1, 1, 1)

    # The CLI reads it back like a rating given in the chat: the row and the audit trail.
    rows = export(db_url)
    assert [(r["prompt"], r["response"], r["model"], r["rating"], r["comment"], r["tags"])
            for r in rows] == [("What is 2 + 2?", "4", "my-model", 1, "short and right",
                                ["Accurate", "Clear"])]
    assert (rows[0]["settings"], rows[0]["system_prompt"], rows[0]["trace_id"],
            rows[0]["latency_ms"], rows[0]["total_tokens"]) == (
        {"temperature": 0.2}, "Be brief.", "trace-0001", 120.0, 13)
    events = export(db_url, "events")
    assert [(e["action"], e["actor"]) for e in events] == [
        ("set", "ann@example.org"), ("comment", "ann@example.org"),
        ("tags", "ann@example.org")]
    # ... and the outbox, for the sinks, in the same transactions, with the trace id.
    store = Store.open(db_url)
    with store.engine.connect() as conn:
        sent = [r.payload for r in conn.execute(select(outbox).order_by(outbox.c.id))]
    store.close()
    assert [(p["action"], p["value"], p["model"], p["trace_id"], p["actor"]) for p in sent] == [
        (action, 1, "my-model", "trace-0001", "ann@example.org")
        for action in ("set", "comment", "tags")]
    assert [p["id"] for p in sent] == [e["id"] for e in events]


def test_a_continued_conversation_keeps_each_answers_context(db_url):
    with chatfeedback.connect(db_url) as fb:
        first = fb.log("Hi", "Hello!", model="m", user="bo")
        second = fb.log("And you?", "Fine.", model="m", user="bo",
                        conversation=first.conversation.id)
        assert second.conversation.id == first.conversation.id
        assert [m.content for m in fb.messages(first.conversation.id)] == [
            "Hi", "Hello!", "And you?", "Fine."]
        # What the second answer was sent, kept by the Store's rule (history.py).
        assert fb.service.store.sent(second.answer.id) == [
            ("user", "Hi"), ("assistant", "Hello!"), ("user", "And you?")]
        with pytest.raises(chatfeedback.NotFound):  # another user's conversation
            fb.log("x", "y", model="m", user="eve", conversation=first.conversation.id)


def test_the_rating_mode_applies(db_url):
    with chatfeedback.connect(db_url) as fb:  # locked by default
        answer = fb.log("q", "a", model="m").answer
        fb.rate(answer.id, 0)
        with pytest.raises(chatfeedback.FeedbackError, match="ratings are locked"):
            fb.rate(answer.id, 1)
    with chatfeedback.connect(db_url, scale="stars", mode="changeable") as fb:
        answer = fb.log("q", "a", model="m").answer
        fb.rate(answer.id, 5, rater="ann")
        assert fb.rate(answer.id, 2, rater="ann").value == 2
        assert fb.clear(answer.id, rater="ann").value is None
    assert [e["action"] for e in export(db_url, "events")] == ["set", "set", "change", "clear"]


def test_a_side_by_side_comparison_and_its_vote(db_url):
    with chatfeedback.connect(db_url) as fb:
        battle = fb.log_battle("Name a colour", ("model-x", "Blue."), ("model-y", "**Red**"),
                               voter="ann@example.org")
        assert (battle.model_a, battle.model_b, battle.status) == ("model-x", "model-y",
                                                                   "open")
        vote = fb.vote(battle.id, "model_b", voter="ann@example.org")
        assert (vote.winner, vote.voter) == ("model_b", "ann@example.org")
        with pytest.raises(chatfeedback.FeedbackError, match="votes are locked"):
            fb.vote(battle.id, "model_a", voter="ann@example.org")
        with pytest.raises(chatfeedback.FeedbackError, match="unknown winner 'b'"):
            fb.vote(fb.log_battle("q", ("x", "1"), ("y", "2"), voter="bo").id, "b")
        with pytest.raises(chatfeedback.FeedbackError, match="two different models"):
            fb.log_battle("q", ("x", "1"), ("x", "2"), voter="bo")
        # The arena's own counts (the leaderboard's input) have it; the chat's list not.
        assert fb.service.store.arena_counts() == [
            ("ann@example.org", "model-x", "model-y", "model_b", 1, 1.0)]
        assert fb.service.store.list_conversations() == []
    votes = export(db_url, "votes")
    assert [(v["model_a"], v["model_b"], v["winner"], v["judge"]) for v in votes] == [
        ("model-x", "model-y", "model_b", "ann@example.org")]
    assert votes[0]["conversation_b"] == [{"role": "user", "content": "Name a colour"},
                                          {"role": "assistant", "content": "**Red**"}]
    assert [e["action"] for e in export(db_url, "events")] == ["vote"]


def test_bad_input_is_a_one_line_error_and_nothing_is_lost(db_url, tmp_path):
    with chatfeedback.connect(db_url) as fb:
        answer = fb.log("q", "a", model="m").answer
        failures = [
            (lambda: fb.rate(answer.id, 3), chatfeedback.FeedbackError,
             "a thumbs rating must be a whole number from 0 to 1, got 3"),
            (lambda: fb.rate(answer.id, True), chatfeedback.FeedbackError, "got True"),
            (lambda: fb.rate("no-such-answer", 1), chatfeedback.NotFound, "Message not found"),
            (lambda: fb.rate(fb.messages(answer.conversation_id)[0].id, 1),
             chatfeedback.FeedbackError, "only answers can be rated"),
            (lambda: fb.comment(answer.id, "why"), chatfeedback.FeedbackError,
             "rate the answer before adding a comment"),
            (lambda: fb.tag(answer.id, "Wrong"), chatfeedback.FeedbackError,
             "tags are a list of strings"),
            (lambda: fb.log("  ", "a", model="m"), chatfeedback.FeedbackError,
             "an empty prompt is not logged"),
            (lambda: fb.log("q", "a", model=""), chatfeedback.FeedbackError, "model's name"),
            (lambda: fb.log("q", "a", model="m", status="done"), chatfeedback.FeedbackError,
             "status is one of complete, stopped, error"),
            (lambda: fb.log("q", "a", model="m", conversation="nope"), chatfeedback.NotFound,
             "Conversation not found"),
        ]
        for call, kind, words in failures:
            with pytest.raises(kind) as caught:
                call()
            assert isinstance(caught.value, chatfeedback.ChatfeedbackError)
            assert words in str(caught.value) and "\n" not in str(caught.value)
        assert fb.rating(answer.id) is None  # nothing half-written
        fb.rate(answer.id, 1)
    with pytest.raises(chatfeedback.ConfigError, match="'feedback.scale' must be one of"):
        chatfeedback.connect(db_url, scale="hearts")
    with pytest.raises(chatfeedback.ConfigError, match="is not a database URL"):
        chatfeedback.connect("feedback.db")
    with pytest.raises(chatfeedback.StoreError, match="cannot open database") as caught:
        chatfeedback.connect(f"sqlite:///{tmp_path}/no/such/folder/x.db")
    assert "\n" not in str(caught.value)


def test_connect_migrates_an_empty_database(db_url):
    chatfeedback.connect(db_url).close()
    store = Store.open(db_url, upgrade=False)
    assert store.revision() == Store.head()
    store.close()


def test_the_package_surface():
    assert chatfeedback.__version__ == version("chatfeedback")
    for name in chatfeedback.__all__:
        assert getattr(chatfeedback, name) is not None
    assert issubclass(chatfeedback.FeedbackError, chatfeedback.ChatfeedbackError)
    with pytest.raises(AttributeError):
        chatfeedback.no_such_name  # noqa: B018
    # PEP 561: the type hints are shipped (the file, and the package data that ships it).
    assert (SRC / "py.typed").is_file()
    pyproject = (SRC.parents[1] / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject


def test_the_public_api_type_checks():
    """``make lint``'s mypy run (strict, on the modules pyproject.toml names): the package's
    own annotations and the examples that use them."""
    root = SRC.parents[1]
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=root, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def loaded_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join("
                          "sorted({m.split('.')[0] for m in sys.modules})))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_package_is_cheap():
    """``import chatfeedback`` loads nothing heavy (the CLI and the UI import the package
    on every start); using the API loads the database layer, never the UI or the
    analysis libraries."""
    bare = loaded_after("import chatfeedback")
    assert not bare & {"sqlalchemy", "alembic", "streamlit", "scipy", "pandas", "numpy",
                       "openai"}
    api = loaded_after("import chatfeedback\nchatfeedback.connect\nchatfeedback.Feedback\n"
                       "chatfeedback.Feedback._arena  # noqa\nimport chatfeedback.arena")
    assert "sqlalchemy" in api  # the test sees the API's modules load
    assert not api & {"streamlit", "scipy", "pandas", "pyarrow", "altair"}
