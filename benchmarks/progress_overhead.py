"""What the progress bar costs: each long command with standard error on a pseudo-terminal
(the bar drawn) against the same command with standard error on a pipe (the summary line
only), alternated in one run on one demo database.

    .venv/bin/python benchmarks/progress_overhead.py [--responses 200000] [--reps 3]

Reports, per command, the median wall time of each way and their ratio (terminal / pipe;
target below 1.05). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHATFEEDBACK = str(Path(sys.executable).parent / "chatfeedback")


def timed(args: list[str], cwd: Path, terminal: bool) -> float:
    """Seconds for ``chatfeedback ARGS``, standard error on a 120-column pseudo-terminal
    (read as it is written, as a terminal would) or on a pipe."""
    started = time.perf_counter()
    if not terminal:
        subprocess.run([CHATFEEDBACK, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        return time.perf_counter() - started
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([CHATFEEDBACK, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    try:
        while select.select([master], [], [], 600)[0]:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
    finally:
        os.close(master)
    if proc.wait() != 0:
        raise RuntimeError(f"{args} failed")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder / 'bench.db'}"
        subprocess.run([CHATFEEDBACK, "demo", "-n", str(args.responses), "--db", db],
                       check=True, stderr=subprocess.DEVNULL)
        commands = {
            "export jsonl": ["export", "--format", "jsonl", "-o", "out.jsonl", "--db", db],
            "export parquet": ["export", "--format", "parquet", "-o", "out.parquet",
                               "--db", db],
            "export kto": ["export", "--format", "kto", "-o", "kto.jsonl", "--db", db],
            "db rebuild-stats": ["db", "rebuild-stats", "--db", db],
        }
        print(f"load average {os.getloadavg()[0]:.1f}; {args.responses:,} demo answers; "
              f"median of {args.reps}")
        print(f"{'command':<18} {'terminal s':>10} {'pipe s':>8} {'ratio':>6}")
        for name, command in commands.items():
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.reps):
                for terminal in (True, False):
                    times[terminal].append(timed(command, folder, terminal))
            on, off = statistics.median(times[True]), statistics.median(times[False])
            print(f"{name:<18} {on:>10.2f} {off:>8.2f} {on / off:>6.2f}")
        demo = {terminal: timed(["demo", "-n", str(args.responses // 2), "--db",
                                 f"sqlite:///{folder / f'demo-{terminal}.db'}"], folder,
                                terminal) for terminal in (True, False)}
        print(f"{'demo (half)':<18} {demo[True]:>10.2f} {demo[False]:>8.2f} "
              f"{demo[True] / demo[False]:>6.2f}")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
