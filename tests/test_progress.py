"""Progress of long commands: a bar on a terminal (a real pseudo-terminal from the standard
library's ``pty``), exactly the summary line without one, nothing with --quiet."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from tqdm import tqdm

from chatfeedback import demo
from chatfeedback.store import Store
from chatfeedback.store.store import alembic_config

from .support import VENV_BIN

CHATFEEDBACK = str(VENV_BIN / "chatfeedback")
CEILING = 180  # seconds: a generous bound for one command, never a wait for its own sake
# One tqdm frame: "what:  42%|███   | 420/1000 [00:01<00:02, 350.00 rows/s]" (or, without a
# total, "what: 420 rows [00:01, 350.00 rows/s]").
FRAME = re.compile(r"(?P<what>\w+): +(?:(?P<pct>\d+)%\|[^|]*\| *)?(?P<n>[\d.]+[kMG]?B?)"
                   r"(?:/(?P<total>[\d.]+[kMG]?B?))? *(?P<unit>[^\[]*)\[(?P<times>[^\]]*)\]")


def on_terminal(*args: str, cwd: Path, exit_code: int = 0) -> tuple[str, str]:
    """Run ``chatfeedback ARGS`` with standard error on a pseudo-terminal 120 columns wide;
    its stdout and what the terminal showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    stdout = cwd / f"stdout-{time.monotonic_ns()}"
    with stdout.open("wb") as out:
        proc = subprocess.Popen([CHATFEEDBACK, *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=slave, cwd=cwd)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + CEILING
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert proc.wait(timeout=max(1.0, deadline - time.monotonic())) == exit_code, shown
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return stdout.read_text(encoding="utf-8"), shown.decode("utf-8", errors="replace")


def piped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(check=False, args=[CHATFEEDBACK, *args], capture_output=True, text=True, cwd=cwd,
                            timeout=CEILING)
    assert result.returncode == 0, result.stderr
    return result


def frames(shown: str, what: str) -> list[re.Match[str]]:
    found = [FRAME.search(part) for part in re.split(r"[\r\n]", shown)]
    return [m for m in found if m and m["what"] == what]


def assert_bar(shown: str, what: str, count: int | str, unit: str,
               first_total: int | None = None) -> re.Match[str]:
    """A bar labelled ``what`` was drawn, its last frame at ``count`` of ``count`` (100 %),
    with a rate in ``unit``/s and the elapsed and remaining time."""
    bars = frames(shown, what)
    assert bars, f"no {what} bar in {shown!r}"
    last = bars[-1]
    assert (last["n"], last["total"], last["pct"]) == (str(count), str(count), "100"), \
        last.group(0)
    assert re.fullmatch(r"\d\d:\d\d<\d\d:\d\d, +[\d.?]+ ?" + re.escape(unit.strip()) + "/s.*",
                        last["times"]), last.group(0)
    if first_total is not None:  # the total was known from the start
        assert bars[0]["total"] == str(first_total), bars[0].group(0)
    return last


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, str, Store]:
    """A demo database, plus a few ratings given through the Store (the audit trail)."""
    folder = tmp_path_factory.mktemp("progress")
    url = f"sqlite:///{folder / 'demo.db'}"
    store = Store.open(url)
    demo.fill(store, 1500, seed=4, weeks=3)
    conv = store.create_conversation(model="echo")
    for i in range(3):
        user = store.add_message(conv.id, "user", f"q{i}")
        answer = store.add_message(conv.id, "assistant", f"a{i}", parent_id=user.id,
                                   model="echo", backend="echo")
        store.rate(answer.id, 1, scale="thumbs")
    yield folder, url, store
    store.close()


