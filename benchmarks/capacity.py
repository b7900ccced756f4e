"""Capacity: what one replica costs per action and how many people it serves. Not a test.

    .venv/bin/python benchmarks/capacity.py --baseline <commit>     # everything, ~20 min
    .venv/bin/python benchmarks/capacity.py --parts cpu --reps 15
    .venv/bin/python benchmarks/capacity.py --baseline <commit> --write-docs

The servers compared run in the same run, their measurements interleaved, so that ratios
mean something on a shared machine: chatfeedback as checked out ("ours"), chatfeedback at
``--baseline`` (that commit's ``src/`` taken from git into a temp dir, first on PYTHONPATH)
and, for CPU, the seed tutorial (benchmarks/seed_app.py: the same echo answer, nothing
stored). Parts (``--parts``):

* ``cpu``: one session per server, ``--reps`` turns, servers taking turns: the server's CPU
  time (utime + stime of the process from /proc/<pid>/stat, read once it is idle again) per
  page open (a new session's first run), per prompt (its whole answer, streamed at the
  seed's 0.02 s a character) and per rating click.
* ``human``: sessions at a human pace through nginx, each arriving in the first 8 s, opening
  the page, then 3 times: reading 4-8 s, sending a prompt, reading 4-8 s, rating the answer
  (a lone session: 8 times, for a p95). p50/p95 of prompt-to-last-token and click-to-saved
  (as in benchmarks/load.py). 1, 25, 50, 100 and 200 sessions on one replica, 100 and 200
  on two; the baseline at 1 and 50 on one.
* ``burst``: benchmarks/load.py's scenario: 50 sessions at once, 4 prompts each rated at
  once, no pauses, one replica; ours and the baseline.
* ``memory``: one replica's RSS (ours) while ``--conversations`` (3,000) are made (10
  sessions at a time, each making 10 conversations of a prompt and a rating, then leaving),
  every 300: enough to see where it stops growing.

Every human, burst and memory run reads the database back: each clicked rating stored once
with its value, every answer complete, no error seen by a session or logged by a replica.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import load
from harness.stclient import StreamlitSession
from harness.support import VENV_BIN, Server, cpu_seconds, rss_mb, write_config

SEED_APP = Path(__file__).with_name("seed_app.py")
PAGE = ROOT / "docs" / "performance.md"  # the docs page --write-docs fills
CHART = ROOT / "docs" / "assets" / "capacity-p95.svg"
START, END = "<!-- capacity:start -->", "<!-- capacity:end -->"
SEED_ECHO = "[[models]]\nname = \"echo\"\nbackend = \"echo\"\ndelay = 0.02\n"  # as the seed
ANSWER = 'You said, "{}" ...interesting.'
PAUSE, ARRIVE, PAIRS, LONE_PAIRS = (4.0, 8.0), 8.0, 3, 8
ONE_REPLICA, TWO_REPLICAS, BASELINE_SIZES = (1, 25, 50, 100, 200), (100, 200), (1, 50)


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


class SeedServer(Server):
    """The seed tutorial under ``streamlit run``, with the flags ``chatfeedback run`` uses."""

    def command(self) -> list[str]:
        return [str(VENV_BIN / "python"), "-m", "streamlit", "run", str(SEED_APP),
                "--server.headless", "true", "--server.port", str(self.port),
                "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]


@dataclass
class Variant:
    name: str
    make: Callable[..., Server]  # (db url, config, log=...) -> Server, not started


def variants(baseline: str | None, work: Path) -> dict[str, Variant]:
    found = {"seed": Variant("seed", SeedServer), "ours": Variant("ours", Server)}
    if baseline:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", baseline],
                                check=True, capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"],
                                 check=True, capture_output=True).stdout
        (work / "baseline").mkdir()
        subprocess.run(["tar", "-x", "-C", str(work / "baseline")], input=archive, check=True)
        env = {"PYTHONPATH": str(work / "baseline" / "src")}
        found["baseline"] = Variant(f"baseline {commit}",
                                    lambda db, config, **kw: Server(db, config, env=env, **kw))
    return found


# ---------------------------------------------------------------- CPU per action
async def settle(pid: int, quiet: float = 0.15, ceiling: float = 5.0) -> float:
    """The process's CPU seconds once it has used none for ``quiet`` seconds (Streamlit
    collects garbage after a run's last message is sent: part of the run's cost)."""
    deadline = time.monotonic() + ceiling
    last, since = cpu_seconds(pid), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.03)
        now = cpu_seconds(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


async def measured(pid: int, action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    before = await settle(pid)
    result = await action()
    return await settle(pid) - before, result


@dataclass
class Costs:
    name: str
    page_open: list[float] = field(default_factory=list)
    prompt: list[float] = field(default_factory=list)
    click: list[float] = field(default_factory=list)


async def one_turn(server: Server, tab: StreamlitSession, cost: Costs, rep: int) -> None:
    """A new session's page open, then a prompt and a click in the long-lived ``tab``."""
    fresh = StreamlitSession(server.url)

    async def open_page() -> None:
        await fresh.__aenter__()
        await fresh.rerun()
    spent, _ = await measured(server.pid, open_page)
    await fresh.__aexit__()
    cost.page_open.append(spent)
    prompt = f"turn {rep} of {cost.name}"
    spent, run = await measured(server.pid, lambda: tab.rerun(chat=prompt))
    if run.first_time_containing(ANSWER.format(prompt)) is None:
        raise RuntimeError(f"{cost.name}: the answer to {prompt!r} was not shown")
    cost.prompt.append(spent)
    unrated = [k for k, (wid, _) in tab.feedback.items() if wid not in tab.values]
    if len(unrated) != 1:
        raise RuntimeError(f"{cost.name}: expected one new rating widget: {unrated}")
    spent, _ = await measured(server.pid, lambda: tab.click_feedback(unrated[0], 1))
    cost.click.append(spent)


