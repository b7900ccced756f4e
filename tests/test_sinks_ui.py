"""The Sinks page (AppTest): the figures of `chatfeedback sinks status` per sink, who
delivers, and Retry dead; and the CLI's status, retry, deliver and replay on the same data."""

from __future__ import annotations

import json

from chatfeedback.store import Store
from chatfeedback.store import outbox as queue
from chatfeedback.store.engine import now
from harness.receiver import Receiver

from .test_access import open_page, pages
from .test_cli import run

SINKS = """
[[sinks]]
name = "hooks"
kind = "webhook"
url = "{url}"
secret_env = "HOOK_SECRET"
max_tries = 2
"""


def dead_and_pending(db_url: str) -> Store:
    """Three rated answers for sink 'hooks': one delivered, one dead, one pending; and one
    rated before the sink was first seen (history it does not get unless asked)."""
    store = Store.open(db_url)
    conv = store.import_conversation([("user", "old"), ("assistant", "old")])
    store.rate(store.messages(conv.id)[1].id, 0, scale="thumbs", actor="ann")
    since = queue.register(store, {"hooks": "webhook"})
    for i in range(3):
        conv = store.import_conversation([("user", f"q{i}"), ("assistant", f"a{i}")])
        answer = next(m.id for m in store.messages(conv.id) if m.role == "assistant")
        store.rate(answer, 1, scale="thumbs", actor="ann")
    queue.fan_out(store, since, 10)
    first, second, _ = queue.due(store, "hooks", 10)
    queue.settle(store, "hooks", [first.event_id],
                 [queue.Failure(second.event_id, 2, now(), "http://x answered 500", True)])
    return store


def test_the_sinks_page_shows_the_figures_and_retries_dead_ones(make_app, db_url):
    store = dead_and_pending(db_url)
    at = make_app(SINKS.format(url="http://127.0.0.1:9/hook"))
    assert "Sinks" in pages(at)
    at = open_page(at, "Sinks")
    [table] = at.dataframe
    row = table.value.iloc[0]
    assert (row["Sink"], row["Kind"], row["Pending"], row["Delivered"], row["Dead"]) == \
        ("hooks", "webhook", 1, 1, 1)
    assert row["Last error"] == "http://x answered 500"
    assert "Delivering: no process right now" in " ".join(c.value for c in at.caption)
    at.button(key="sinks_retry_hooks").click().run()
    assert not at.exception
    [figures] = queue.status(store, ["hooks"])
    assert (figures.pending, figures.dead) == (2, 0)
    assert at.dataframe[0].value.iloc[0]["Pending"] == 2


def test_no_sinks_no_page(make_app):
    assert "Sinks" not in pages(make_app(""))


def test_the_cli_shows_retries_delivers_and_replays(tmp_path, db_url, monkeypatch):
    dead_and_pending(db_url).close()
    receiver = Receiver().start()
    config = tmp_path / "c.toml"
    config.write_text(SINKS.format(url=receiver.url))
    args = ("--config", str(config), "--db", db_url)
    try:
        shown = run("sinks", "status", "--json", *args)
        assert shown.exit_code == 0, shown.output
        [hooks] = json.loads(shown.stdout)["sinks"]
        assert (hooks["pending"], hooks["delivered"], hooks["dead"], hooks["configured"]) == \
            (1, 1, 1, True)
        table = run("sinks", "status", *args).stdout
        assert "hooks" in table and "http://x answered 500" in table

        assert "1 dead delivery queued again" in run("sinks", "retry", *args).stdout
        missing = run("sinks", "deliver", *args)                 # the secret is not set
        assert missing.exit_code == 2
        assert "secret_env names the environment variable HOOK_SECRET" in missing.stderr
        monkeypatch.setenv("HOOK_SECRET", "s3cret")
        done = run("sinks", "deliver", *args)
        assert done.exit_code == 0, done.output
        assert "hooks: 2 delivered, 0 failed (to be retried), 0 dead" in done.stdout
        assert len(set(receiver.ids())) == 2

        replayed = run("sinks", "replay", "--sink", "hooks", "--since", "2000-01-01", *args)
        assert "1 event queued for sink 'hooks'" in replayed.stdout  # the history
        assert run("sinks", "replay", "--sink", "nope", "--since", "2000-01-01",
                   *args).exit_code == 2
        bad = run("sinks", "replay", "--sink", "hooks", "--since", "last week", *args)
        assert bad.exit_code == 2 and "'last week' is not a date" in bad.stderr
        pruned = run("sinks", "prune", "--older-than", "1", *args)
        assert pruned.stdout == ("deleted 0 deliveries and 0 outbox events older than "
                                 "1 day\n")  # everything here is minutes old
    finally:
        receiver.stop()


def test_run_refuses_a_sink_whose_secret_is_not_set(tmp_path, db_url, monkeypatch):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    config = tmp_path / "c.toml"
    config.write_text(SINKS.format(url="http://127.0.0.1:9/hook"))
    result = run("run", "--config", str(config), "--db", db_url)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: sink 'hooks': secret_env names the environment "
                                     "variable HOOK_SECRET, which is not set")