def test_demo(tmp_path):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    _, shown = on_terminal("demo", "-n", "1500", "--db", db, cwd=tmp_path)
    assert_bar(shown, "creating", 1500, "answers", first_total=1500)
    summary = re.compile(r"created 1,500 answers in [\d,]+ conversations, .*; database: "
                         + re.escape(db) + r"\n")
    assert summary.search(shown.replace("\r\n", "\n"))
    plain = piped("demo", "-n", "1500", "--db", f"sqlite:///{tmp_path / 'e.db'}", cwd=tmp_path)
    assert plain.stdout == "" and summary.fullmatch(plain.stderr.replace(
        f"sqlite:///{tmp_path / 'e.db'}", db))
    _, quiet = on_terminal("demo", "-n", "100", "--quiet", "--db",
                           f"sqlite:///{tmp_path / 'f.db'}", cwd=tmp_path)
    assert quiet == ""
    _, shown = on_terminal("demo", "--experiment", "-n", "400", "--db",
                           f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert_bar(shown, "creating", 400, "ratings", first_total=400)
    assert "created experiment demo-concise: 400 ratings" in shown


def test_import(tmp_path):
    path = tmp_path / "logs.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": f"question {i} " * 20},
                                      {"role": "assistant", "content": "answer " * 30}]})
             for i in range(400)] + ["not json"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = path.stat().st_size
    db = f"sqlite:///{tmp_path / 'i.db'}"
    ids, shown = on_terminal("import", str(path), "--db", db, cwd=tmp_path, exit_code=1)
    assert len(ids.split()) == 400
    bars = frames(shown, "importing")
    assert bars and bars[-1]["pct"] == "100" and "400 conversations" in bars[-1].group(0)
    assert bars[-1]["n"] == bars[-1]["total"] == tqdm.format_sizeof(size, "", 1024)
    assert bars[-1]["times"].endswith("B/s, 400 conversations")
    assert f"{path}:401: not valid JSON" in shown  # above the bar, not lost in it
    assert "imported 400 conversations; 1 lines failed; import batch " in shown
    plain = subprocess.run(check=False, args=[CHATFEEDBACK, "import", str(path), "--db",
                            f"sqlite:///{tmp_path / 'j.db'}"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=CEILING)
    assert plain.returncode == 1
    error, summary = plain.stderr.splitlines()
    assert error.startswith(f"{path}:401: not valid JSON")
    assert re.fullmatch(r"imported 400 conversations; 1 lines failed; import batch \w+ \(review "
                        r"them: chatfeedback queue create NAME --batch \w+\)", summary)
    quiet = subprocess.run(check=False, args=[CHATFEEDBACK, "import", "-q", str(path), "--db",
                            f"sqlite:///{tmp_path / 'k.db'}"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=CEILING)
    assert quiet.stderr.splitlines() == [error]  # errors still show


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "kto", "dpo", "sft", "events",
                                 "reviews", "gold", "votes"])
def test_export(filled, fmt):
    folder, url, store = filled
    out = folder / f"out.{fmt}"
    _, shown = on_terminal("export", "--format", fmt, "-o", str(out), "--db", url, cwd=folder)
    plain = piped("export", "--format", fmt, "-o", str(out), "--db", url, cwd=folder)
    summary = plain.stderr
    assert summary and summary.replace("\n", "\r\n") in shown
    if fmt in ("kto", "dpo", "sft"):  # the bar counts the rated answers with consent read
        rated = sum(1 for _ in store.iter_rated_answers())
        consented = sum(1 for r in store.iter_rated_answers() if r["training_consent"])
        assert consented < rated
        assert_bar(shown, "exporting", consented, "ratings", first_total=consented)
        return
    count = int(re.fullmatch(r"exported (\d+) rows\n", summary)[1])
    if fmt in ("events", "reviews", "gold", "votes"):  # no total known: the bar counts up
        last = frames(shown, "exporting")[-1]
        assert (last["n"], last["total"], last["pct"]) == (str(count), None, None)
        assert count == (3 if fmt == "events" else 0)  # three ratings; no reviews or votes
        return
    assert count == sum(1 for _ in store.iter_rated_answers())
    assert_bar(shown, "exporting", count, "rows", first_total=count)
    if fmt == "parquet":  # with its reader processes: --quiet leaves the terminal empty
        _, quiet = on_terminal("export", "-q", "--format", fmt, "-o", str(out), "--db", url,
                               cwd=folder)
        assert quiet == ""


def test_db_upgrade_and_rebuild_stats(tmp_path, filled):
    from alembic.script import ScriptDirectory

    migrations = len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
    db = f"sqlite:///{tmp_path / 'u.db'}"
    stdout, shown = on_terminal("db", "upgrade", "--db", db, cwd=tmp_path)
    assert_bar(shown, "migrating", migrations, "migrations", first_total=migrations)
    assert stdout == f"{db} is at revision {Store.head()}\n"
    again = piped("db", "upgrade", "--db", db, cwd=tmp_path)
    assert (again.stdout, again.stderr) == (stdout, "")
    quiet = piped("db", "upgrade", "-q", "--db", f"sqlite:///{tmp_path / 'v.db'}", cwd=tmp_path)
    assert (quiet.stdout, quiet.stderr) == ("", "")

    folder, url, _ = filled
    stdout, shown = on_terminal("db", "rebuild-stats", "--db", url, cwd=folder)
    assert_bar(shown, "rebuilding", 4, "steps", first_total=4)
    assert stdout == f"rebuilt the running totals of {url}\n"
    plain = piped("db", "rebuild-stats", "--db", url, cwd=folder)
    assert (plain.stdout, plain.stderr) == (stdout, "")
