"""Importing OpenAI-format JSON Lines: the Store's bulk insert, the parser and the CLI."""

import json

import pytest
from click.testing import CliRunner

from chatfeedback.analytics import Analytics
from chatfeedback.cli import main
from chatfeedback.importer import LineError, parse_line
from chatfeedback.store import Store

pytestmark = pytest.mark.all_databases


def line(messages, **extra):
    return json.dumps({"messages": messages, **extra}, ensure_ascii=False)


def chat(*texts):
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]


def test_store_imports_turns_parents_and_metadata(store):
    conv = store.import_conversation(
        [("system", "be brief"), ("user", "q1"), ("assistant", "a1"), ("user", "q2"),
         ("assistant", "a2"), ("system", "now French"), ("user", "q3")],
        model="gpt-4o", meta={"ticket": 7})
    saved = store.conversation(conv.id)
    assert (saved.source, saved.model, saved.meta, saved.title) == (
        "import", "gpt-4o", {"ticket": 7}, "q1")
    msgs = store.messages(conv.id)
    assert [(m.turn, m.role, m.content) for m in msgs] == [
        (0, "system", "be brief"), (0, "user", "q1"), (0, "assistant", "a1"),
        (1, "user", "q2"), (1, "assistant", "a2"), (2, "system", "now French"),
        (2, "user", "q3")]
    assert msgs[2].parent_id == msgs[1].id and msgs[4].parent_id == msgs[3].id
    assert msgs[2].model == "gpt-4o" and msgs[1].model is None
    assert store.turn_count(conv.id) == 3
    # the dashboard's running totals count the imported answers (as a rebuild would)
    totals = Analytics(store).totals()
    assert (totals.answers, totals.shown) == (2, 0)
    store.rebuild_stats()
    assert Analytics(store).totals() == totals
    # an imported answer is rated and exported like any other
    store.rate(msgs[4].id, 0, scale="thumbs")
    [row] = list(store.iter_rated_answers())
    assert (row["prompt"], row["response"], row["model"]) == ("q2", "a2", "gpt-4o")


def test_store_import_leading_greeting_and_bad_order(store):
    conv = store.import_conversation([("assistant", "Hi! How can I help?"), ("user", "q")])
    msgs = store.messages(conv.id)
    assert [(m.turn, m.role, m.parent_id) for m in msgs] == [(0, "assistant", None),
                                                            (1, "user", None)]
    with pytest.raises(ValueError, match="two assistant"):
        store.import_conversation([("user", "q"), ("assistant", "a"), ("assistant", "b")])


