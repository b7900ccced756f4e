"""A million answers: demo fill time, dashboard render time, Parquet export time and memory.

1. ``chatfeedback demo`` writes N answers (default 1,050,000 with every shown answer
   rated, which gives about 1,000,000 rated answers) into a fresh SQLite file.
2. The dashboard page renders on it in AppTest with empty caches (the figures are
   computed); Streamlit, pandas and Altair are imported by a warm-up run on an empty
   database first, so the figure is the page's own work. Repeated ``--reps`` times,
   median reported, together with each SQL aggregate on its own.
3. ``chatfeedback export --format parquet`` of every rated answer in a child process:
   wall time, and the peak of the summed proportional memory (PSS) of that process and
   its reader processes, sampled every 0.1 s.

Targets (issue 5): demo 1,000,000 answers < 60 s, dashboard < 2 s, Parquet export of
1,000,000 rows < 15 s and < 500 MB. Ratios are figure / target, measured in the same run.

    .venv/bin/python benchmarks/analytics_scale.py [--responses 1050000] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).with_name("chatfeedback"))]
PAGE = """
import time
import streamlit as st
from chatfeedback.ui import dashboard
started = time.perf_counter()
dashboard.render()
st.session_state["bench_seconds"] = time.perf_counter() - started
"""


def run_cli(*args: str) -> tuple[float, int, int, str]:
    """Wall seconds, the child's own peak resident memory in MB (os.wait4), the peak of the
    summed proportional memory (PSS, shared pages split between processes) of the child
    and its own children in MB (sampled every 0.1 s), and stderr."""
    with tempfile.TemporaryFile(mode="w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=err,
                                cwd=ROOT)
        tree_peak = 0
        while True:
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            tree_peak = max(tree_peak, _tree_pss_kb(proc.pid))
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        err.seek(0)
        text = err.read().strip()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args)} failed:\n{text}")
    return elapsed, usage.ru_maxrss // 1024, tree_peak // 1024, text


def _tree_pss_kb(pid: int) -> int:
    """PSS of ``pid`` and its descendants, in kB (0 for processes already gone)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            with open(f"/proc/{current}/task/{current}/children") as f:
                pids.extend(int(child) for child in f.read().split())
        except (OSError, StopIteration):
            continue
    return total


def render_seconds(url: str) -> tuple[float, float]:
    """The page script's own run time, and AppTest's whole run (which adds its own
    start-up: scanning installed packages for components, polling for widgets)."""
    from streamlit.testing.v1 import AppTest

    os.environ["CHATFEEDBACK_DATABASE_URL"] = url
    at = AppTest.from_string(PAGE, default_timeout=120)
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the dashboard failed: {at.exception[0].value}")
    return at.session_state["bench_seconds"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_050_000)
    parser.add_argument("--rated-share", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--keep", help="reuse/keep this database file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cf-bench-"))
    db = Path(args.keep) if args.keep else tmp / "million.db"
    url = f"sqlite:///{db}"
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average at start {os.getloadavg()[0]:.2f}")

    if not db.exists():
        seconds, _, _, note = run_cli("demo", "--responses", str(args.responses), "--rated-share",
                                   str(args.rated_share), "--seed", "1", "--db", url)
        print(f"demo: {note}")
        print(f"demo: {args.responses:,} answers in {seconds:.1f} s = "
              f"{args.responses / seconds:,.0f} answers/s; 1,000,000 answers would take "
              f"{seconds * 1_000_000 / args.responses:.1f} s (target 60 s, ratio "
              f"{seconds * 1_000_000 / args.responses / 60:.2f})")
    print(f"database: {db.stat().st_size / 1e6:,.0f} MB")

    from chatfeedback.analytics import Analytics
    from chatfeedback.store import Store
    from chatfeedback.ui import dashboard

    store = Store.open(url)
    analytics = Analytics(store)
    totals = analytics.totals()
    print(f"rated answers: {totals.rated:,} of {totals.answers:,} answers")
    for name in ("totals", "over_time", "by_model", "by_system_prompt", "tags",
                 "lowest_rated"):
        started = time.perf_counter()
        getattr(analytics, name)()
        print(f"  {name}: {(time.perf_counter() - started) * 1000:.0f} ms")

    empty = tmp / "empty.db"
    render_seconds(f"sqlite:///{empty}")  # imports Streamlit, pandas, Altair
    times, whole = [], []
    for _ in range(args.reps):
        dashboard._options.clear()
        dashboard._figures.clear()
        script, total = render_seconds(url)
        times.append(script)
        whole.append(total)
    median = statistics.median(times)
    print(f"dashboard render (cold cache, {args.reps} runs): page script median {median:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in times)}; target 2 s, ratio {median / 2:.2f}); "
          f"whole AppTest run median {statistics.median(whole):.2f} s")

    out = tmp / "ratings.parquet"
    seconds, own, peak, note = run_cli("export", "--format", "parquet", "-o", str(out), "--db",
                                       url)
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(out).metadata.num_rows
    print(f"parquet export: {note}; {rows:,} rows in {seconds:.1f} s "
          f"({rows / seconds:,.0f} rows/s; target 15 s for 1,000,000, ratio "
          f"{seconds * 1_000_000 / rows / 15:.2f}), peak memory of the export and its reader "
          f"processes {peak} MB PSS (target 500 MB, ratio {peak / 500:.2f}; the export "
          f"process alone {own} MB RSS), file {out.stat().st_size / 1e6:,.0f} MB")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
