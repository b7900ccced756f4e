"""The delivery outbox's two promises, measured in one run (not a test):

1. **Delivery does not slow a click.** Two `chatfeedback run` servers, each on its own SQLite
   file: one without sinks, one with three webhook sinks (each to a receiver process of its
   own, harness/receiver.py), whose worker delivers every rating while the clicks go on.
   One Streamlit websocket session per server (harness/stclient.py, as load.py) sends a
   prompt and rates the answer, ``--clicks`` times per round, the servers alternating for
   ``--rounds`` rounds; click-to-saved is the click's fragment run, whose callback has
   committed the rating (and its outbox row). Reported: medians and the ratio.
2. **A backlog drains fast.** ``--backlog`` events written to the outbox table while a
   webhook sink was known (as that many clicks would leave them; written in batches, not
   one transaction a click, to save the set-up's time), then one ``Worker.drain()`` (what
   ``chatfeedback sinks deliver`` runs): fan-out, batched reads and updates of
   ``[outbox] batch`` rows, ``threads`` keep-alive connections, to a receiver process.
   Reported: events per second, the delivering process's CPU time per event (what bounds
   the rate on a busy machine), and that every delivery is marked delivered.

    .venv/bin/python benchmarks/outbox.py [--rounds 6 --clicks 15] [--backlog 100000]
        [--db sqlite,postgresql] [--only clicks|drain]

The load average is printed before and after (the machine is shared): compare the figures
within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert

from chatfeedback.config import OutboxConfig
from chatfeedback.ids import new_id
from chatfeedback.outbox import registry
from chatfeedback.outbox.base import SinkSettings
from chatfeedback.outbox.worker import Worker
from chatfeedback.store import Store
from chatfeedback.store import outbox as queue
from chatfeedback.store.engine import now
from chatfeedback.store.schema import outbox
from harness.pgcluster import PostgresServer
from harness.receiver import spawned
from harness.stclient import StreamlitSession
from harness.support import Server, write_config

SECRET_ENV = "BENCH_WEBHOOK_SECRET"
os.environ.setdefault(SECRET_ENV, "bench-secret")
PUBLIC_ENV = "BENCH_LANGFUSE_PUBLIC"  # the langfuse sink's public key (--kinds)
os.environ.setdefault(PUBLIC_ENV, "pk-bench")
# What a receiver of each kind answers (status, JSON body) and the sink's keys of its own.
KINDS = {"webhook": (200, {}, f'secret_env = "{SECRET_ENV}"\n'),
         "langfuse": (202, {"message": "Accepted"},
                      f'secret_env = "{SECRET_ENV}"\npublic_key_env = "{PUBLIC_ENV}"\n'),
         "otel": (200, {}, "")}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def receiver(kind: str = "webhook") -> Iterator[str]:
    """A receiver in a process of its own, answering at once as a ``kind`` endpoint does
    (a webhook, Langfuse's scores API, an OTLP collector); yields its URL."""
    status, reply, _ = KINDS[kind]
    with spawned(status, reply) as url:
        yield url + ("/hook" if kind == "webhook" else "")


# ----------------------------------------------------------------- 1. click-to-saved
def sinks_toml(sinks: list[tuple[str, str]]) -> str:
    """``[[sinks]]`` entries ``hooks0``, ``hooks1``... for ``(kind, url)`` pairs."""
    return "".join(f'\n[[sinks]]\nname = "hooks{i}"\nkind = "{kind}"\nurl = "{url}"\n'
                   f'{KINDS[kind][2]}' for i, (kind, url) in enumerate(sinks))


async def clicks(url: str, count: int, seed: int) -> list[float]:
    """``count`` prompts, each answer rated: the click-to-saved times (seconds)."""
    times = []
    async with StreamlitSession(url) as tab:
        await tab.rerun()
        for n in range(count):
            prompt = f"round {seed} prompt {n}"
            await tab.rerun(chat=prompt)
            unrated = [k for k, (wid, _) in tab.feedback.items() if wid not in tab.values]
            if len(unrated) != 1:
                raise RuntimeError(f"expected one new rating widget, got {unrated}")
            click = await tab.click_feedback(unrated[0], n % 2)
            times.append(click.finished - click.started)
    return times


def click_to_saved(rounds: int, per_round: int, work: Path,
                   kinds: tuple[str, ...] = ("webhook",) * 3) -> None:
    models = '[[models]]\nname = "echo"\nbackend = "echo"\ndelay = 0.0\n'
    with ExitStack() as stack:
        urls = [(kind, stack.enter_context(receiver(kind))) for kind in kinds]
        plain = Server(f"sqlite:///{work / 'plain.db'}",
                       write_config(work / "plain.toml", models), log=work / "plain.log")
        sinks = Server(f"sqlite:///{work / 'sinks.db'}",
                       write_config(work / "sinks.toml", models + sinks_toml(urls)),
                       log=work / "sinks.log")
        for server in (plain, sinks):
            stack.callback(server.stop)
            server.start(timeout=180)
        asyncio.run(clicks(plain.url, 2, -1))  # warm-up: imports, first connections
        asyncio.run(clicks(sinks.url, 2, -1))
        times: dict[str, list[float]] = {"none": [], "three": []}
        for r in range(rounds):
            order = [("none", plain), ("three", sinks)]
            for label, server in (order if r % 2 == 0 else order[::-1]):
                times[label] += asyncio.run(clicks(server.url, per_round, r))
        store = Store.open(sinks.db_url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every click reached all three sinks
            figures = queue.status(store, [f"hooks{i}" for i in range(len(kinds))])
            if all(f.pending + f.queued == 0 for f in figures):
                break
            time.sleep(0.2)
        delivered = [f.delivered for f in figures]
        store.close()
    none, three = (statistics.median(times[k]) * 1000 for k in ("none", "three"))
    p95 = {k: statistics.quantiles(v, n=20)[-1] * 1000 for k, v in times.items()}
    print(f"| click-to-saved, median | {none:.1f} ms | {three:.1f} ms | {three / none:.3f} |")
    print(f"| click-to-saved, p95 | {p95['none']:.1f} ms | {p95['three']:.1f} ms | "
          f"{p95['three'] / p95['none']:.3f} |")
    print(f"({len(times['none'])} clicks each; deliveries per sink: {delivered}; the sinks "
          f"server wrote {sum(delivered)} deliveries while being clicked)")


# ----------------------------------------------------------------- 2. the backlog
def backlog(db_url: str, events: int, config: OutboxConfig) -> None:
    store = Store.open(db_url)
    with receiver() as url:
        settings = SinkSettings(name="hooks", kind="webhook", url=url, secret_env=SECRET_ENV,
                                timeout=10)
        worker = Worker(store, [(settings, registry.build(settings))], config)
        worker.register()  # the sink was known: the backlog is its
        written = now() + timedelta(seconds=1)
        rows = [{"id": new_id(), "created_at": written, "fanned": False,
                 "payload": {"id": "", "action": "set", "message_id": new_id(),
                             "conversation_id": new_id(), "value": n % 2, "scale": "thumbs",
                             "actor": f"user{n % 500}@example.org",
                             "at": written.isoformat(), "model": "llama", "trace_id": None,
                             "comment": None, "tags": [], "criterion": None, "label": None}}
                for n in range(events)]
        for row in rows:
            row["payload"]["id"] = row["id"]
        with store.engine.begin() as conn:
            for start in range(0, events, 5000):
                conn.execute(insert(outbox), rows[start:start + 5000])
        started, cpu = time.perf_counter(), time.process_time()
        tallies = worker.drain()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        for lane in worker.lanes:
            lane.close()
    [figures] = queue.status(store, ["hooks"])
    store.close()
    assert tallies is not None
    ok = figures.delivered == events and figures.pending == figures.queued == 0
    print(f"| {store.engine.dialect.name} | {events:,} | {elapsed:.1f} s | "
          f"{events / elapsed:,.0f} | {1000 * cpu / events:.2f} ms | {config.batch} | "
          f"{config.threads} | {'yes' if ok else f'NO: {figures}'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clicks", type=int, default=15, help="clicks per server per round")
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=OutboxConfig.batch)
    parser.add_argument("--threads", type=int, default=OutboxConfig.threads)
    parser.add_argument("--only", choices=("clicks", "drain"))
    parser.add_argument("--kinds", default="webhook,webhook,webhook",
                        help="the sinks of the click test, e.g. webhook,langfuse,otel")
    args = parser.parse_args()
    print(f"load average before: {load()}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="chatfeedback-outbox-") as tmp:
        if args.only != "drain":
            kinds = tuple(args.kinds.split(","))
            print(f"\n| | no sinks | sinks: {', '.join(kinds)} | ratio |\n|---|---:|---:|---:|",
                  flush=True)
            click_to_saved(args.rounds, args.clicks, Path(tmp), kinds)
            print(f"load average: {load()}", flush=True)
        if args.only != "clicks":
            print("\n| database | backlog | drained in | events/s | CPU per event | batch | "
                  "threads | all delivered |\n|---|---:|---:|---:|---:|---:|---:|---|",
                  flush=True)
            config = OutboxConfig(batch=args.batch, threads=args.threads)
            for db in args.db.split(","):
                if db == "sqlite":
                    backlog(f"sqlite:///{Path(tmp) / 'backlog.db'}", args.backlog, config)
                else:
                    pg = PostgresServer(durable=True)
                    try:
                        backlog(pg.create_database(), args.backlog, config)
                    finally:
                        pg.close()
    print(f"load average after: {load()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
