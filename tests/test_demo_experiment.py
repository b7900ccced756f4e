"""``chatfeedback demo --experiment``: a randomized experiment whose true difference the report
finds, with the arms the experiment's own hash assigns; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from chatfeedback import report as reports
from chatfeedback.cli import main
from chatfeedback.config import Settings
from chatfeedback.demo_experiment import EXPERIMENT, NAME, fill_experiment
from chatfeedback.stats.cluster import UnitSums, difference
from chatfeedback.store.schema import conversations, ratings

pytestmark = pytest.mark.all_databases


def test_the_report_finds_the_true_difference(store):
    made = fill_experiment(store, 30_000, people=3_000, effect=0.05, seed=4,
                           end=datetime(2026, 11, 30, tzinfo=UTC))
    assert (made.ratings, made.true_difference) == (30_000, 0.05)
    with store.engine.connect() as conn:
        rows = conn.execute(select(conversations.c.owner, conversations.c.unit,
                                   conversations.c.arm, conversations.c.assignment_p,
                                   conversations.c.experiment)).all()
        assert conn.execute(select(func.count()).select_from(ratings)).scalar() == 30_000
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert len(rows) == made.conversations
    for owner, unit, arm, p, experiment in rows:
        assert (unit, p, experiment) == (owner, 0.5, NAME)
        assert arm == EXPERIMENT.assign(owner).name  # the chat's own assignment
    r = reports.build(Settings(), store, NAME, over_time=True)
    low, high = r.difference.ci
    assert low <= 0.05 <= high
    assert r.difference.anytime_ci[0] < low and r.difference.anytime_ci[1] > high
    assert not r.srm_warning and r.running
    assert sum(a.units for a in r.arms) == made.people
    assert r.over_time[-1].estimate == pytest.approx(r.difference.estimate)
    # the lenient and harsh raters make ratings-as-independent intervals far too narrow
    naive = difference(*(UnitSums(a.units, a.ratings, a.estimate * a.ratings, 0, 0, 0,
                                  a.estimate * a.ratings) for a in r.arms[::-1]),
                       independent_ratings=True)
    assert naive.ci[1] - naive.ci[0] < 0.8 * (high - low)


def test_demo_command(db_url):
    result = CliRunner().invoke(main, ["demo", "--experiment", "-n", "2000", "--effect", "3",
                                       "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "created experiment demo-concise: 2,000 ratings from" in result.stderr
    assert "true difference +3.0 points (concise - control)" in result.stderr
    again = CliRunner().invoke(main, ["demo", "--experiment", "-n", "500", "--seed", "1",
                                      "--db", db_url])
    assert again.exit_code == 0, again.output  # adds to the running experiment
    report = CliRunner().invoke(main, ["report", "--experiment", NAME, "--db", db_url])
    assert report.exit_code == 0 and "concise − control" in report.stdout
