"""The drop-in chat's cost per action beside the app's and the seed tutorial's. Not a test.

    .venv/bin/python benchmarks/dropin.py [--reps 15]

Three servers in one run, their turns interleaved (benchmarks/capacity.py's ``cpu`` part,
reused): the seed tutorial (``streamlit run benchmarks/seed_app.py``), the app
(``chatfeedback run``) and a drop-in app (``streamlit run`` of a script that calls
``feedback_chat`` with a generator streaming the seed's echo at its 0.02 s a character),
each with the plain ``streamlit run`` defaults but for the port. The server's CPU time per
page open, per prompt (the whole streamed answer) and per rating click, and the ratios to
the app and to the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.capacity import SEED_ECHO, SeedServer, cpu_turns, load_average, mean_ms
from harness.support import Server, write_config

DROPIN_APP = textwrap.dedent('''
    import os
    import time

    import streamlit as st
    from chatfeedback.streamlit import feedback_chat

    def echo(messages):
        for char in f'You said, "{messages[-1]["content"]}" ...interesting.':
            yield char
            time.sleep(0.02)

    feedback_chat(echo, db=os.environ["FEEDBACK_DB"])
''')


class DropinServer(SeedServer):
    """``streamlit run`` of the drop-in app (the seed's flags: no chatfeedback ones)."""

    def __init__(self, script: Path, db_url: str, log: Path) -> None:
        super().__init__(db_url, env={"FEEDBACK_DB": db_url}, log=log)
        self.script = script

    def command(self) -> list[str]:
        seed = super().command()  # python -m streamlit run <seed_app.py> <flags>
        return [*seed[:4], str(self.script), *seed[5:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    reps = parser.parse_args().reps
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        script = work / "dropin_app.py"
        script.write_text(DROPIN_APP)
        config = write_config(work / "cpu.toml", SEED_ECHO)
        before = load_average()
        servers: list[tuple[str, Server]] = []
        try:
            servers.append(("seed", SeedServer(f"sqlite:///{work}/seed.db",
                                               log=work / "seed.log").start()))
            servers.append(("app", Server(f"sqlite:///{work}/app.db", config,
                                          log=work / "app.log").start()))
            servers.append(("drop-in", DropinServer(script, f"sqlite:///{work}/dropin.db",
                                                    work / "dropin.log").start()))
            costs = {c.name: c for c in asyncio.run(cpu_turns(servers, reps))}
        finally:
            for _, server in servers:
                server.stop()
    print(f"load average before: {before}; after: {load_average()}; {reps} turns each")
    print("| server | CPU per page open ms | per prompt ms | per click ms | click ÷ app | "
          "click ÷ seed |")
    print("|---|---|---|---|---|---|")
    app, seed = mean_ms(costs["app"].click), mean_ms(costs["seed"].click)
    for name, cost in costs.items():
        click = mean_ms(cost.click)
        print(f"| {name} | {mean_ms(cost.page_open):,.0f} | {mean_ms(cost.prompt):,.0f} | "
              f"{click:,.0f} | {click / app:.2f} | {click / seed:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
