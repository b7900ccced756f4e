"""What chatfeedback adds to a streamed answer: the raw ``openai`` SDK against the openai
backend and against the whole ChatService (history, timing, saves every second), all
reading the same answers from the OpenAI-protocol test server on 127.0.0.1.

    .venv/bin/python benchmarks/streaming.py [--chunks 2000] [--reps 5] [--turns 200]

Reports, per path, the median time to the first token and to the end of the answer, and
the ratio to the raw SDK (one reused client, a one-turn request) measured in the same run. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback.chat import ChatService
from chatfeedback.config import ModelConfig, Settings
from harness.openai_server import OpenAIServer, Script


def raw_sdk(client: openai.OpenAI, messages: list[dict[str, str]]) -> tuple[float, int]:
    started = time.perf_counter()
    first, count = None, 0
    stream = client.chat.completions.create(model="test-model", messages=messages,  # type: ignore[arg-type]
                                            stream=True,
                                            stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            count += 1
    return (first or started) - started, count


def backend_only(service: ChatService, messages: list[dict[str, str]]) -> tuple[float, int]:
    from chatfeedback.backends import Generation

    started = time.perf_counter()
    first, count = None, 0
    for piece in service.backend("bench").stream(messages, Generation()):
        if not piece:  # a chunk without text (the role chunk)
            continue
        first = first or time.perf_counter()
        count += 1
    return (first or started) - started, count


def whole_service(service: ChatService, conversation_id: str | None) -> tuple[float, int]:
    started = time.perf_counter()
    turn = service.send(conversation_id, "benchmark prompt")
    first, count = None, 0
    for _ in service.reply(turn.answer):
        first = first or time.perf_counter()
        count += 1
    assert service.store.message(turn.answer.id).status == "complete"
    return (first or started) - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000, help="chunks per answer")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200,
                        help="earlier turns in the long-conversation case")
    args = parser.parse_args()
    words = [f" w{i}" for i in range(args.chunks)]
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.default = Script(text=words)
        model = ModelConfig("bench", "openai", options={"base_url": server.base_url,
                                                       "model": "test-model"})
        service = ChatService.open(Settings(database_url=f"sqlite:///{tmp}/bench.db",
                                            models=(model,)))
        long_conv = service.new_conversation(model="bench")
        for i in range(args.turns):
            prompt = service.store.add_message(long_conv.id, "user", f"question {i}")
            service.store.add_message(long_conv.id, "assistant", f"answer {i} " * 40,
                                      parent_id=prompt.id)
        messages = [{"role": "user", "content": "benchmark prompt"}]
        long_messages = service.history(service.store.messages(long_conv.id)[-1])
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        paths = {
            "raw openai SDK": lambda: raw_sdk(client, messages),
            "openai backend": lambda: backend_only(service, messages),
            "ChatService (new chat, SQLite)": lambda: whole_service(service, None),
            f"raw openai SDK, {args.turns} earlier turns": lambda: raw_sdk(client,
                                                                          long_messages),
            f"ChatService, {args.turns} earlier turns": lambda: whole_service(
                service, long_conv.id),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
        for name, run in paths.items():
            run()  # warm-up: connections, imports
        for _ in range(args.reps):
            for name, run in paths.items():  # interleaved, so that load hits all alike
                started = time.perf_counter()
                ttft, _ = run()
                results[name].append((ttft * 1000, (time.perf_counter() - started) * 1000))
        service.store.close()
    base_ttft = statistics.median(t for t, _ in results["raw openai SDK"])
    base_total = statistics.median(r for _, r in results["raw openai SDK"])
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"openai {openai.__version__}, {args.chunks} chunks x {args.reps} reps, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| path | first token ms | × raw | whole answer ms | × raw |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        ttft = statistics.median(t for t, _ in rows)
        total = statistics.median(r for _, r in rows)
        print(f"| {name} | {ttft:.1f} | {ttft / base_ttft:.2f} | {total:,.0f} | "
              f"{total / base_total:.2f} |")


if __name__ == "__main__":
    main()
