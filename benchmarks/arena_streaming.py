"""An arena round's two first tokens against one chat's first token, from the same
OpenAI-protocol server on 127.0.0.1 (target: both sides within 1.2 x the single chat).

    .venv/bin/python benchmarks/arena_streaming.py [--reps 15] [--first-token-ms 0,300]

Each repetition, interleaved: a new chat through ChatService (send, then the reply's first
text), and a new arena round through Arena (start: the draw, both conversations, the round,
both prompts and answer rows; then both replies read at once by ``interleave``), timed from
the call until the first text of the slower side. The server runs in a process of its own and waits ``--first-token-ms``
before each answer's first text (0: only chatfeedback's own work is measured; 300: a model
that takes 300 ms to its first token). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback.arena import Arena, interleave
from chatfeedback.chat import ChatService
from chatfeedback.config import ArenaConfig, ModelConfig, Settings
from harness.openai_server import OpenAIServer, Script


def serve(delay: float, conn) -> None:
    """The model server in a process of its own, as a real one is (in this process its
    threads would compete with the client's for the GIL)."""
    with OpenAIServer() as server:
        server.default = Script(text=[f" w{i}" for i in range(20)], first_token_delay=delay)
        conn.send(server.base_url)
        conn.recv()  # until told to stop


def single(service: ChatService) -> float:
    started = time.perf_counter()
    turn = service.send(None, "benchmark prompt", model="one")
    first = None
    for piece in service.reply(turn.answer):
        if piece and first is None:
            first = time.perf_counter() - started
    assert first is not None
    return first


def both(arena: Arena) -> tuple[float, float]:
    started = time.perf_counter()
    turn = arena.start("benchmark prompt", voter="bench")
    firsts: dict[str, float] = {}
    for side, piece in interleave(arena.replies(turn)):
        if piece and side not in firsts:
            firsts[side] = time.perf_counter() - started
    return firsts["a"], firsts["b"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--first-token-ms", default="0,300")
    args = parser.parse_args()
    delays = [float(d) / 1000 for d in args.first_token_ms.split(",")]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, SQLite, {args.reps} repetitions interleaved; load average "
          f"{load:.1f} before")
    print("| server's first-token delay | single chat ms | arena, slower side ms | ratio |")
    print("|---|---|---|---|")
    worst = 0.0
    for delay in delays:
        parent, child = multiprocessing.Pipe()
        process = multiprocessing.Process(target=serve, args=(delay, child), daemon=True)
        process.start()
        base_url = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            models = tuple(ModelConfig(name, "openai", options={
                "base_url": base_url, "model": "test-model"}) for name in ("one", "two"))
            service = ChatService.open(Settings(database_url=f"sqlite:///{tmp}/bench.db",
                                                models=models,
                                                arena=ArenaConfig(models=("one", "two"))))
            arena = Arena(service)
            single(service), both(arena)   # warm-up: connections, imports
            chats, rounds = [], []
            for _ in range(args.reps):
                chats.append(single(service))
                rounds.append(max(both(arena)))
            service.store.close()
        parent.send("stop")
        process.join(10)
        chat_ms = statistics.median(chats) * 1000
        round_ms = statistics.median(rounds) * 1000
        ratio = round_ms / chat_ms
        if delay > 0:
            worst = max(worst, ratio)
        print(f"| {delay * 1000:.0f} ms | {chat_ms:.1f} | {round_ms:.1f} | {ratio:.2f} |")
    print(f"load average {os.getloadavg()[0]:.1f} after")
    return 0 if worst <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
