"""The arena leaderboard at scale: 1,000 voter-bootstrap resamples on 1,000,000 votes among 20 models.

    .venv/bin/python benchmarks/arena.py [--votes 1000000] [--models 20] [--voters 10000] [--reps 3]

    .venv/bin/python benchmarks/arena.py --database sqlite,postgresql

Votes are simulated (harness/arena_sim.py). In memory: aggregated per (voter, model A, model B,
winner), the plain leaderboard and the style-controlled one (from one row per vote, since style
covariates cannot be aggregated away). With ``--database``: the votes imported into a fresh
SQLite file or PostgreSQL database (the running totals kept per batch), then the whole
leaderboard of `chatfeedback arena --no-style` timed from the database (reading the running
totals, the fit, the bootstrap; target < 3 s), in this process and as a new process; and the
style-controlled ranking, which the page computes only on request above 100,000 votes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatfeedback.stats import bradley_terry as bt
from chatfeedback.stats import style_control
from harness.arena_sim import simulate


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
    ap.add_argument("--database", default="",
                    help="also store the votes (import --votes's path, running totals kept "
                         "per batch) in these databases, comma-separated: sqlite, postgresql; "
                         "and time the whole leaderboard of `chatfeedback arena` from each")
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
    plain, plain_cpu, style = [], [], []
    for rep in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        board = bt.leaderboard(grouped, bootstrap=args.bootstrap, seed=rep)
        plain.append(time.perf_counter() - t0)
        plain_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        style_control.style_leaderboard(styled, bootstrap=args.bootstrap, seed=rep)
        style.append(time.perf_counter() - t0)
    print(f"{args.votes:,} votes, {args.models} models, {args.voters:,} voters "
          f"({len(grouped.voter):,} rows grouped per voter, pair and outcome), "
          f"{args.bootstrap} bootstrap resamples; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after", flush=True)
    print(f"in memory, plain leaderboard: median {statistics.median(plain):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in plain)}), CPU "
          f"{statistics.median(plain_cpu):.2f} s")
    print(f"in memory, style-controlled:  median {statistics.median(style):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in style)})")
    top = board.ratings[0]
    print(f"top: {top.model} {top.rating:.1f} [{top.ci[0]:.1f}, {top.ci[1]:.1f}]", flush=True)
    ok = True
    for kind in filter(None, args.database.split(",")):
        ok &= end_to_end(kind, votes, fa, fb, args.bootstrap, args.reps)
    return 0 if ok else 1


def end_to_end(kind: str, votes: bt.Votes, fa: np.ndarray, fb: np.ndarray, bootstrap: int,
               reps: int) -> bool:
    """Store the votes in a fresh ``kind`` database, then time what `chatfeedback arena`
    computes: in this process (reading the running totals, the voters and the rounds, and
    the fit), and as the command itself in a new process (start-up and imports included)."""
    from datetime import UTC, datetime

    from chatfeedback.arena import leaderboard, style_leaderboard
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
        server = None
        if kind == "postgresql":
            from harness.pgcluster import PostgresServer
            server = PostgresServer()
            url = server.create_database()
        elif kind == "sqlite":
            url = f"sqlite:///{tmp}/arena.db"
        else:
            raise SystemExit(f"--database: unknown {kind!r} (sqlite, postgresql)")
        try:
            store = Store.open(url)
            t0 = time.perf_counter()
            store.import_votes(rows(), batch=20_000)
            loaded = time.perf_counter() - t0
            totals = len(store.arena_total_columns()[0])
            load = os.getloadavg()[0]
            whole, cpu = [], []
            for rep in range(reps):
                t0, c0 = time.perf_counter(), time.process_time()
                board = leaderboard(store, bootstrap=bootstrap, seed=rep, style=False)
                whole.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            store.arena_total_columns()
            reading, reading_cpu = time.perf_counter() - t0, time.process_time() - c0
            median = statistics.median(whole)
            print(f"from {kind}: import {loaded:.1f} s ({totals:,} running-total rows, "
                  f"{board['voters']:,} voters); load average {load:.2f} before the "
                  f"leaderboard, {os.getloadavg()[0]:.2f} after", flush=True)
            print(f"  whole leaderboard in the process: median {median:.2f} s "
                  f"(runs {', '.join(f'{t:.2f}' for t in whole)}; target < 3 s), this "
                  f"process's CPU {statistics.median(cpu):.2f} s; of which reading the totals "
                  f"{reading:.2f} s (CPU {reading_cpu:.2f} s)", flush=True)
            command, command_cpu = [], []
            for _ in range(reps):
                t0, c0 = time.perf_counter(), _children_cpu()
                subprocess.run([str(Path(sys.executable).parent / "chatfeedback"), "arena",
                                "--json", "--no-style", "--db", url], check=True,
                               stdout=subprocess.DEVNULL)
                command.append(time.perf_counter() - t0)
                command_cpu.append(_children_cpu() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            style_leaderboard(store, tuple(sorted(votes.models)), bootstrap=bootstrap)
            style, style_cpu = time.perf_counter() - t0, time.process_time() - c0
            store.close()
        finally:
            if server is not None:
                server.close()
    print(f"  `chatfeedback arena --json --no-style` as a new process: median "
          f"{statistics.median(command):.2f} s (runs {', '.join(f'{t:.2f}' for t in command)}), "
          f"its CPU {statistics.median(command_cpu):.2f} s")
    print(f"  style-controlled ranking from every vote (on request): {style:.1f} s "
          f"(CPU {style_cpu:.1f} s)", flush=True)
    return median < 3.0


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


if __name__ == "__main__":
    sys.exit(main())
