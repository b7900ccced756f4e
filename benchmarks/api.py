"""What the Python API costs: importing it, and one logged exchange with its rating against
the same rows written through the Store directly, alternated in one run.

    .venv/bin/python benchmarks/api.py [--reps 9] [--exchanges 200]

Import: median wall and CPU seconds of a fresh interpreter that runs ``pass``, ``import
chatfeedback`` and ``import chatfeedback; chatfeedback.connect`` (the API's modules loaded).
Writes: per exchange (a prompt, its answer, shown, rated thumbs up) on a SQLite file,
``Feedback.log`` + ``Feedback.rate`` against ``Store.create_conversation``, two
``add_message``, ``mark_shown`` and ``rate``; the ratio is API / Store (the API also reads
the rating policy's newest answer and the stored turn back). Not part of ``make test``.
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

import chatfeedback
from chatfeedback.store import Store

IMPORTS = {"python": "pass", "import chatfeedback": "import chatfeedback",
           "+ chatfeedback.connect": "import chatfeedback\nchatfeedback.connect"}


def fresh(code: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def through_api(fb: chatfeedback.Feedback, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        turn = fb.log(f"question {i}", f"answer {i}", model="m", user="bench")
        fb.rate(turn.answer.id, 1, rater="bench")
    return (time.perf_counter() - started) / n


def through_store(store: Store, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        conversation = store.create_conversation(owner="bench", model="m", source="api")
        prompt = store.add_message(conversation.id, "user", f"question {i}")
        answer = store.add_message(conversation.id, "assistant", f"answer {i}",
                                   parent_id=prompt.id, model="m")
        store.mark_shown([answer.id])
        store.rate(answer.id, 1, scale="thumbs", actor="bench", allow_change=False)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--exchanges", type=int, default=200)
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
    for _ in range(options.reps):  # alternated: the machine's load hits each alike
        for name, code in IMPORTS.items():
            times[name].append(fresh(code))
    base_wall = statistics.median(w for w, _ in times["python"])
    base_cpu = statistics.median(c for _, c in times["python"])
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:24s} wall {wall * 1000:7.0f} ms  cpu {cpu * 1000:7.0f} ms  "
              f"(over python: wall {(wall - base_wall) * 1000:6.0f} ms, "
              f"cpu {(cpu - base_cpu) * 1000:6.0f} ms)")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/api.db"
        fb = chatfeedback.connect(url)
        store = Store.open(url)
        api, direct = [], []
        for _ in range(options.reps):
            api.append(through_api(fb, options.exchanges))
            direct.append(through_store(store, options.exchanges))
        fb.close()
        store.close()
    a, d = statistics.median(api), statistics.median(direct)
    print(f"per exchange (log + rate): API {a * 1000:.2f} ms, Store {d * 1000:.2f} ms, "
          f"ratio {a / d:.2f} ({options.reps} x {options.exchanges} alternated)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
