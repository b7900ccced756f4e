"""examples/fastapi_app.py served by uvicorn on a free port, on a real SQLite file and a real
PostgreSQL database: prompts logged and answers rated over HTTP, then read back with the
CLI like ratings given in the chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from chatfeedback.cli import main

from .support import free_port, wait_until

pytestmark = pytest.mark.all_databases

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The example app under uvicorn (its own process), ready; its base URL."""
    port = free_port()
    env = dict(os.environ, CHATFEEDBACK_DATABASE_URL=db_url)
    env.pop("CHATFEEDBACK_CONFIG", None)
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "fastapi_app:app", "--port",
                             str(port), "--app-dir", str(EXAMPLES)], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:  # when it answers (the database is opened and migrated before that)
        assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
        try:
            return httpx.get(url + "/openapi.json", timeout=2).status_code == 200
        except httpx.TransportError:
            return False
    wait_until(up, timeout=60, every=0.1, what="uvicorn to answer")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_chat_and_feedback_over_http_then_the_cli_reads_them(service, db_url):
    with httpx.Client(base_url=service, timeout=30) as http:
        first = http.post("/chat", json={"prompt": "hello there", "user": "ann@example.org",
                                         "trace_id": "trace-42"})
        assert first.status_code == 200, first.text
        chat = first.json()
        assert chat["answer"] == "HELLO THERE"
        second = http.post("/chat", json={"prompt": "and again", "user": "ann@example.org",
                                          "conversation_id": chat["conversation_id"]}).json()
        assert second["conversation_id"] == chat["conversation_id"]

        rated = http.post("/feedback", json={
            "answer_id": chat["answer_id"], "rating": 1, "comment": "loud and clear",
            "tags": ["Clear"], "user": "ann@example.org"})
        assert rated.status_code == 200, rated.text
        assert rated.json() == {"answer_id": chat["answer_id"], "rating": 1,
                                "comment": "loud and clear", "tags": ["Clear"]}
        assert http.post("/feedback", json={"answer_id": second["answer_id"],
                                            "rating": 0}).status_code == 200

        # Refusals are one line each; nothing is half-saved.
        locked = http.post("/feedback", json={"answer_id": chat["answer_id"], "rating": 0})
        assert (locked.status_code, locked.json()) == (
            400, {"detail": "this answer is already rated; ratings are locked"})
        wrong = http.post("/feedback", json={"answer_id": second["answer_id"] + "x",
                                             "rating": 1})
        assert (wrong.status_code, wrong.json()) == (404, {"detail": "Message not found"})
        empty = http.post("/chat", json={"prompt": " "})
        assert empty.status_code == 400
        assert empty.json() == {"detail": "an empty prompt is not logged"}

    runner = CliRunner()
    result = runner.invoke(main, ["export", "--format", "jsonl", "--db", db_url])
    assert result.exit_code == 0, result.output
    rows = sorted((json.loads(line) for line in result.stdout.splitlines()),
                  key=lambda r: r["prompt"])
    assert [(r["prompt"], r["response"], r["model"], r["rating"], r["comment"], r["tags"])
            for r in rows] == [
        ("and again", "AND AGAIN", "echo-upper", 0, None, []),
        ("hello there", "HELLO THERE", "echo-upper", 1, "loud and clear", ["Clear"])]
    events = runner.invoke(main, ["export", "--format", "events", "--db", db_url]).stdout
    assert [json.loads(e)["action"] for e in events.splitlines()] == [
        "set", "comment", "tags", "set"]
