"""Does the chat cost the same at 1,000 turns as at 1? Page load and click-to-saved in Chromium.

Imports conversations of 1, 100 and 1,000 turns with ``chatfeedback import``, starts
``chatfeedback run``, opens each conversation in headless Chromium and measures, in the
page's own clock (``performance.now()``):

* load: from navigation start until the app has finished its run and every rendered
  answer shows its rating widget;
* click: from the click on 👍 until the message shows the server-confirmed "Saved"
  (a MutationObserver sees it: the widget's own highlight is drawn before the server
  answers, so it proves nothing);
* comment: from the click on the comment's Save until the saved summary replaces the form;
* prompt: from Enter in the chat box until the new answer shows its rating widget.

Sizes are measured interleaved (1, 100, 1000, 1, 100, 1000, ...) after one discarded
warm-up round, so that load from other processes falls on every size alike. Each figure is
the median of the repetitions; the ratios divide it by the 1-turn median. Targets at 1,000
turns: click ratio <= 1.3, load ratio <= 1.5.

    .venv/bin/python benchmarks/long_chat.py [--reps 7] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatfeedback.config import ChatConfig
from harness.support import CHROMIUM_ARGS, VENV_BIN, Server, chromium_path, write_config

TARGETS = {"click": 1.3, "load": 1.5}
METRICS = ("load", "click", "comment", "prompt")
START, END = "<!-- long_chat:start -->", "<!-- long_chat:end -->"
PAGE = ROOT / "docs" / "performance.md"  # the docs page --write-docs fills

# Resolves with performance.now() once the app is idle and shows `expected` messages, the
# last one with its rating widget.
LOADED = """([expected]) => {
  const app = document.querySelector("[data-testid='stApp']");
  const idle = app && app.dataset.testScriptState === "notRunning"
               && app.dataset.testConnectionState === "CONNECTED";
  const messages = document.querySelectorAll("[data-testid='stChatMessage']");
  const last = messages[messages.length - 1];
  return idle && messages.length === expected && last.querySelector("[data-testid='stFeedback']")
    ? performance.now() : false;
}"""

# Arms a timer: the next click (capture phase) starts it; `done(message)` stops it.
ARM = """([index, doneText, goneSelector]) => {
  const message = document.querySelectorAll("[data-testid='stChatMessage']")[index];
  window.__cf = {start: null, end: null};
  document.addEventListener("click", () => { window.__cf.start ??= performance.now(); },
                            {capture: true, once: true});
  const done = () => message.innerText.includes(doneText)
                     && (!goneSelector || !message.querySelector(goneSelector));
  new MutationObserver((_, observer) => {
    if (window.__cf.start !== null && done()) { window.__cf.end = performance.now(); observer.disconnect(); }
  }).observe(message, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

ELAPSED = "() => window.__cf && window.__cf.end !== null ? window.__cf.end - window.__cf.start : false"


def conversation(turns: int, tag: str) -> str:
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"{tag} question {i}: " + "lorem ipsum " * 8})
        messages.append({"role": "assistant", "content": f"answer {i}. " + "dolor sit amet " * 20})
    return json.dumps({"messages": messages, "model": "bench", "metadata": {"bench": tag}})


