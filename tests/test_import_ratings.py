"""Importing rated logs: a person, an experiment and an arm on a conversation, a rating on an
answer. Ratings are set events at their own time and count everywhere; bad values are
line-numbered errors. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from chatfeedback import report as reports
from chatfeedback.analytics import Analytics
from chatfeedback.cli import main
from chatfeedback.config import Settings
from chatfeedback.store import Filters, Store
from chatfeedback.store.schema import rating_events

pytestmark = pytest.mark.all_databases


def line(messages, **extra):
    return json.dumps({"messages": messages, **extra}, ensure_ascii=False)


def rated(*pairs):
    """user/assistant messages; an assistant message with a rating when one is given."""
    out = []
    for prompt, answer, rating in pairs:
        out.append({"role": "user", "content": prompt})
        out.append({"role": "assistant", "content": answer,
                    **({"rating": rating} if rating is not None else {})})
    return out


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), **kw)


def test_rated_logs_count_everywhere(tmp_path, db_url):
    path = tmp_path / "rated.jsonl"
    lines = []
    for i in range(12):
        arm = "v2" if i % 2 else "control"
        lines.append(line(rated(
            ("q1", "a1", {"value": 1 if i % 3 else 0, "scale": "thumbs",
                          "rated_at": "2026-11-02T10:00:00Z"}),
            ("q2", "a2", {"value": 4, "scale": "stars", "rater": "boss@example.org",
                          "rated_at": "2026-11-03T09:30:00+01:00"}),
            ("q3", "a3", None)), user=f"u{i}@example.org", experiment="imported-exp",
            arm=arm, model="gpt"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    ids = result.stdout.split()
    store = Store.open(db_url)
    conv = store.conversation(ids[1])
    assert (conv.owner, conv.experiment, conv.arm, conv.unit) == \
        ("u1@example.org", "imported-exp", "v2", "u1@example.org")
    answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
    first, second, third = (store.rating(a.id) for a in answers)
    assert (first.value, first.scale, first.rater) == (1, "thumbs", "u1@example.org")
    assert first.rated_at == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert (second.value, second.scale, second.rater) == (4, "stars", "boss@example.org")
    assert second.rated_at == datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    assert third is None
    with store.engine.connect() as conn:
        events = conn.execute(select(rating_events.c.action, rating_events.c.created_at)
                              .where(rating_events.c.message_id == answers[0].id)).all()
    assert [(a, w.replace(tzinfo=UTC) if w.tzinfo is None else w) for a, w in events] == \
        [("set", datetime(2026, 11, 2, 10, tzinfo=UTC))]
    # the dashboard's running totals count them on their own days
    analytics = Analytics(store)
    day2 = analytics.totals(Filters(since=date(2026, 11, 2), until=date(2026, 11, 3)))
    assert (day2.rated, day2.positive) == (12, 8)
    assert analytics.totals(Filters(since=date(2026, 11, 3), until=date(2026, 11, 4))).rated \
        == 12
    assert analytics.people_by_model()["gpt"].units == 13  # 12 users and the boss
    # the exports carry them with their experiment and arm
    rows = [json.loads(x) for x in run("export", "--db", db_url).stdout.splitlines()]
    assert len(rows) == 24 and {(r["experiment"], r["arm"]) for r in rows} == \
        {("imported-exp", "control"), ("imported-exp", "v2")}
    # and the experiment report, from the data's own arms (weights unknown: no SRM check)
    r = reports.build(Settings(), store, "imported-exp", "mean_score")
    assert [(a.name, a.units, a.ratings) for a in r.arms] == [("control", 6, 12),
                                                              ("v2", 6, 12)]
    assert r.srm_p_value is None and not r.srm_warning
    store.close()


@pytest.mark.parametrize("extra, messages, error", [
    ({}, rated(("q", "a", {"value": 7, "scale": "stars"})),
     "message 2: rating: a stars rating must be a whole number from 1 to 5, got 7"),
    ({}, rated(("q", "a", {"value": 1, "scale": "hearts"})),
     "message 2: rating: unknown rating scale 'hearts' (use thumbs, faces or stars)"),
    ({}, rated(("q", "a", {"scale": "thumbs"})), "message 2: rating: 'value' is required"),
    ({}, rated(("q", "a", {"value": 1, "rated_at": "yesterday"})),
     ("message 2: rating: 'rated_at' must be an ISO 8601 time like \"2026-11-02T10:00:00Z\", "
      "got 'yesterday'")),
    ({}, rated(("q", "a", {"value": 1, "mood": "happy"})),
     "message 2: rating: unknown key 'mood'"),
    ({}, rated(("q", "a", 1)), "message 2: rating must be an object like"),
    ({}, [{"role": "user", "content": "q", "rating": {"value": 1}}],
     "message 1: only assistant messages can carry a rating"),
    ({"experiment": "x"}, rated(("q", "a", None)),
     "'experiment' and 'arm' go together: give both or neither"),
    ({"user": ""}, rated(("q", "a", None)), "'user' must be a non-empty string"),
])
def test_bad_rated_lines_are_line_numbered(tmp_path, db_url, extra, messages, error):
    path = tmp_path / "bad.jsonl"
    path.write_text(line(rated(("ok", "fine", {"value": 1}))) + "\n"
                    + line(messages, **extra) + "\n", encoding="utf-8")
    result = run("import", str(path), "--db", db_url)
    assert result.exit_code == 1
    first_error = result.stderr.strip().splitlines()[0]
    assert first_error.startswith(f"{path}:2: {error}"), first_error
    assert len(result.stdout.split()) == 1  # the good line is imported
