"""What a command costs before it does anything: ``chatfeedback --help``, ``db revision``
and a small ``export``, each run in a fresh interpreter, alternated with the same commands
of another checkout when one is given, in one run.

    .venv/bin/python benchmarks/cli_startup.py [--reps 9] [--baseline OTHER/src]
    # a baseline: git worktree add /tmp/base <commit>; --baseline /tmp/base/src

Reports, per command, the median wall and CPU (user + system) seconds of each, their ratio
(this / baseline), which of scipy, pandas and pyarrow were loaded, and the load average
(the machine is shared: CPU time is the steadier figure). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "pandas", "pyarrow")
# runs the command in-process, then says which heavy libraries it loaded
PROGRAM = ("import sys\nfrom chatfeedback.cli import main\ntry:\n    main(sys.argv[1:], "
           "prog_name='chatfeedback')\nexcept SystemExit as exit:\n    assert not exit.code\n"
           f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules) or '-', file=sys.stderr)")


def timed(src: Path, args: list[str], cwd: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run of ``chatfeedback ARGS`` from ``src``, and the heavy
    libraries it loaded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROGRAM, *args], cwd=cwd, check=True,
                          env=dict(os.environ, PYTHONPATH=str(src)),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--baseline", type=Path, help="another checkout's src folder")
    options = parser.parse_args()
    sources = {"this": ROOT / "src"}
    if options.baseline:
        sources["baseline"] = options.baseline.resolve()
    with tempfile.TemporaryDirectory() as folder:
        # a database each: an older checkout refuses one migrated beyond what it knows
        urls = {source: f"sqlite:///{folder}/{source}.db" for source in sources}
        commands = {"--help": lambda url: ["--help"],
                    "db revision": lambda url: ["db", "revision", "--db", url],
                    "export jsonl": lambda url: ["export", "-q", "--db", url,
                                                 "-o", f"{folder}/out.jsonl"]}
        for source, src in sources.items():
            timed(src, ["db", "upgrade", "-q", "--db", urls[source]], folder)
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        for name, args in commands.items():
            runs: dict[str, list[tuple[float, float, str]]] = {s: [] for s in sources}
            for _ in range(options.reps):
                for source, src in sources.items():  # alternated: both see the same load
                    runs[source].append(timed(src, args(urls[source]), folder))
            medians = {}
            for source, measured in runs.items():
                wall = statistics.median(r[0] for r in measured)
                cpu = statistics.median(r[1] for r in measured)
                medians[source] = (wall, cpu)
                print(f"{name:<13} {source:<8}  wall {wall:5.2f} s  cpu {cpu:5.2f} s  "
                      f"loads: {measured[-1][2]}")
            if "baseline" in medians:
                (w, c), (bw, bc) = medians["this"], medians["baseline"]
                print(f"{name:<13} ratio     wall {w / bw:5.2f}    cpu {c / bc:5.2f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