def import_all(db_url: str, sizes: list[int], rounds: int, work: Path) -> tuple[dict, float]:
    """``rounds`` conversations of each size, imported with the real CLI."""
    path = work / "conversations.jsonl"
    order = [(r, size) for r in range(rounds) for size in sizes]
    path.write_text("".join(conversation(size, f"r{r}-n{size}") + "\n" for r, size in order),
                    encoding="utf-8")
    started = time.perf_counter()
    out = subprocess.run([str(VENV_BIN / "chatfeedback"), "import", str(path), "--db", db_url],
                         capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    ids = out.stdout.split()
    return {key: cid for key, cid in zip(order, ids, strict=True)}, seconds


def measure(page, url: str, size: int, window: int) -> dict[str, float]:
    shown = min(size, window)
    page.goto(url, wait_until="commit")
    try:
        load = page.wait_for_function(LOADED, arg=[2 * shown], polling="raf",
                                      timeout=120_000).json_value()
    except Exception:
        page.screenshot(path="/tmp/cf-bench-timeout.png")
        raise
    page.wait_for_timeout(300)  # let the browser settle before the interactive timings
    messages = page.get_by_test_id("stChatMessage")
    last = 2 * shown - 1

    def timed(action, done_text: str, gone: str | None = None) -> float:
        page.evaluate(ARM, [last, done_text, gone])
        action()
        value = page.wait_for_function(ELAPSED, timeout=60_000).json_value()
        page.wait_for_timeout(300)
        return value

    click = timed(lambda: messages.nth(last).get_by_role("radio", name="Thumbs up").click(),
                  "Saved")
    answer = messages.nth(last)
    answer.get_by_role("textbox").fill("benchmark comment")
    comment = timed(lambda: answer.get_by_role("button", name="Save").click(),
                    "benchmark comment", "textarea")
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("one more question")
    expected = 2 * shown + 2  # the window as it was, plus the new prompt and answer
    started = page.evaluate("() => performance.now()")
    box.press("Enter")
    page.wait_for_timeout(50)
    prompt = page.wait_for_function(LOADED, arg=[expected], polling="raf",
                                    timeout=120_000).json_value() - started
    return {"load": load, "click": click, "comment": comment, "prompt": prompt}


def machine(browser_version: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, Streamlit "
            f"{version('streamlit')}, Chromium {browser_version}, SQLite")


def run(sizes: list[int], reps: int, window: int) -> dict:
    from playwright.sync_api import sync_playwright

    samples: dict[int, dict[str, list[float]]] = {s: {m: [] for m in METRICS} for s in sizes}
    with tempfile.TemporaryDirectory(prefix="cf-bench-") as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'bench.db'}"
        ids, import_seconds = import_all(db_url, sizes, reps + 1, work)
        config = write_config(work / "chatfeedback.toml", f"[chat]\nwindow = {window}\n")
        server = Server(db_url, config, log=work / "server.log").start()
        load_before = os.getloadavg()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS, headless=True)
                for r in range(reps + 1):
                    for size in sizes:
                        context = browser.new_context(viewport={"width": 1200, "height": 900})
                        page = context.new_page()
                        page.set_default_timeout(60_000)
                        result = measure(page, f"{server.url}?c={ids[(r, size)]}", size,
                                         window)
                        context.close()
                        print(f"round {r}{' (warm-up)' if r == 0 else ''} {size:>5} turns: "
                              + "  ".join(f"{k} {v:7.0f} ms" for k, v in result.items()),
                              flush=True)
                        if r:
                            for metric, value in result.items():
                                samples[size][metric].append(value)
                browser_version = browser.version
                browser.close()
        finally:
            server.stop()
        load_after = os.getloadavg()
    medians = {s: {m: statistics.median(v) for m, v in by.items()} for s, by in samples.items()}
    base = medians[sizes[0]]
    ratios = {s: {m: medians[s][m] / base[m] for m in METRICS} for s in sizes}
    return {"sizes": sizes, "reps": reps, "window": window, "samples": samples,
            "medians": medians, "ratios": ratios, "import_seconds": import_seconds,
            "imported_turns": sum(sizes) * (reps + 1),
            "machine": machine(browser_version), "loadavg": (load_before, load_after),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def report(result: dict) -> str:
    sizes, largest = result["sizes"], result["sizes"][-1]
    lines = [
        (f"Measured {result['date']} on {result['machine']}; `[chat] window = "
        f"{result['window']}`; median of {result['reps']} repetitions per size after a "
        "warm-up round, sizes interleaved. Load average "
        f"{result['loadavg'][0][0]:.1f} before, {result['loadavg'][1][0]:.1f} after (the "
        "benchmark's own browser and servers count too; above ~2 other work shared the "
        "2 cores and absolute times are noisy); the ratios come from one run."),
        "",
        "| turns | load (ms) | click-to-saved (ms) | comment save (ms) | new prompt (ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        med, ratio = result["medians"][size], result["ratios"][size]
        cells = [f"{med[m]:,.0f}" + ("" if size == sizes[0] else f" (×{ratio[m]:.2f})")
                 for m in METRICS]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    lines.append("")
    verdicts = []
    for metric, target in TARGETS.items():
        ratio = result["ratios"][largest][metric]
        verdicts.append(f"{metric} ratio at {largest:,} turns {ratio:.2f} (target ≤ {target}: "
                        f"{'met' if ratio <= target else 'NOT met'})")
    lines.append("; ".join(verdicts) + ". Importing "
                 f"{result['imported_turns']:,} turns took {result['import_seconds']:.1f} s.")
    return "\n".join(lines) + "\n"


def write_docs(text: str, page: Path = PAGE) -> None:
    content = page.read_text(encoding="utf-8")
    block = f"{START}\n{text}{END}"
    if START in content and END in content:
        head, rest = content.split(START, 1)
        content = head + block + rest.split(END, 1)[1]
    else:
        raise SystemExit(f"{page} has no {START} ... {END} block to fill")
    page.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000", help="turns per conversation")
    parser.add_argument("--reps", type=int, default=7, help="measured repetitions per size")
    parser.add_argument("--window", type=int, default=ChatConfig.window,
                        help="[chat] window (default: the app's default)")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"put the table in {PAGE.relative_to(ROOT)}")
    args = parser.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.reps, args.window)
    text = report(result)
    print()
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if args.write_docs:
        write_docs(text)
    largest = result["sizes"][-1]
    missed = [m for m, t in TARGETS.items() if result["ratios"][largest][m] > t]
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
