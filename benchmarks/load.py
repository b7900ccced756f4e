"""Load: N concurrent sessions send prompts and rate every answer, through nginx in front of
1 or 2 replicas, on SQLite and on PostgreSQL. Checks that no rating is lost or duplicated
and that no session sees an error ("database is locked", "Rating not saved", ...), and
reports p50/p95 of prompt-to-last-token and click-to-saved.

    .venv/bin/python benchmarks/load.py                       # the whole matrix
    .venv/bin/python benchmarks/load.py --db sqlite --sessions 50 --replicas 2

Each session is a websocket client speaking Streamlit's protocol (harness/stclient.py).
Prompt-to-last-token: from sending the prompt to the message that shows the whole answer.
Click-to-saved: from the click to the end of the rating's fragment run, whose callback has
committed the rating by then. Sessions start together and do not pause between actions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback.store import Store
from harness.pgcluster import PostgresServer
from harness.stclient import StreamlitSession
from harness.support import Nginx, Server, cpu_seconds, rss_mb, write_config

ECHO_DELAY = 0.005  # seconds per character: ~0.2 s of streaming per answer
MakeServer = Callable[..., Server]
BAD_WORDS = ("locked", "not saved", "not sent", "cannot be", "error", "Error")


@dataclass
class Result:
    db: str
    replicas: int
    sessions: int
    prompts: int
    wall: float = 0.0
    to_last_token: list[float] = field(default_factory=list)
    click_to_saved: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # answer id -> rating clicked
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    not_complete: int = 0
    cpu: list[float] = field(default_factory=list)  # each replica's CPU seconds in the run
    rss: list[float] = field(default_factory=list)  # each replica's RSS (MB) at the end


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def one_session(url: str, route: str, prompts: int, seed: int, result: Result,
                      pause: tuple[float, float] | None = None, arrive: float = 0.0) -> None:
    """Open the page, then send ``prompts`` prompts and rate each answer; with ``pause``,
    read for a random time in that range (seconds) before each prompt and each click,
    and arrive at a random time in the first ``arrive`` seconds (a human pace)."""
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, arrive))

    async def read() -> None:
        if pause:
            await asyncio.sleep(rng.uniform(*pause))
    async with StreamlitSession(url, cookie=f"chatfeedback_route={route}") as tab:
        await tab.rerun()
        for n in range(prompts):
            prompt = f"session {seed} prompt {n}: {rng.randrange(10**6)}"
            await read()
            run = await tab.rerun(chat=prompt)
            shown = run.first_time_containing(f'You said, "{prompt}" ...interesting.')
            if shown is None:
                result.errors.append(f"{route}: answer to {prompt!r} not shown")
                continue
            result.to_last_token.append(shown - run.started)
            result.errors += [t for t in run.texts() if any(w in t for w in BAD_WORDS)]
            unrated = [k for k, (wid, _) in tab.feedback.items() if wid not in tab.values]
            if len(unrated) != 1:
                result.errors.append(f"{route}: expected one new rating widget: {unrated}")
                continue
            value = rng.randrange(2)
            await read()
            click = await tab.click_feedback(unrated[0], value)
            result.click_to_saved.append(click.finished - click.started)
            result.errors += [t for t in click.texts() if any(w in t for w in BAD_WORDS)]
            result.sent[unrated[0].rsplit("fb_", 1)[-1]] = value  # fb_<id> or cf_fb_<id>


def verify(db_url: str, result: Result) -> None:
    """Every clicked rating is stored once, with the clicked value; every answer complete."""
    store = Store.open(db_url)
    try:
        events = Counter(e["message_id"] for e in store.iter_events() if e["action"] == "set")
        stored = {}
        for conv in store.list_conversations(limit=10_000):
            stored.update({k: r.value for k, r in store.ratings(conv.id).items()})
            result.not_complete += sum(1 for m in store.messages(conv.id)
                                       if m.role == "assistant" and m.status != "complete")
        result.lost = sum(1 for mid in result.sent if mid not in stored)
        result.wrong = sum(1 for mid, v in result.sent.items() if mid in stored
                           and stored[mid] != v)
        result.duplicated = sum(n - 1 for n in events.values() if n > 1) + \
            sum(1 for mid in stored if mid not in result.sent)
    finally:
        store.close()


def scenario(db: str, replicas: int, sessions: int, prompts: int, work: Path,
             pg: PostgresServer | None, *, make: MakeServer = Server,
             pause: tuple[float, float] | None = None, arrive: float = 0.0,
             echo_delay: float = ECHO_DELAY) -> Result:
    """``sessions`` sessions through nginx in front of ``replicas`` replicas made by
    ``make`` (db url, config, log=...); see :func:`one_session` for ``pause`` and
    ``arrive``. The result has the replicas' CPU time and RSS at the end."""
    result = Result(db, replicas, sessions, prompts)
    db_url = pg.create_database() if db == "postgresql" else \
        f"sqlite:///{work / f'load-{replicas}-{sessions}.db'}"
    config = write_config(work / "load.toml", "[[models]]\nname = \"echo\"\nbackend = \"echo\"\n"
                          f"delay = {echo_delay}\n")
    servers = [make(db_url, config, log=work / f"replica{i}.log") for i in range(replicas)]
    with ThreadPoolExecutor(replicas) as pool:
        list(pool.map(lambda s: s.start(), servers))
    nginx = Nginx(work / f"nginx-{db}-{replicas}-{sessions}", [s.port for s in servers]).start()
    try:
        warm = Result(db, replicas, 1, 1)  # first runs import and connect: not measured
        for server in servers:
            asyncio.run(one_session(nginx.url, nginx.route_to(server.port), 1, 0, warm))
        started = time.perf_counter()
        cpu = [cpu_seconds(s.pid) for s in servers]

        async def everyone() -> None:
            await asyncio.gather(*(one_session(nginx.url, f"load-{i}", prompts, i + 1, result,
                                               pause, arrive) for i in range(sessions)))
        asyncio.run(everyone())
        result.wall = time.perf_counter() - started
        result.cpu = [cpu_seconds(s.pid) - c for s, c in zip(servers, cpu)]
        result.rss = [rss_mb(s.pid) for s in servers]
        result.sent.update(warm.sent)
        result.errors += warm.errors
    finally:
        nginx.stop()
        for server in servers:
            server.stop()
    for server in servers:  # nothing went wrong behind the scenes either
        log = server.log_path.read_text(errors="replace") if server.log_path else ""
        result.errors += [f"replica log: {line}" for line in log.splitlines()
                          if "Traceback" in line or "locked" in line]
    verify(db_url, result)
    if pg is not None and db == "postgresql":
        pg.drop_database(db_url)
    return result


