"""``chatfeedback queue create|status|export`` and ``export --format reviews|gold`` against
real databases, end to end: an import batch becomes a queue, reviewers judge, an admin
adjudicates, the exports carry it."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from chatfeedback.cli import main
from chatfeedback.review import Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store.schema import review_items

pytestmark = pytest.mark.all_databases

SETTINGS = """
[[criteria]]
name = "correct"
kind = "scale"
[[criteria]]
name = "safe"
kind = "boolean"
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "chatfeedback.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return str(path)


@pytest.fixture
def imported(db_url, tmp_path, store):
    store.import_conversation([("user", "not this one"), ("assistant", "other batch")])
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join(json.dumps({"messages": [
        {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]})
        for i in range(4)) + "\n", encoding="utf-8")
    result = run("import", str(logs), "--db", db_url)
    assert result.exit_code == 0, result.output
    return re.search(r"import batch (\w+)", result.stderr).group(1)


def test_queue_create_status_export(db_url, config, imported, store):
    result = run("queue", "create", "batch-check", "--batch", imported, "--k", "2",
                 "--config", config, "--db", db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ("created queue 'batch-check': 4 items, 2 reviewers each, "
                                     "criteria correct, safe")
    review = Review(store, parse_criteria(None, "x"))
    queue = review.queue("batch-check")
    plan = {"ann": [(5, 1), (4, 1), (2, 0), (1, 0)], "bob": [(5, 1), (4, 0), (3, 0), (1, 0)]}
    for reviewer, values in plan.items():
        for correct, safe in values:
            item = review.next_item(queue, reviewer)
            review.submit(queue, item.id, reviewer, {"correct": correct, "safe": safe},
                          correction="Better." if correct < 3 else None)
    disputed = next(i for i in _items(review, queue) if i.position == 1)
    review.adjudicate(queue, disputed.id, "safe", 1, "lead@x")

    result = run("queue", "status", "--db", db_url, "--config", config)
    assert result.exit_code == 0
    assert result.stdout.strip() == "batch-check: 4/4 items complete, k=2, criteria correct, safe"
    result = run("queue", "status", "batch-check", "--replicates", "200", "--db", db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "batch-check: 4/4 items complete (8 reviews, k=2)"
    assert lines[1:3] == ["  ann: 4 judged, 0 skipped, 0 open", "  bob: 4 judged, 0 skipped, 0 open"]
    assert re.fullmatch(r"correct \(ordinal\): alpha 0\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\] over 4 "
                        r"items", lines[3])
    assert lines[4].startswith("  kappa ann / bob: ")

    result = run("queue", "export", "batch-check", "--format", "reviews", "--db", db_url)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 16 and result.stderr.strip() == "exported 16 rows"
    assert set(rows[0]) == {"queue", "item", "message_id", "reviewer", "criterion", "value",
                            "time"}
    assert {r["value"] for r in rows if r["criterion"] == "correct"} == {1, 2, 3, 4, 5}

    result = run("export", "--format", "gold", "--db", db_url)
    gold = [json.loads(line) for line in result.stdout.splitlines()]
    by_item = {(g["item"], g["criterion"]): (g["value"], g["source"]) for g in gold}
    assert by_item[(disputed.id, "safe")] == (1, "adjudicated")
    assert (disputed.id, "correct") in by_item  # both said 4
    # item 3 (2 vs 3 on correct) is left out of gold for that criterion, kept for safe
    third = next(i for i in _items(review, queue) if i.position == 2)
    assert (third.id, "correct") not in by_item and by_item[(third.id, "safe")] == (0, "unanimous")
    assert len(gold) == 7
    result = run("export", "--format", "reviews", "--db", db_url)
    assert len(result.stdout.splitlines()) == 16


def _items(review, queue):
    with review.store.engine.connect() as conn:
        ids = conn.execute(select(review_items.c.id).where(
            review_items.c.queue_id == queue.id)).scalars().all()
    return [review.item(i) for i in ids]


@pytest.mark.parametrize("args, message", [
    (["queue", "create", "q", "--model", "nobody"], "the filter matches no answers"),
    (["queue", "create", "q", "--criterion", "tone"],
     "unknown criterion 'tone'; the settings define correct, safe"),
    (["queue", "create", "q", "--since", "last week"], "'last week' is not a date"),
    (["queue", "create", "q", "--since", "2026-12-02", "--until", "2026-12-01"],
     "until must be after since"),
    (["queue", "status", "nope"], "no review queue named 'nope'"),
    (["queue", "export", "nope"], "no review queue named 'nope'"),
])
def test_bad_queue_commands_are_one_line_and_exit_2(db_url, config, imported, args, message):
    result = run(*args, "--config", config, "--db", db_url)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_queue_commands_have_help_with_an_example():
    for args in (["queue", "-h"], ["queue", "create", "-h"], ["queue", "status", "-h"],
                 ["queue", "export", "-h"]):
        result = run(*args)
        assert result.exit_code == 0 and "Example:" in result.stdout