async def cpu_turns(servers: list[tuple[str, Server]], reps: int) -> list[Costs]:
    costs = [Costs(name) for name, _ in servers]
    tabs = [StreamlitSession(server.url) for _, server in servers]
    try:
        for tab in tabs:
            await tab.__aenter__()
            await tab.rerun()
        for rep in range(reps):
            shift = rep % len(servers)  # each server goes first in turn
            for i in list(range(shift, len(servers))) + list(range(shift)):
                await one_turn(servers[i][1], tabs[i], costs[i], rep)
    finally:
        for tab in tabs:
            await tab.__aexit__()
    return costs


def cpu_part(chosen: list[Variant], work: Path, reps: int) -> dict[str, Any]:
    config = write_config(work / "cpu.toml", SEED_ECHO)
    servers: list[tuple[str, Server]] = []
    before = load_average()
    try:
        for v in chosen:
            tag = v.name.split()[0]
            servers.append((v.name, v.make(f"sqlite:///{work / f'cpu-{tag}.db'}", config,
                                           log=work / f"cpu-{tag}.log").start()))
        costs = asyncio.run(cpu_turns(servers, reps))
        rss = {name: rss_mb(server.pid) for name, server in servers}
    finally:
        for _, server in servers:
            server.stop()
    return {"reps": reps, "load_before": before, "load_after": load_average(),
            "costs": [asdict(c) for c in costs], "rss": rss}


def mean_ms(values: list[float]) -> float:
    return 1000 * sum(values) / len(values)


def cpu_table(part: dict[str, Any]) -> str:
    costs = part["costs"]
    seed = next(c for c in costs if c["name"] == "seed")
    lines = [("| server | CPU per page open ms | per prompt ms | per click ms | "
              "prompt ÷ seed | click ÷ seed |"), "|---|---|---|---|---|---|"]
    for c in costs:
        lines.append(
            f"| {c['name']} | {mean_ms(c['page_open']):,.0f} | {mean_ms(c['prompt']):,.0f} "
            f"| {mean_ms(c['click']):,.0f} | "
            f"{mean_ms(c['prompt']) / mean_ms(seed['prompt']):.2f} | "
            f"{mean_ms(c['click']) / mean_ms(seed['click']):.2f} |")
    return "\n".join(lines)


# ------------------------------------------------------- sessions: human pace, burst
def sessions_run(variant: Variant, work: Path, *, replicas: int, sessions: int,
                 human: bool) -> dict[str, Any]:
    """One load.py scenario (SQLite): at a human pace, or load.py's burst."""
    tag = f"{variant.name.split()[0]}-{'human' if human else 'burst'}-{replicas}-{sessions}"
    (work / tag).mkdir()
    prompts = (LONE_PAIRS if sessions == 1 else PAIRS) if human else \
        (20 if sessions == 1 else 4)
    before = load_average()
    r = load.scenario("sqlite", replicas, sessions, prompts, work / tag, None,
                      make=variant.make, pause=PAUSE if human else None,
                      arrive=ARRIVE if human else 0.0)
    ok = not (r.lost or r.duplicated or r.wrong or r.errors or r.not_complete)
    return {"server": variant.name, "kind": "human" if human else "burst",
            "replicas": replicas, "sessions": sessions, "ratings": len(r.click_to_saved),
            "prompt_p50": load.pct(r.to_last_token, 50),
            "prompt_p95": load.pct(r.to_last_token, 95),
            "click_p50": load.pct(r.click_to_saved, 50),
            "click_p95": load.pct(r.click_to_saved, 95),
            "wall": r.wall, "cpu": r.cpu, "rss": r.rss, "ok": ok,
            "problems": {"lost": r.lost, "duplicated": r.duplicated, "wrong": r.wrong,
                         "incomplete": r.not_complete, "errors": r.errors[:5]},
            "load_before": before, "load_after": load_average()}


