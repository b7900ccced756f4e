"""The context stored with each answer is what the model was sent, and the training exports
build their prompts from it: checked against the requests the OpenAI-protocol server on
127.0.0.1 received, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.history import context as rule
from chatfeedback.store import Store
from chatfeedback.store.store import alembic_config

from .openai_server import Script
from .test_openai_backend import model_entry

pytestmark = pytest.mark.all_databases


def answer(service, conversation_id: str | None, prompt: str, *, stop_at: str | None = None):
    """Send ``prompt`` and stream its answer (stopping once ``stop_at`` has arrived)."""
    turn = service.send(conversation_id, prompt)
    return stream(service, turn.answer, stop_at=stop_at)


def stream(service, row, *, stop_at: str | None = None):
    reply = service.reply(row)
    for _ in reply.pieces(idle=0.05):  # as the page reads it: held-back text comes when idle
        if stop_at and stop_at in reply.text:
            reply.stop()
    return reply.message


def export(db_url: str, tmp_path: Path, fmt: str) -> list[dict]:
    out = tmp_path / f"out.{fmt}.jsonl"
    result = CliRunner().invoke(main, ["export", "--format", fmt, "-o", str(out), "--db",
                                       db_url])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_training_prompts_are_the_requests_the_model_received(make_service, openai_server,
                                                              db_url, tmp_path):
    """An imported conversation continued in the chat, with complete, failed (before and
    after some text), stopped and regenerated turns, an earlier turn regenerated and then
    switched back: every exported prompt of every answer is exactly the request the
    model server logged for that answer, and imported answers get the log before them."""
    service = make_service('[feedback]\nmode = "changeable"\n'
                           + model_entry(openai_server.base_url, system_prompt="Be brief."))
    store = service.store
    imported = store.import_conversation(
        [("system", "You are terse."), ("user", "imp one"), ("assistant", "Imported one."),
         ("user", "imp two"), ("assistant", "Imported two.")], model="llm")
    conv = imported.id
    held = threading.Event()
    openai_server.reply(
        Script(text="Fine."),
        Script(status=500, error="the GPU fell over"),                 # error, no text
        Script(text="Half an", finish_reason=None, done=False),        # error after text
        # stopped: the model holds back its third piece until the test has stopped it
        Script(text=["Stopped ", "here ", "and ", "more"], gate=held, gate_after=2),
        Script(text="Five A."), Script(text="Five B."),                # regenerated
        Script(text="One again."),                                     # an earlier turn
        Script(text="Six."), Script(text="Seven."))
    sent: dict[str, list[dict[str, str]]] = {}  # answer id -> the request the server got

    def logged(message) -> None:
        sent[message.id] = openai_server.requests[-1].messages

    one = answer(service, conv, "one")
    logged(one)
    for prompt in ("two", "three"):
        logged(answer(service, conv, prompt))
    stopped = answer(service, conv, "four", stop_at="here")
    held.set()
    assert (stopped.status, stopped.content) == ("stopped", "Stopped here ")
    logged(stopped)
    five_a = answer(service, conv, "five")
    logged(five_a)
    five_b = stream(service, service.regenerate(five_a.id))
    logged(five_b)
    one_again = stream(service, service.regenerate(one.id))  # turn "one" gets version 2
    logged(one_again)
    logged(answer(service, conv, "six"))
    store.select_version(one.id)  # back to version 1 of "one" before the next prompt
    seven = answer(service, conv, "seven")
    logged(seven)
    assert len(openai_server.requests) == len(sent) == 9

    # The requests themselves follow the rule: a failed turn is left out, prompt and all.
    assert [(m["role"], m["content"]) for m in sent[seven.id]] == [
        ("system", "Be brief."), ("system", "You are terse."), ("user", "imp one"),
        ("assistant", "Imported one."), ("user", "imp two"), ("assistant", "Imported two."),
        ("user", "one"), ("assistant", "Fine."), ("user", "four"),
        ("assistant", "Stopped here "), ("user", "five"), ("assistant", "Five B."),
        ("user", "six"), ("assistant", "Six."), ("user", "seven")]
    assert sent[five_a.id] == sent[five_b.id]

    # Rate every answer (versions differently, for DPO pairs), allow training use.
    answers = [m for m in _all_answers(store, conv)]
    for n, message in enumerate(answers):
        store.rate(message.id, n % 2, scale="thumbs")
    store.rate(five_a.id, 0, scale="thumbs")
    store.rate(five_b.id, 1, scale="thumbs")
    store.rate(one.id, 1, scale="thumbs")
    store.rate(one_again.id, 0, scale="thumbs")
    store.set_training_consent(conv, True)
    by_text = {m.content: m for m in answers}
    imported_ids = [m.id for m in answers if m.content.startswith("Imported")]
    expected = dict(sent)
    for message_id in imported_ids:  # imported answers: the log before them, by the rule
        expected[message_id] = [{"role": m.role, "content": m.content}
                                for m in store.context(message_id)]
    assert expected[imported_ids[1]] == [
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "imp one"},
        {"role": "assistant", "content": "Imported one."},
        {"role": "user", "content": "imp two"}]

    kto = export(db_url, tmp_path, "kto")
    complete = [m for m in answers if m.status == "complete" and m.content]
    assert sorted(row["completion"][0]["content"] for row in kto) == sorted(
        m.content for m in complete)
    for row in kto:
        assert row["prompt"] == expected[by_text[row["completion"][0]["content"]].id]
    dpo = export(db_url, tmp_path, "dpo")
    assert sorted((r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in dpo) == [
        ("Fine.", "One again."), ("Five B.", "Five A.")]
    for row in dpo:
        for side in ("chosen", "rejected"):
            assert row["prompt"] == expected[by_text[row[side][0]["content"]].id]
    sft = export(db_url, tmp_path, "sft")
    assert sft
    for row in sft:
        assert row["messages"][:-1] == expected[by_text[row["messages"][-1]["content"]].id]
    # The chat sends the stored context too: the same words, read back.
    for message_id, request in sent.items():
        assert service.history(store.message(message_id)) == request


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def _all_answers(store: Store, conversation_id: str):
    shown = store.messages(conversation_id)
    return [v for m in shown if m.role == "user" for v in store.versions(m.id)] + [
        m for m in shown if m.role == "assistant" and m.parent_id is None]


def test_a_long_conversation_stores_each_exchange_once(store):
    """300 imported turns: the stored ids grow with the turns, not with their square, and
    every answer's context reads back as the rule gives it."""
    turns = [item for n in range(300) for item in (("user", f"q{n}"), ("assistant", f"a{n}"))]
    conv = store.import_conversation(turns)
    shown = store.messages(conv.id)
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT context_from, context FROM messages WHERE role = 'assistant'").all()
    assert sum(len((ids or "").split()) + (base is not None) for base, ids in stored) == 2 * 300 - 1
    answers = [m for m in shown if m.role == "assistant"]
    contexts = store.contexts(m.id for m in answers)
    for message in answers:
        assert ids(contexts[message.id]) == ids(rule(message, shown))
    assert [m.content for m in contexts[answers[-1].id]][-3:] == ["q298", "a298", "q299"]
    assert len(contexts[answers[-1].id]) == 599


