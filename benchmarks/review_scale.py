"""Review at scale: the next item from a queue of 100,000 items with 20 reviewers, and the
agreement page on 100,000 judgements.

1. ``demo.fill`` writes answers into a fresh database (SQLite file, or a throwaway
   PostgreSQL cluster with ``--postgres``); a queue of ``--items`` of them (a seeded random
   sample) is created through ``Review.create_queue``.
2. Half of the items are made complete as if 20 reviewers had judged them (k = 2, one
   ``correct`` criterion on a 1-5 scale, raters who agree about 80 % of the time): written
   with bulk inserts, which is set-up, not the measured part. That gives 100,000 judgements.
3. Measured: 20 reviewers in turn ask for their next item (``Review.next_item``: resume,
   give up stale claims, take the first wanted item never had) and judge it
   (``Review.submit``), ``--rounds`` times each. Server time per call: median, p95, max.
4. Measured: ``Review.agreement`` of the queue (alpha with 1,000 bootstrap resamples, kappa
   for every pair, the widest disagreements) and the Review page's Agreement view rendered
   in AppTest with an empty cache (the queue's figures, the 20 widest items' answers).

Targets (issue 14): next item < 100 ms server time; the agreement page < 2 s. Ratios are
figure / target, measured in the same run.

    .venv/bin/python benchmarks/review_scale.py [--items 100000] [--rounds 20] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback import demo
from chatfeedback.ids import new_id
from chatfeedback.review import QueueFilter, Review
from chatfeedback.rubric import parse_criteria
from chatfeedback.store import Store
from chatfeedback.store.schema import (
    review_assignments,
    review_items,
    review_judgements,
)

CRITERIA = parse_criteria([{"name": "correct", "kind": "scale"}], "benchmark")
SETTINGS = '[[criteria]]\nname = "correct"\nkind = "scale"\n'
PAGE = """
import time
import streamlit as st
from chatfeedback.ui import review_page
st.session_state["review_view"] = "Agreement"
st.cache_data.clear()  # inside the app's runtime: every measured run computes the figures
started = time.perf_counter()
review_page.render()
st.session_state["bench_seconds"] = time.perf_counter() - started
"""
REVIEWERS = [f"reviewer{i:02d}@example.org" for i in range(20)]


def complete_half(store: Store, queue_id: str, k: int, seed: int) -> int:
    """Mark the first half of the queue's items judged by k of the 20 reviewers each."""
    rng = np.random.default_rng(seed)
    with store.engine.connect() as conn:
        items = conn.execute(select(review_items.c.id, review_items.c.message_id).where(
            review_items.c.queue_id == queue_id).order_by(review_items.c.position)).all()
    half = items[: len(items) // 2]
    truth = rng.integers(1, 6, size=len(half))
    when = datetime.now(UTC)
    assignments, judgements = [], []
    for (item_id, message_id), true in zip(half, truth, strict=True):
        for reviewer in rng.choice(REVIEWERS, size=k, replace=False):
            value = true if rng.random() < 0.8 else rng.integers(1, 6)
            assignments.append({"item_id": item_id, "reviewer": str(reviewer),
                                "queue_id": queue_id, "state": "done", "claimed_at": when,
                                "finished_at": when})
            judgements.append({"id": new_id(), "item_id": item_id, "queue_id": queue_id,
                               "message_id": message_id, "reviewer": str(reviewer),
                               "criterion": "correct", "value": str(int(value)),
                               "created_at": when})
    with store.engine.begin() as conn:
        for rows, table in ((assignments, review_assignments), (judgements, review_judgements)):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[start:start + 20_000])
        last = len(half) - 1
        conn.execute(update(review_items).where(review_items.c.queue_id == queue_id,
                                                review_items.c.position <= last)
                     .values(taken=k, done=k, wanted=False))
    return len(judgements)


def page_seconds(url: str, config: Path, queue: str, reps: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.environ["CHATFEEDBACK_DATABASE_URL"] = url
    os.environ["CHATFEEDBACK_CONFIG"] = str(config)
    out = []
    for _ in range(reps + 1):  # the first run imports Streamlit, pandas, the krippendorff package
        at = AppTest.from_string(PAGE, default_timeout=120)
        at.query_params["queue"] = queue
        at.run()
        if at.exception:
            raise RuntimeError(at.exception)
        out.append(at.session_state["bench_seconds"])
    return out[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} at start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if args.postgres:
            from harness.pgcluster import PostgresServer
            server = PostgresServer()
            url = server.create_database()
        else:
            url = f"sqlite:///{Path(tmp) / 'review.db'}"
        try:
            return measure(url, Path(tmp), args)
        finally:
            if server is not None:
                server.close()


def measure(url: str, tmp: Path, args: argparse.Namespace) -> int:
    store = Store.open(url)
    started = time.perf_counter()
    demo.fill(store, int(args.items * 1.06), seed=3)
    print(f"demo answers: {time.perf_counter() - started:.1f} s", flush=True)
    review = Review(store, CRITERIA)
    started = time.perf_counter()
    queue = review.create_queue("bench", QueueFilter(sample=args.items, seed=1), k=2)
    print(f"queue of {queue.items:,} items created in {time.perf_counter() - started:.1f} s",
          flush=True)
    judged = complete_half(store, queue.id, queue.k, seed=2)
    print(f"{judged:,} judgements written (set-up)", flush=True)

    takes, submits = [], []
    rng = np.random.default_rng(4)
    for _ in range(args.rounds):
        for reviewer in REVIEWERS:
            t0 = time.perf_counter()
            item = review.next_item(queue, reviewer)
            takes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            review.submit(queue, item.id, reviewer, {"correct": int(rng.integers(1, 6))})
            submits.append(time.perf_counter() - t0)
    report("next item", takes, 0.100)
    report("submit", submits, None)

    agreement = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        result = review.agreement(review.queue("bench"))["correct"]
        agreement.append(time.perf_counter() - t0)
    print(f"alpha {result.alpha:.3f} [{result.low:.3f}, {result.high:.3f}] over "
          f"{result.items:,} items, {result.judgements:,} judgements, {len(result.pairs)} pairs")
    report("Review.agreement", agreement, 2.0)
    config = tmp / "chatfeedback.toml"
    config.write_text(SETTINGS, encoding="utf-8")
    report("Agreement page (AppTest, empty cache)", page_seconds(url, config, "bench", args.reps),
           2.0)
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    store.close()
    return 0


def report(name: str, seconds: list[float], target: float | None) -> None:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    line = (f"{name}: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms over {len(ordered)} calls")
    if target is not None:
        line += f"; target {target * 1000:.0f} ms, median/target {median / target:.2f}"
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