def sessions_table(runs: list[dict[str, Any]]) -> str:
    lines = [("| server | replicas | sessions | ratings | prompt-to-last-token p50 ms | "
              "p95 ms | click-to-saved p50 ms | p95 ms | wall s | server CPU s | "
              "RSS MB per replica | stored once, no error | load average before → after |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        ms = [1000 * r[k] for k in ("prompt_p50", "prompt_p95", "click_p50", "click_p95")]
        ok = "yes" if r["ok"] else f"NO: {r['problems']}"
        lines.append(
            f"| {r['server']} | {r['replicas']} | {r['sessions']} | {r['ratings']} | "
            + " | ".join(f"{m:,.0f}" for m in ms)
            + f" | {r['wall']:.1f} | {sum(r['cpu']):.1f} | "
            + ", ".join(f"{x:,.0f}" for x in r["rss"])
            + f" | {ok} | {r['load_before'].split(' / ')[0]} → "
              f"{r['load_after'].split(' / ')[0]} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------ memory
async def conversations(url: str, seed: int, count: int, errors: list[str],
                        sent: dict[str, int]) -> None:
    """One session making ``count`` new conversations, each a prompt and a rating."""
    async with StreamlitSession(url) as tab:
        await tab.rerun()
        for n in range(count):
            tab.query_string = ""  # "New chat"
            prompt = f"memory {seed}.{n}"
            run = await tab.rerun(chat=prompt)
            if run.first_time_containing(ANSWER.format(prompt)) is None:
                errors.append(f"no answer to {prompt!r}")
                continue
            unrated = [k for k, (wid, _) in tab.feedback.items() if wid not in tab.values]
            if len(unrated) != 1:
                errors.append(f"expected one new rating widget: {unrated}")
                continue
            await tab.click_feedback(unrated[0], n % 2)
            sent[unrated[0].rsplit("fb_", 1)[-1]] = n % 2  # fb_<id> or cf_fb_<id>


def memory_run(variant: Variant, work: Path, total: int = 3000, at_once: int = 10,
               each: int = 10, every: int = 300) -> dict[str, Any]:
    """RSS after the first conversation and then every ``every`` conversations up to
    ``total`` (enough to pass the point where it stops growing), with the time taken."""
    tag = variant.name.split()[0]
    config = write_config(work / f"memory-{tag}.toml", SEED_ECHO.replace("0.02", "0.0"))
    db = f"sqlite:///{work / f'memory-{tag}.db'}"
    server = variant.make(db, config, log=work / f"memory-{tag}.log").start()
    errors: list[str] = []
    sent: dict[str, int] = {}
    samples = []
    try:
        asyncio.run(conversations(server.url, -1, 1, errors, sent))  # imports, first run
        began = time.monotonic()
        samples.append((1, 0.0, rss_mb(server.pid)))
        made = 1
        while made < total:
            async def batch(offset: int) -> None:
                await asyncio.gather(*(conversations(server.url, offset + i, each, errors,
                                                     sent) for i in range(at_once)))
            asyncio.run(batch(made))
            made += at_once * each
            if (made - 1) % every == 0:
                samples.append((made, time.monotonic() - began, rss_mb(server.pid)))
    finally:
        server.stop()
    result = load.Result("sqlite", 1, total // each, each, sent=sent, errors=errors)
    load.verify(db, result)
    ok = not (result.lost or result.duplicated or result.wrong or result.errors
              or result.not_complete)
    return {"server": variant.name, "samples": samples, "ok": ok,
            "problems": {"lost": result.lost, "duplicated": result.duplicated,
                         "errors": errors[:5]}}


def memory_table(runs: list[dict[str, Any]]) -> str:
    lines = ["| server | conversations made | seconds | RSS MB | stored once, no error |",
             "|---|---|---|---|---|"]
    for r in runs:
        ok = "yes" if r["ok"] else "NO: " + str(r["problems"])
        lines += [f"| {r['server']} | {n:,} | {t:.0f} | {mb:,.0f} | {ok} |"
                  for n, t, mb in r["samples"]]
    return "\n".join(lines)


# ------------------------------------------------------------------------- report
def chart(runs: list[dict[str, Any]], path: Path) -> bool:
    """p95 against sessions, one line per replica count and measure (Altair, written as
    SVG by vl-convert); False when vl-convert is not installed."""
    try:
        import altair as alt
        import vl_convert  # noqa: F401 - Altair's SVG export needs it
    except ImportError:
        return False
    rows = [{"sessions": r["sessions"], "p95 s": r[key],
             "measure": f"{label}, {r['replicas']} replica{'s' if r['replicas'] > 1 else ''}"}
            for r in runs if r["kind"] == "human" and r["server"] == "ours"
            for key, label in (("prompt_p95", "prompt-to-last-token"),
                               ("click_p95", "click-to-saved"))]
    lines = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("sessions:Q", title="sessions at a human pace"),
        y=alt.Y("p95 s:Q", title="p95 (s)"), color=alt.Color("measure:N", title=None))
    lines.properties(width=520, height=280).save(str(path))
    return True


def report(results: dict[str, Any]) -> str:
    out = [(f"Measured {results['when']} on {results['machine']}; load average (1, 5, 15 "
            f"min) {results['load_before']} at the start, {results['load_after']} at the "
            "end.")]
    if "cpu" in results:
        part = results["cpu"]
        out += ["", (f"Server CPU per action, one session per server, {part['reps']} turns "
                     f"each, servers taking turns (load average {part['load_before']} → "
                     f"{part['load_after']}):"), "", cpu_table(part)]
    for kind, title in (("human", "Sessions at a human pace"), ("burst", "load.py's burst")):
        runs = [r for r in results.get("sessions", []) if r["kind"] == kind]
        if runs:
            out += ["", f"{title}:", "", sessions_table(runs)]
    if "memory" in results:
        total = results["memory"][0]["samples"][-1][0] - 1
        out += ["", f"One replica's RSS while {total:,} conversations are made:", "",
                memory_table(results["memory"])]
    return "\n".join(out) + "\n"


def write_docs(text: str, page: Path = PAGE) -> None:
    content = page.read_text(encoding="utf-8")
    if START not in content or END not in content:
        raise SystemExit(f"{page} has no {START} ... {END} block to fill")
    head, rest = content.split(START, 1)
    page.write_text(head + f"{START}\n{text}{END}" + rest.split(END, 1)[1], encoding="utf-8")


def sizes(given: str) -> list[int]:
    """``--one-replica``/``--two-replicas``: session counts, comma-separated ("": none)."""
    return [int(n) for n in given.split(",") if n.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="cpu,human,burst,memory")
    parser.add_argument("--baseline", help="a commit of chatfeedback to measure beside ours")
    parser.add_argument("--reps", type=int, default=15, help="turns per server (cpu part)")
    parser.add_argument("--one-replica", default=",".join(map(str, ONE_REPLICA)))
    parser.add_argument("--two-replicas", default=",".join(map(str, TWO_REPLICAS)))
    parser.add_argument("--conversations", type=int, default=3000,
                        help="made by the memory part (its RSS sampled every 300)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"put the tables in {PAGE.relative_to(ROOT)} and the chart in "
                             f"{CHART.relative_to(ROOT)}")
    args = parser.parse_args()
    parts = args.parts.split(",")
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
                   f"{platform.python_version()}", "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="chatfeedback-capacity-") as tmp:
        work = Path(tmp)
        found = variants(args.baseline, work)
        ours, base = found["ours"], found.get("baseline")
        compared = [v for v in (base, ours) if v is not None]
        if "cpu" in parts:
            results["cpu"] = cpu_part([found["seed"], *compared], work, args.reps)
            print(cpu_table(results["cpu"]), flush=True)
        runs: list[dict[str, Any]] = results.setdefault("sessions", [])

        def measure(variant: Variant, **kw: Any) -> None:
            runs.append(sessions_run(variant, work, **kw))
            print(sessions_table(runs[-1:]).splitlines()[-1], flush=True)
        if "human" in parts:
            for n in sizes(args.one_replica):
                for v in compared if n in BASELINE_SIZES else [ours]:
                    measure(v, replicas=1, sessions=n, human=True)
            for n in sizes(args.two_replicas):
                measure(ours, replicas=2, sessions=n, human=True)
        if "burst" in parts:
            for v in compared:
                measure(v, replicas=1, sessions=50, human=False)
        if "memory" in parts:
            results["memory"] = [memory_run(ours, work, total=args.conversations)]
            print(memory_table(results["memory"]), flush=True)
    results["load_after"] = load_average()
    text = report(results)
    print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.write_docs:
        write_docs(text)
        if not chart(results.get("sessions", []), CHART):
            print("vl-convert-python is not installed: no chart", file=sys.stderr)
    ok = all(r["ok"] for r in runs) and all(m["ok"] for m in results.get("memory", []))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
