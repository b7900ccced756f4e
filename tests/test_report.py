"""The experiment report: per-unit sums from SQL equal a count of the rows, the statistics on
top of them, the verdicts, and ``chatfeedback report`` as JSON and as a table; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from chatfeedback import report as reports
from chatfeedback.cli import main
from chatfeedback.config import load_settings
from chatfeedback.stats.cluster import UnitSums, difference, ratio
from chatfeedback.store import experiments as log

from .support import write_config

pytestmark = pytest.mark.all_databases

CONFIG = """
[[models]]
name = "gpt"
backend = "echo"

[[experiments]]
name = "prompt-v2"
arms = [
  { name = "control", model = "gpt", weight = 1 },
  { name = "v2", model = "gpt", system_prompt = "You are concise.", weight = 1 },
]
"""
DAY0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def fill(store, people: dict[str, tuple[str, float, int]], seed: int = 1,
         scale: str = "thumbs") -> list[tuple[str, str, str, int, datetime]]:
    """Conversations of ``people`` (name -> (arm, chance of a positive, ratings)), one
    rating a day-ish apart; returns the rows (arm, unit, scale, value, rated_at)."""
    rng = random.Random(seed)
    rows = []
    for person, (arm, share, n) in people.items():
        conv = store.create_conversation(owner=person, model="gpt", experiment="prompt-v2",
                                         arm=arm, unit=person, assignment_p=0.5)
        for i in range(n):
            prompt = store.add_message(conv.id, "user", f"q{i}")
            answer = store.add_message(conv.id, "assistant", "a", parent_id=prompt.id,
                                       model="gpt")
            good = rng.random() < share
            value = int(good) if scale == "thumbs" else (rng.choice([4, 5]) if good
                                                         else rng.choice([1, 2, 3]))
            when = DAY0 + timedelta(days=rng.randrange(5), minutes=i)
            store.rate(answer.id, value, scale=scale, at=when)
            rows.append((arm, person, scale, value, when))
    return rows


def brute(rows, metric):
    per = defaultdict(lambda: [0, 0.0, 0.0])
    for arm, unit, scale, value, _ in rows:
        v = (1.0 if (value == 1 if scale == "thumbs" else value >= 4) else 0.0) \
            if metric == "positive_share" else (value if scale == "thumbs" else (value - 1) / 4)
        cell = per[arm, unit]
        cell[0] += 1
        cell[1] += v
        cell[2] += v * v
    out = {}
    for arm in {a for a, _ in per}:
        cells = [c for (a, _), c in per.items() if a == arm]
        out[arm] = UnitSums.of([c[0] for c in cells], [c[1] for c in cells],
                               squares=sum(c[2] for c in cells))
    return out


@pytest.fixture
def settings(tmp_path, db_url):
    return load_settings(write_config(tmp_path / "c.toml", CONFIG), db_url, environ={})


@pytest.mark.parametrize("metric, scale", [("positive_share", "thumbs"),
                                           ("mean_score", "stars")])
def test_per_unit_sums_from_sql_equal_the_rows(store, metric, scale):
    people = {f"p{i}": ("v2" if i % 2 else "control", 0.3 + 0.5 * (i % 3) / 2, 1 + i % 4)
              for i in range(24)}
    rows = fill(store, people, scale=scale)
    got = log.unit_sums(store, "prompt-v2", metric)
    want = brute(rows, metric)
    assert set(got) == {"control", "v2"}
    for arm in got:
        for field in UnitSums.__dataclass_fields__:
            assert getattr(got[arm], field) == pytest.approx(getattr(want[arm], field)), field
    daily = log.daily_unit_sums(store, "prompt-v2", metric)
    last = {arm: s for _, arm, s in daily}
    for arm in got:
        for field in UnitSums.__dataclass_fields__:
            assert getattr(last[arm], field) == pytest.approx(getattr(want[arm], field)), field
    days = [d for d, _, _ in daily]
    assert days == sorted(days) and len(set(days)) == 5
    assert log.assigned_units(store, "prompt-v2") == {"control": 12, "v2": 12}


def test_report_figures_and_a_clear_verdict(store, settings):
    people = {f"p{i}": ("v2" if i % 2 else "control", 0.85 if i % 2 else 0.25, 6)
              for i in range(120)}
    rows = fill(store, people)
    log.record(store, "prompt-v2", "start", definition=settings.experiment("prompt-v2")
               .definition(), at=DAY0 - timedelta(days=1))
    r = reports.build(settings, store, "prompt-v2", over_time=True)
    sums = brute(rows, "positive_share")
    control, _ = r.arms
    assert (control.name, control.units, control.ratings, control.assigned) == \
        ("control", 60, 360, 60)
    assert control.estimate == pytest.approx(ratio(sums["control"]).estimate)
    assert control.ci == pytest.approx(ratio(sums["control"]).ci)
    d = difference(sums["v2"], sums["control"])
    assert r.difference.arms == ("v2", "control")
    assert r.difference.estimate == pytest.approx(d.estimate)
    assert r.difference.ci == pytest.approx(d.ci)
    low, high = r.difference.anytime_ci
    assert low < d.ci[0] and high > d.ci[1] and low > 0  # wider, and still clear
    assert r.verdict.startswith("v2 is rated positive more often than control: +")
    assert r.verdict.endswith("it is safe to stop.")
    assert not r.srm_warning and r.srm_p_value == pytest.approx(1.0)
    assert len(r.over_time) == 5 and r.over_time[-1].estimate == pytest.approx(d.estimate)
    assert [p.units for p in r.over_time] == sorted(p.units for p in r.over_time)
    out = r.as_json()
    assert list(out) == ["experiment", "metric", "unit", "running", "arms", "difference",
                         "srm_p_value", "verdict"]
    assert out["arms"][0] == {"name": "control", "model": "gpt", "weight": 1.0,
                              "assigned": 60, "units": 60, "ratings": 360,
                              "estimate": round(control.estimate, 4),
                              "ci": [round(x, 4) for x in control.ci]}
    assert set(out["difference"]) == {"arms", "estimate", "ci", "anytime_ci", "p_value"}


def test_no_difference_yet_says_how_many_more(store, settings):
    people = {f"p{i}": ("v2" if i % 2 else "control", 0.6, 3) for i in range(40)}
    fill(store, people, seed=3)
    r = reports.build(settings, store, "prompt-v2")
    assert r.verdict.startswith("No difference can be claimed yet (v2 vs control: ")
    assert "more people per arm would show a 3-point difference" in r.verdict


def test_sample_ratio_mismatch_is_a_warning(store, settings):
    people = {f"p{i}": ("v2" if i % 5 else "control", 0.6, 1) for i in range(100)}
    fill(store, people)
    r = reports.build(settings, store, "prompt-v2")
    assert r.srm_warning and r.srm_p_value < 0.001
    assert r.verdict.startswith("Warning: the people per arm (control 20 / v2 80) do not "
                                "match the weights")


def test_too_few_and_unknown(store, settings):
    r = reports.build(settings, store, "prompt-v2")
    assert r.verdict == "Too few people have rated yet to compare v2 with control."
    assert r.as_json()["difference"]["estimate"] is None
    with pytest.raises(Exception, match="unknown experiment 'nope'"):
        reports.build(settings, store, "nope")


def test_report_command(tmp_path, db_url, store):
    people = {f"p{i}": ("v2" if i % 2 else "control", 0.7 if i % 2 else 0.4, 4)
              for i in range(60)}
    fill(store, people, scale="faces")
    config = str(write_config(tmp_path / "c.toml", CONFIG))
    opts = ["--config", config, "--db", db_url]
    result = CliRunner().invoke(main, ["report", "--experiment", "prompt-v2", "--json", *opts])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["experiment"] == "prompt-v2" and data["metric"] == "positive_share"
    assert [a["units"] for a in data["arms"]] == [30, 30]
    mean = json.loads(CliRunner().invoke(main, ["report", "--experiment", "prompt-v2",
                                                "--metric", "mean_score", "--json",
                                                *opts]).stdout)
    assert mean["metric"] == "mean_score" and mean["arms"][0]["estimate"] != \
        data["arms"][0]["estimate"]
    text = CliRunner().invoke(main, ["report", "--experiment", "prompt-v2", *opts]).stdout
    assert "Experiment prompt-v2" in text and "anytime-valid 95 %" in text
    assert data["verdict"] in text
    bad = CliRunner().invoke(main, ["report", "--experiment", "nope", *opts])
    assert bad.exit_code == 2 and "unknown experiment 'nope'" in bad.output


def _unit_counts(store):
    """The per-unit and per-rater running totals (rows that count something)."""
    from sqlalchemy import select

    from chatfeedback.store.schema import rater_counts, unit_counts
    with store.engine.connect() as conn:
        units = sorted((r.arm, r.unit, str(r.day), r.n, r.positive, r.score, r.score_sq)
                       for r in conn.execute(select(unit_counts)) if r.n)
        raters = sorted((str(r.day), r.model, r.prompt_key, r.scale, r.rater, r.n, r.positive)
                        for r in conn.execute(select(rater_counts)) if r.n)
    return units, raters


def test_unit_counters_follow_changes_and_equal_a_rebuild_and_the_upgrade(store):
    from alembic import command
    from sqlalchemy import select

    from chatfeedback.store.schema import ratings
    from chatfeedback.store.store import alembic_config

    people = {f"p{i}": ("v2" if i % 2 else "control", 0.5, 3) for i in range(10)}
    fill(store, people, scale="stars")
    with store.engine.connect() as conn:
        rated = [r for (r,) in conn.execute(select(ratings.c.message_id)
                                            .order_by(ratings.c.message_id))]
    store.rate(rated[0], 5, scale="stars")          # change
    store.rate(rated[1], None, scale="stars")       # clear
    store.rate(rated[2], 1, scale="thumbs")         # another scale
    store.annotate(rated[3], tags=["Clear"])        # not a rating change
    live = _unit_counts(store)
    assert len(live[0]) > 5 and sum(r[5] for r in live[1]) == 29
    sums = log.unit_sums(store, "prompt-v2", "mean_score")
    assert sum(s.ratings for s in sums.values()) == 29
    store.rebuild_stats()
    assert _unit_counts(store) == live
    with store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    store.upgrade()
    assert _unit_counts(store) == live