def test_migration_fills_the_context_of_answers_written_before_it(store, db_url):
    """A database from before the stored context (revision 0011) with a conversation of
    every kind of turn: after the upgrade each answer's stored context is what the rule
    gives it on the conversation as it is (the migration's copy agrees with history.py)."""
    conv = store.import_conversation([("system", "S"), ("assistant", "Hello!"),
                                      ("user", "one"), ("assistant", "Fine.")], model="m")
    fine = [m for m in store.messages(conv.id) if m.role == "assistant"][-1]
    failed = store.add_message(conv.id, "user", "two")
    store.add_message(conv.id, "assistant", "Half", parent_id=failed.id, status="error")
    three = store.add_message(conv.id, "user", "three")
    old = store.add_message(conv.id, "assistant", "Three A.", parent_id=three.id)
    store.add_message(conv.id, "assistant", "Three B.", parent_id=three.id)
    store.select_version(old.id)
    four = store.add_message(conv.id, "user", "four")
    store.add_message(conv.id, "assistant", "", parent_id=four.id, status="stopped")
    five = store.add_message(conv.id, "user", "five")
    store.add_message(conv.id, "assistant", "Five.", parent_id=five.id)
    store.add_message(fine.conversation_id, "assistant", "Fine, again.",
                      parent_id=fine.parent_id)
    store.select_version(fine.id)
    with store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    store.upgrade()
    shown = store.messages(conv.id)
    answers = [v for m in shown if m.role == "user" for v in store.versions(m.id)] + [
        m for m in shown if m.role == "assistant" and m.parent_id is None]
    assert len(answers) == 8
    for message in answers:
        assert ids(store.context(message.id)) == ids(rule(message, shown)), message.content
    assert [m.content for m in store.context(answers[-2].id)] == [  # "Five."
        "S", "one", "Fine.", "three", "Three A.", "five"]
