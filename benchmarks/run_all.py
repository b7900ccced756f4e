"""Run every benchmark one after another (never in parallel: they measure the machine).

    .venv/bin/python benchmarks/run_all.py [name ...]
    # names: streaming long_chat load analytics_scale arena arena_streaming review_scale
    #        progress_overhead capacity sinks api dropin outbox
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["streaming", "long_chat", "load", "analytics_scale", "arena", "arena_streaming",
         "review_scale", "progress_overhead", "capacity", "sinks", "api", "dropin", "outbox"]


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)} (choose from {', '.join(ORDER)})",
              file=sys.stderr)
        return 2
    failed = []
    for name in names or ORDER:
        print(f"== {name}", flush=True)
        if subprocess.call([sys.executable, str(HERE / f"{name}.py")]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