@pytest.mark.parametrize("text, reason", [
    ("{nope", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got a list"),
    ('{"model": "m"}', "'messages' must be a non-empty list"),
    ('{"messages": []}', "'messages' must be a non-empty list"),
    ('{"messages": [{"role": "tool", "content": "x"}]}', "message 1: role 'tool' is not"),
    ('{"messages": [{"role": "user", "content": null}]}', "message 1: 'content' must be"),
    ('{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
     "only text content"),
    ('{"messages": [{"role": "user", "content": "q"}], "model": 3}', "'model' must be"),
    ('{"messages": [{"role": "user", "content": "q"}], "metadata": "x"}',
     "'metadata' must be an object, got a string"),
    (line(chat("q", "a") + [{"role": "assistant", "content": "b"}]),
     "message 3: two assistant messages in a row"),
    (line([{"role": "user", "content": "q", "trace_id": "t1"}]),
     "message 1: only assistant messages can carry a trace_id"),
    (line(chat("q", "a"), trace_id=7), ("'trace_id' must be a non-empty string of at most 200 "
                                        "characters, got a number")),
    (line(chat("q", "a"), trace_id="x" * 201), "'trace_id' must be a non-empty string"),
    (line(chat("q"), trace_id="t1"), "'trace_id' belongs to an answer, and the line has none"),
])
def test_parse_line_rejects_with_a_reason(text, reason):
    with pytest.raises(LineError, match=reason.replace("(", r"\(")):
        parse_line(text)


def test_parse_line_accepts_text_parts_and_developer_role():
    parsed = parse_line(line([{"role": "developer", "content": "sys"},
                              {"role": "user", "content": [{"type": "text", "text": "a"},
                                                           {"type": "text", "text": "b"}]}],
                             model=" m ", extra="ignored"))
    assert parsed.messages == [("system", "sys"), ("user", "ab")] and parsed.model == "m"


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_cli_imports_a_good_file(tmp_path, db_url):
    path = tmp_path / "good.jsonl"
    path.write_text("\n".join([
        line(chat("What is 2+2? 🦜", "4"), model="gpt-4o", metadata={"user": "u1"}),
        line(chat("hi", "hello", "bye", "ciao")),
        "",
    ]) + "\n", encoding="utf-8")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    ids = result.stdout.split()
    assert len(ids) == 2 and "imported 2 conversations" in result.stderr
    store = Store.open(db_url)
    first, second = (store.conversation(i) for i in ids)
    assert first.meta == {"user": "u1"} and first.model == "gpt-4o"
    assert [m.content for m in store.messages(first.id)] == ["What is 2+2? 🦜", "4"]
    assert store.turn_count(second.id) == 2


def test_cli_mixed_file_imports_good_lines_and_reports_bad_ones(tmp_path, db_url):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([
        line(chat("q1", "a1")).encode(),
        b'{"messages": "oops"}',
        line(chat("q2", "a2")).encode(),
        b"not json at all",
        b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}',
    ]) + b"\n")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 1
    ids = result.stdout.split()
    assert len(ids) == 2
    errors = result.stderr.strip().splitlines()
    assert errors[0] == f"{path}:2: 'messages' must be a non-empty list"
    assert errors[1].startswith(f"{path}:4: not valid JSON")
    assert errors[2].startswith(f"{path}:5: not UTF-8 text")
    assert errors[3].startswith("imported 2 conversations; 3 lines failed; import batch ")
    assert len(errors) == 4  # one summary line
    store = Store.open(db_url)
    assert [store.messages(i)[0].content for i in ids] == ["q1", "q2"]
    assert len(store.list_conversations()) == 2


def test_cli_broken_file_and_stdin(tmp_path, db_url):
    path = tmp_path / "broken.jsonl"
    path.write_text("garbage\n[]\n", encoding="utf-8")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 1 and result.stdout == ""
    assert "imported 0 conversations; 2 lines failed" in result.stderr
    missing = run("import", str(tmp_path / "nope.jsonl"), "--db", db_url)
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    piped = run("import", "-", "--db", db_url, input=line(chat("from stdin", "ok")) + "\n")
    assert piped.exit_code == 0 and len(piped.stdout.split()) == 1


def test_cli_import_writes_one_transaction_and_one_bulk_insert_per_conversation(tmp_path,
                                                                                db_url):
    """What keeps a big import fast, counted rather than timed (timings on a shared machine
    are noise; benchmarks/long_chat.py reports the import's speed)."""
    from sqlalchemy import Engine, event

    path = tmp_path / "big.jsonl"
    convo = line(chat(*[f"message {i}" for i in range(20)]), model="m")
    path.write_text((convo + "\n") * 300, encoding="utf-8")
    Store.open(db_url).close()  # migrated beforehand: only the import is counted
    inserts: list[int] = []
    commits: list[int] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGES"):
            inserts.append(len(parameters) if executemany else 1)

    def on_commit(conn):
        commits.append(1)

    event.listen(Engine, "before_cursor_execute", on_execute)
    event.listen(Engine, "commit", on_commit)
    try:
        result = run("import", str(path), "--db", db_url)
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)
        event.remove(Engine, "commit", on_commit)
    assert result.exit_code == 0 and len(result.stdout.split()) == 300
    assert inserts == [20] * 300
    assert len(commits) == 300


def test_cli_imports_trace_ids(tmp_path, db_url):
    """An answer's ``trace_id``, or the line's for its last answer, is stored with it."""
    path = tmp_path / "traced.jsonl"
    first = chat("q1", "a1", "q2", "a2")
    first[1]["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736"
    path.write_text("\n".join([
        line(first, trace_id="req_line"),
        line(chat("q", "a"), trace_id=" req_only "),
        line(chat("q", "a")),
    ]) + "\n", encoding="utf-8")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    store = Store.open(db_url)
    traced = [[m.trace_id for m in store.messages(i)] for i in result.stdout.split()]
    assert traced == [[None, "4bf92f3577b34da6a3ce929d0e0e4736", None, "req_line"],
                      [None, "req_only"], [None, None]]
