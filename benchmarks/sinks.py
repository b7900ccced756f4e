"""What one delivery costs per sink kind: the ``otel`` and ``langfuse`` sinks (and the
``webhook`` sink, the reference, when it is installed) sending to a local receiver in a
process of its own (harness/receiver.py), measured in one run.

    .venv/bin/python benchmarks/sinks.py [--events 2000] [--threads 8] [--reps 3]

For each kind: the median time of one send from one thread (latency) and the events per
second that ``--threads`` threads sustain (the outbox worker sends each sink's queue on
such a pool), best of ``--reps``; then each kind's rate as a ratio of the webhook's. The
load average is printed before and after: the figures are only comparable within a run.
Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback.outbox import registry
from chatfeedback.outbox.base import Event, SinkSettings
from harness.receiver import spawned

KINDS = {  # kind: (the receiver's status, its JSON answer, the sink's extra settings)
    "webhook": (200, None, {"secret_env": "BENCH_SECRET"}),
    "otel": (200, None, {}),
    "langfuse": (202, {"message": "Accepted"},
                 {"secret_env": "BENCH_SECRET", "options": {"public_key_env": "BENCH_PUBLIC"}}),
}


def event(n: int) -> Event:
    return Event(id=f"bench-{n:08d}", action="set", message_id=f"answer-{n}",
                 conversation_id="conversation", value=n % 2, scale="thumbs",
                 actor="rater@example.org", at="2026-12-01T22:30:00+00:00", model="llm",
                 trace_id="4bf92f3577b34da6a3ce929d0e0e4736", comment="fine", tags=("a",))


def measure(kind: str, events: int, threads: int, reps: int) -> dict[str, float]:
    status, reply, extra = KINDS[kind]
    with spawned(status, reply) as url:
        sink = registry.build(SinkSettings(name=kind, kind=kind, url=url, timeout=10.0,
                                           **extra))
        try:
            for n in range(50):  # warm-up: connections, imports, first-call costs
                sink.send(event(n))
            latencies = []
            for n in range(300):
                started = time.perf_counter()
                sink.send(event(n))
                latencies.append(time.perf_counter() - started)
            rates = []
            for _ in range(reps):
                started = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(lambda n: sink.send(event(n)), range(events)))
                rates.append(events / (time.perf_counter() - started))
        finally:
            sink.close()
    return {"latency_ms": statistics.median(latencies) * 1000, "rate": max(rates)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_SECRET", "bench-secret-0123456789")
    os.environ.setdefault("BENCH_PUBLIC", "pk-bench")
    kinds = [k for k in KINDS if k in registry.KINDS]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs; {args.events} events, {args.threads} threads, "
          f"best of {args.reps}")
    results = {}
    for kind in kinds:
        try:
            results[kind] = measure(kind, args.events, args.threads, args.reps)
        except Exception as exc:  # noqa: BLE001 - a kind that cannot run is reported
            print(f"{kind}: not measured ({type(exc).__name__}: {exc})")
    base = results.get("webhook", {}).get("rate")
    print("| sink | one send, median | events/s with the thread pool | rate / webhook's |")
    print("|---|---:|---:|---:|")
    for kind, r in results.items():
        ratio = f"{r['rate'] / base:.2f}" if base else "-"
        print(f"| `{kind}` | {r['latency_ms']:.2f} ms | {r['rate']:,.0f} | {ratio} |")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
