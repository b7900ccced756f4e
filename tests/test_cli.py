"""The CLI against real SQLite files and a real PostgreSQL server."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.store import Store

pytestmark = pytest.mark.all_databases


@pytest.fixture
def filled(store):
    conv = store.create_conversation(model="echo")
    user = store.add_message(conv.id, "user", "What is 2+2? ünï 🦜")
    answer = store.add_message(conv.id, "assistant", "4", parent_id=user.id, model="echo",
                               backend="echo")
    store.rate(answer.id, 1, scale="thumbs")
    user2 = store.add_message(conv.id, "user", "unrated")
    store.add_message(conv.id, "assistant", "x", parent_id=user2.id)
    return conv, user, answer


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result


def test_export_jsonl_to_stdout(db_url, filled):
    conv, _user, answer = filled
    result = run("export", "--format", "jsonl", "--db", db_url)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert (row["conversation_id"], row["message_id"], row["prompt"], row["response"],
            row["rating"], row["scale"], row["model"]) == (
        conv.id, answer.id, "What is 2+2? ünï 🦜", "4", 1, "thumbs", "echo")
    assert row["created_at"] and row["rated_at"]
    assert "exported 1 rows" in result.stderr


def test_export_csv_to_file(db_url, filled, tmp_path):
    out = tmp_path / "r.csv"
    result = run("export", "--format", "csv", "--db", db_url, "-o", str(out))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1 and rows[0]["rating"] == "1" and rows[0]["prompt"].endswith("🦜")


def test_export_events(db_url, filled):
    result = run("export", "--format", "events", "--db", db_url)
    assert [json.loads(x)["action"] for x in result.stdout.splitlines()] == ["set"]


def test_bad_database_is_exit_2_one_line(tmp_path):
    result = run("export", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_bad_config_is_exit_2(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[feedback]\nscale = 'hearts'\n")
    result = run("run", "--config", str(bad), "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.exit_code == 2 and "feedback.scale" in result.stderr


def test_unknown_backend_is_exit_2(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[[models]]\nname = 'm'\nbackend = 'nope'\n")
    result = run("run", "--config", str(bad), "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.exit_code == 2 and "model 'm': unknown backend 'nope'" in result.stderr


def test_db_upgrade(db_url):
    result = run("db", "upgrade", "--db", db_url)
    assert result.exit_code == 0 and f"revision {Store.head()}" in result.stdout
    assert f"database: {Store.head()}" in run("db", "revision", "--db", db_url).stdout


def test_every_command_has_help_with_an_example():
    for args in (["--help"], ["run", "-h"], ["export", "-h"], ["db", "-h"], ["db", "upgrade", "-h"],
                 ["experiments", "-h"], ["experiments", "start", "-h"],
                 ["experiments", "stop", "-h"], ["experiments", "list", "-h"],
                 ["report", "-h"], ["arena", "-h"], ["import", "-h"]):
        result = run(*args)
        assert result.exit_code == 0 and "Example" in result.stdout


def test_run_turns_off_streamlits_full_collection_after_each_run(tmp_path, monkeypatch):
    """`run` replaces itself with `streamlit run` (os.execve); that cannot happen inside
    pytest, so the call is caught here and its command read. Without the flag, Streamlit
    walks every live object after every run, a cost that grows with the sessions."""
    from harness.support import free_port

    seen = {}

    def execve(path, command, env):
        seen["command"] = command
        raise SystemExit(0)
    monkeypatch.setattr("chatfeedback.cli_run.os.execve", execve)
    result = run("run", "--port", str(free_port()), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 0, result.output
    command = seen["command"]
    assert command[command.index("--runner.postScriptGC") + 1] == "false"
