"""The rule for what an answer's request contains: which earlier turns go, so that roles
always alternate (history.py; the Store keeps its result with each answer)."""

from __future__ import annotations

from chatfeedback.history import context, contexts, request
from chatfeedback.store import Message


def history_for(answer: Message, messages: list[Message]) -> list[dict[str, str]]:
    return request(answer.system_prompt, ((m.role, m.content) for m in context(answer, messages)))


def conversation(*turns: tuple[str, str, str] | tuple[str, str, str, str]) -> list[Message]:
    """Messages as store.messages returns them: ``(prompt, answer, status[, role])`` per
    turn; role "system" makes the turn a lone system message, "greeting" a lone answer."""
    out: list[Message] = []
    for n, (prompt, answer, status, *kind) in enumerate(turns):
        if kind == ["system"]:
            out.append(Message(f"s{n}", "c", None, n, "system", prompt))
            continue
        if kind != ["greeting"]:
            out.append(Message(f"u{n}", "c", None, n, "user", prompt))
        out.append(Message(f"a{n}", "c", f"u{n}" if kind != ["greeting"] else None, n,
                           "assistant", answer, status=status))
    return out


def sent(messages: list[Message], system_prompt: str | None = None) -> list[tuple[str, str]]:
    answer = messages[-1]
    if system_prompt:
        answer = Message(**{**answer.__dict__, "system_prompt": system_prompt})
    return [(m["role"], m["content"]) for m in history_for(answer, messages)]


def test_complete_and_stopped_answers_are_kept_failed_turns_left_out():
    messages = conversation(
        ("one", "Fine.", "complete"),
        ("two", "", "error"),                  # failed before any text
        ("three", "Half an", "error"),         # failed mid-answer (or interrupted by a crash)
        ("four", "Stopped here", "stopped"),   # the person stopped it and read it
        ("five", "", "stopped"),               # stopped before the first token
        ("six", "   ", "complete"),            # the model said nothing
        ("seven", "still going", "streaming"), # being written in another tab
        ("now", "", "streaming"))              # the answer being asked for
    assert sent(messages, "Be brief.") == [
        ("system", "Be brief."), ("user", "one"), ("assistant", "Fine."),
        ("user", "four"), ("assistant", "Stopped here"), ("user", "now")]


def test_regenerating_an_earlier_answer_sends_only_what_came_before_it():
    messages = conversation(("one", "Fine.", "complete"), ("two", "", "error"),
                            ("three", "Good.", "complete"))
    answer = Message("new", "c", "u1", 1, "assistant", "", status="streaming")
    assert [(m["role"], m["content"]) for m in history_for(answer, messages)] == [
        ("user", "one"), ("assistant", "Fine."), ("user", "two")]


def test_imported_system_messages_stay_and_a_greeting_without_prompt_goes():
    messages = conversation(("Hi, how can I help?", "Hi, how can I help?", "complete",
                             "greeting"),
                            ("You are terse.", "", "", "system"),
                            ("one", "Fine.", "complete"), ("now", "", "streaming"))
    assert sent(messages) == [("system", "You are terse."), ("user", "one"),
                              ("assistant", "Fine."), ("user", "now")]


def test_roles_alternate_whatever_failed():
    statuses = ["complete", "error", "stopped", "streaming"]
    turns = [(f"p{i}", "text" if i % 3 else "", statuses[i % 4]) for i in range(12)]
    roles = [r for r, _ in sent(conversation(*turns, ("now", "", "streaming")))]
    assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
    assert len(roles) > 1


def test_one_pass_gives_every_version_its_own_context():
    """Over a whole conversation with every version, each answer gets what it would be
    sent on its own; versions of one turn never see each other, and only the selected
    version of an earlier turn is sent."""
    messages = conversation(("one", "Fine.", "complete"), ("two", "Good.", "complete"),
                            ("three", "", "streaming"))
    first = Message("a0v2", "c", "u0", 0, "assistant", "Better.", version=2, selected=False)
    everything = messages[:2] + [first] + messages[2:]
    found = {answer.id: [m.id for m in sent] for answer, sent in contexts(everything)}
    assert found == {"a0": ["u0"], "a0v2": ["u0"], "a1": ["u0", "a0", "u1"],
                     "a2": ["u0", "a0", "u1", "a1", "u2"]}
    for answer, sent in contexts(everything):
        assert sent == context(answer, [m for m in everything if m.selected])
