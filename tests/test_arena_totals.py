"""The arena's running totals: kept in the transaction of every vote, changed vote and import,
rebuilt from the votes (by the Store and by their migration), and the leaderboard read from them
equals the one computed from the votes themselves, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from chatfeedback.arena import Arena, leaderboard
from chatfeedback.stats import bradley_terry as bt
from chatfeedback.store import Store, arena_totals
from chatfeedback.store.schema import arena_totals as totals_table
from chatfeedback.store.schema import arena_voters, arena_votes

from .test_arena import ECHOS, play

pytestmark = pytest.mark.all_databases

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# names whose code-point order differs from a natural-language collation's
MODELS = ("Zeta", "alpha", "beta-2", "Beta", "ähm")


def raw_votes(store: Store) -> bt.Votes:
    """The leaderboard's input computed from the votes themselves (grouped in SQL per voter),
    each voter in its cluster, clusters in order (as the totals are read)."""
    cluster = store.arena_voter_clusters()
    rows = sorted(store.arena_counts(), key=lambda r: cluster[r[0]])
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6
    return bt.Votes.from_columns([cluster[v] for v in columns[0]], *columns[1:])


def totals_by_hand(store: Store) -> dict[tuple, tuple]:
    """arena_totals as Python computes them from every vote and the voters' clusters."""
    cluster = store.arena_voter_clusters()
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for v in store.iter_votes():
        lo, hi, parts = arena_totals.contribution(v["model_a"], v["model_b"], v["winner"],
                                                  v["weight"])
        for i, x in enumerate(parts):
            sums[(cluster[v["voter"]], lo, hi)][i] += x
    return {k: tuple(round(x, 9) for x in s) for k, s in sums.items() if s[0]}


def stored_totals(store: Store) -> dict[tuple, tuple]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(totals_table)).all()
    return {(r[0], r[1], r[2]): tuple(round(x, 9) for x in r[3:]) for r in rows if r[3]}


def assert_totals_are_right(store: Store) -> None:
    assert stored_totals(store) == totals_by_hand(store)
    from_totals = bt.Votes.from_totals(*store.arena_total_columns())
    raw = raw_votes(store)
    assert from_totals.models == raw.models
    a = bt.leaderboard(from_totals, bootstrap=200, seed=3)
    b = bt.leaderboard(raw, bootstrap=200, seed=3)
    assert [r.model for r in a.ratings] == [r.model for r in b.ratings]
    for x, y in zip(a.ratings, b.ratings, strict=True):
        assert x.rating == pytest.approx(y.rating, abs=1e-6)
        assert x.ci == pytest.approx(y.ci, abs=1e-3, nan_ok=True)
        assert (x.rank, x.votes) == (y.rank, y.votes)
    assert (a.votes, a.voters) == (b.votes, b.voters)
    for mine, theirs in zip(bt.pair_matrices(from_totals), bt.pair_matrices(raw), strict=True):
        np.testing.assert_allclose(mine, theirs)
    board = leaderboard(store, bootstrap=50, style=False)
    assert board["voters"] == len(store.arena_voter_clusters())
    assert board["style_control"] is None


def test_votes_and_changed_votes_keep_the_totals(make_service):
    arena = Arena(make_service(ECHOS + '\n[feedback]\nmode = "changeable"\n'),
                  rng=random.Random(8))
    rng = random.Random(9)
    rounds = []
    for voter in ("ann", "bob", "cy", "dee"):
        for _ in range(4):
            turn = arena.start("compare", voter=voter)
            play(arena, turn)
            arena.vote(turn.round.id, rng.choice(bt.WINNERS), actor=voter)
            rounds.append(turn.round)
    assert_totals_are_right(arena.store)
    for rnd in rounds[::3]:        # changed votes: the old winner uncounted, the new counted
        winner = next(w for w in bt.WINNERS if w != arena.store.arena_vote(rnd.id).winner)
        arena.vote(rnd.id, winner, actor=rnd.voter)
    assert_totals_are_right(arena.store)
    board = arena.leaderboard(bootstrap=50)
    assert board["votes"] == 16 and board["voters"] == 4
    assert board["style_control"]["votes"] == 16


