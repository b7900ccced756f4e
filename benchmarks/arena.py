"""The arena leaderboard at scale: 1,000 voter-bootstrap resamples on 1,000,000 votes among 20 models.

    .venv/bin/python benchmarks/arena.py [--votes 1000000] [--models 20] [--voters 10000] [--reps 3]

Votes are simulated (tests/arena_sim.py), then aggregated per (voter, model A, model B, winner) as
the Store's GROUP BY returns them; the timed part is what the Arena page and `chatfeedback arena`
compute from those rows: the plain leaderboard (target < 3 s) and the style-controlled one (from
one row per vote, since style covariates cannot be aggregated away).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.arena_sim import simulate

from chatfeedback.stats import bradley_terry as bt


def aggregate(votes: bt.Votes) -> bt.Votes:
    k = len(votes.models)
    key = ((votes.voter * k + votes.a) * k + votes.b) * 4 + votes.outcome
    uniq, inverse = np.unique(key, return_inverse=True)
    count = np.bincount(inverse, votes.count)
    weight = np.bincount(inverse, votes.weight)
    outcome, rest = uniq % 4, uniq // 4
    b, rest = rest % k, rest // k
    a, voter = rest % k, rest // k
    return bt.Votes(votes.models, voter, a, b, outcome, count, weight)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--votes", type=int, default=1_000_000)
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--voters", type=int, default=10_000)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--database", action="store_true",
                    help="also store the votes in SQLite and time the whole leaderboard of "
                         "`chatfeedback arena`: SQL GROUP BY, reading, both fits")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    theta = np.linspace(1.5, -1.5, args.models)
    votes, _ = simulate(rng, theta, args.votes, args.voters)
    grouped = aggregate(votes)
    fa = rng.lognormal(6, 0.5, (args.votes, 4))
    fb = rng.lognormal(6, 0.5, (args.votes, 4))
    styled = bt.Votes(votes.models, votes.voter, votes.a, votes.b, votes.outcome, votes.count,
                      votes.weight, fa, fb)
    load = os.getloadavg()[0]
    plain, style = [], []
    for rep in range(args.reps):
        t0 = time.perf_counter()
        board = bt.leaderboard(grouped, bootstrap=args.bootstrap, seed=rep)
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bt.style_leaderboard(styled, bootstrap=args.bootstrap, seed=rep)
        style.append(time.perf_counter() - t0)
    print(f"{args.votes:,} votes, {args.models} models, {args.voters:,} voters "
          f"({len(grouped.voter):,} aggregated rows), {args.bootstrap} bootstrap resamples; "
          f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"plain leaderboard: median {statistics.median(plain):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in plain)}; target < 3 s)")
    print(f"style-controlled:  median {statistics.median(style):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in style)})")
    top = board.ratings[0]
    print(f"top: {top.model} {top.rating:.1f} [{top.ci[0]:.1f}, {top.ci[1]:.1f}]")
    if args.database:
        end_to_end(votes, fa, fb, args.bootstrap)
    return 0 if statistics.median(plain) < 3.0 else 1


def end_to_end(votes: bt.Votes, fa: np.ndarray, fb: np.ndarray, bootstrap: int) -> None:
    from datetime import UTC, datetime

    from chatfeedback.arena import leaderboard
    from chatfeedback.store import Store
    from chatfeedback.store.arena import FEATURE_COLUMNS

    features = np.hstack([fa, fb]).astype(int)
    when = datetime(2026, 11, 1, tzinfo=UTC)

    def rows():
        for r in range(len(votes.voter)):
            row = {"voter": f"user{votes.voter[r]}", "model_a": votes.models[votes.a[r]],
                   "model_b": votes.models[votes.b[r]],
                   "winner": bt.WINNERS[votes.outcome[r]], "created_at": when}
            row.update(zip(FEATURE_COLUMNS, features[r].tolist(), strict=True))
            yield row

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/arena.db")
        t0 = time.perf_counter()
        store.import_votes(rows(), batch=20_000)
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        leaderboard(store, bootstrap=bootstrap)
        whole = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.arena_count_columns()
        counts = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.arena_style_columns()
        style = time.perf_counter() - t0
        store.close()
    print(f"from SQLite: import {loaded:.1f} s; whole leaderboard {whole:.2f} s, of which "
          f"reading the GROUP BY counts {counts:.2f} s and the style rows {style:.2f} s "
          f"(load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    sys.exit(main())