def row(r: Result) -> str:
    ok = "yes" if not (r.lost or r.duplicated or r.wrong or r.errors or r.not_complete) \
        else f"NO: lost {r.lost}, duplicated {r.duplicated}, wrong {r.wrong}, " \
             f"incomplete {r.not_complete}, errors {len(r.errors)}"
    ms = [1000 * pct(r.to_last_token, 50), 1000 * pct(r.to_last_token, 95),
          1000 * pct(r.click_to_saved, 50), 1000 * pct(r.click_to_saved, 95)]
    return (f"| {r.db} | {r.replicas} | {r.sessions} | {len(r.click_to_saved)} | "
            + " | ".join(f"{m:,.0f}" for m in ms) + f" | {r.wall:.1f} | {ok} |")


HEADER = ("| database | replicas | sessions | ratings | prompt-to-last-token p50 ms | p95 ms | "
          "click-to-saved p50 ms | p95 ms | wall s | every rating stored once, no error |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--sessions", default="1,50")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per session at N > 1")
    parser.add_argument("--single-prompts", type=int, default=20,
                        help="prompts of the lone session (enough for a p95)")
    args = parser.parse_args()
    dbs = args.db.split(",")
    pg = PostgresServer(durable=True) if "postgresql" in dbs else None
    results = []
    print(HEADER, flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="chatfeedback-load-") as tmp:
            for db in dbs:
                for replicas in map(int, args.replicas.split(",")):
                    for sessions in map(int, args.sessions.split(",")):
                        prompts = args.single_prompts if sessions == 1 else args.prompts
                        work = Path(tmp) / f"{db}-{replicas}-{sessions}"
                        work.mkdir()
                        result = scenario(db, replicas, sessions, prompts, work, pg)
                        results.append(result)
                        print(row(result), flush=True)
                        for error in result.errors[:5]:
                            print(f"    error: {error[:200]}", flush=True)
    finally:
        if pg is not None:
            pg.close()
    return 0 if all(not (r.lost or r.duplicated or r.wrong or r.errors or r.not_complete)
                    for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