def test_import_counts_and_clusters_wrap_past_their_number(store, monkeypatch):
    """More voters than clusters (4 here, 1,024 in the app): voters share clusters in the
    order of their first vote, the totals still equal the votes' sums, and a rebuild from the
    votes gives the same clusters and totals."""
    monkeypatch.setattr(arena_totals, "CLUSTERS", 4)
    rng = random.Random(10)
    rows = [{"voter": f"v{v:02d}", "model_a": a, "model_b": b, "winner": rng.choice(bt.WINNERS),
             "created_at": T0 + timedelta(minutes=v)}
            for v in range(11) for a, b in [rng.sample(MODELS, 2) for _ in range(30)]]
    store.import_votes(rows[:100], batch=40)
    store.import_votes(rows[100:], batch=70)
    clusters = store.arena_voter_clusters()
    assert clusters == {f"v{v:02d}": v % 4 for v in range(11)}
    assert_totals_are_right(store)
    before = stored_totals(store)
    with store.engine.begin() as conn:     # damage them; the rebuild puts them right
        conn.execute(totals_table.delete().where(totals_table.c.cluster == 1))
        conn.execute(arena_voters.delete().where(arena_voters.c.voter == "v05"))
    store.rebuild_arena_totals()
    assert store.arena_voter_clusters() == clusters
    assert stored_totals(store) == before
    assert store.arena_voter_count() == 11


def test_a_leaderboard_from_totals_has_as_many_rows_as_clusters_and_pairs(store):
    rng = random.Random(11)
    store.import_votes([{"voter": f"v{rng.randrange(3)}", "model_a": "x", "model_b": "y",
                         "winner": rng.choice(bt.WINNERS), "created_at": T0}
                        for _ in range(500)])
    columns = store.arena_total_columns()
    assert len(columns[0]) == 3 and sum(columns[3]) == 500
    assert_totals_are_right(store)


def test_the_migration_fills_the_totals_from_the_votes_there(db_url, request, tmp_path):
    """A database just before the totals' migration, with votes (written as the app then
    did), upgrades to totals equal to what the Store's rebuild computes and to Python's sums
    of the votes."""
    from alembic.script import ScriptDirectory

    from chatfeedback.store.store import alembic_config

    from .test_migration_history import _fresh

    before = next(s.down_revision for s in
                  ScriptDirectory.from_config(alembic_config()).walk_revisions()
                  if s.path.endswith("_arena_totals.py"))
    url = _fresh(db_url, request, tmp_path)(f"at-{before}")
    store = Store.open(url, upgrade=False)
    store.upgrade(before)
    rng = random.Random(12)
    rows = []
    for n in range(400):
        a, b = rng.sample(MODELS, 2)
        when = T0 + timedelta(minutes=rng.randrange(10_000))
        rows.append(dict(id=f"v{n:05d}", voter=rng.choice(["Ann", "bob", "Émile", "zed", "Zoë"]),
                         model_a=a, model_b=b, winner=rng.choice(bt.WINNERS),
                         weight=rng.choice([1.0, 0.5, 2.5]), source="import",
                         created_at=when, updated_at=when))
    with store.engine.begin() as conn:
        conn.execute(arena_votes.insert(), rows)   # the table as 0010 made it
    store.upgrade()
    migrated = stored_totals(store), store.arena_voter_clusters()
    assert migrated[0] == totals_by_hand(store)
    first = {}
    for r in sorted(rows, key=lambda r: (r["created_at"], r["voter"])):
        first.setdefault(r["voter"], len(first))
    assert migrated[1] == first      # numbered by first vote (few voters: one cluster each)
    store.rebuild_arena_totals()
    assert (stored_totals(store), store.arena_voter_clusters()) == migrated
    assert_totals_are_right(store)
    store.close()
