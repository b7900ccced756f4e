"""Arena votes in and out of the CLI: import --votes (LMArena's JSON Lines), arena --json,
export --format votes, and arena rounds as DPO pairs; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from chatfeedback.arena import Arena
from chatfeedback.cli import main
from chatfeedback.stats.bradley_terry import WINNERS
from chatfeedback.store import Store
from harness.arena_sim import simulate

from .test_arena import ECHOS, play

pytestmark = pytest.mark.all_databases


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def conversation(prompt: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def lmarena_lines(n_votes: int = 3000, seed: int = 0) -> list[str]:
    """Votes in the shape of LMArena's releases, from known strengths (m0 best)."""
    votes, _ = simulate(np.random.default_rng(seed), np.linspace(1.0, -1.0, 5), n_votes, 150)
    lines = []
    for r in range(n_votes):
        row = {"model_a": votes.models[votes.a[r]], "model_b": votes.models[votes.b[r]],
               "winner": WINNERS[votes.outcome[r]], "judge": f"arena_user_{votes.voter[r]}",
               "tstamp": 1_700_000_000 + r, "question_id": f"q{r}", "anony": True}
        if r % 10 == 0:
            row["conversation_a"] = conversation(f"q{r}", "## Answer\n- **yes**\n" * (r % 3 + 1))
            row["conversation_b"] = conversation(f"q{r}", "yes")
        lines.append(json.dumps(row))
    return lines


def test_import_votes_leaderboard_json_and_round_trip(db_url, tmp_path):
    src = tmp_path / "votes.jsonl"
    lines = lmarena_lines()
    bad = ['{"model_a": "m0", "model_b": "m0", "winner": "tie", "judge": "x"}',
           '{"model_a": "m0", "model_b": "m1", "winner": "draw", "judge": "x"}',
           '{"model_a": "m0", "model_b": "m1", "winner": "tie"}',
           'not json',
           '{"model_a": "m0", "model_b": "m1", "winner": "tie", "judge": "x", "tstamp": true}']
    src.write_text("\n".join(lines[:10] + bad + lines[10:]) + "\n", encoding="utf-8")
    result = run("import", "--votes", str(src), "--db", db_url)
    assert result.exit_code == 1
    assert f"{src}:11: 'model_a' and 'model_b' are the same model ('m0')" in result.output
    assert f"{src}:12: 'winner' must be one of model_a, model_b, tie, tie (bothbad); got " \
           "'draw'" in result.output
    assert f"{src}:13: 'judge' must be a non-empty string" in result.output
    assert f"{src}:14: not valid JSON" in result.output
    assert f"{src}:15: 'tstamp' must be Unix seconds or an ISO-8601 string" in result.output
    assert "imported 3000 votes; 5 lines failed" in result.output

    result = run("arena", "--json", "--bootstrap", "200", "--db", db_url)
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert set(board) == {"models", "style_control", "votes", "voters", "rounds"}
    assert board["votes"] == 3000 and board["voters"] <= 150
    assert [m["model"] for m in board["models"]] == ["m0", "m1", "m2", "m3", "m4"]
    top = board["models"][0]
    assert set(top) == {"model", "rating", "ci", "rank", "votes"}
    assert top["ci"][0] < top["rating"] < top["ci"][1] and top["rank"] == 1
    assert board["style_control"]["votes"] == 300          # the votes with conversations
    assert set(board["style_control"]["coefficients"]) == {"length", "headers", "lists", "bold"}

    fast = json.loads(run("arena", "--json", "--no-style", "--bootstrap", "200", "--db",
                          db_url).output)       # running totals only
    assert fast["style_control"] is None and fast["models"] == board["models"]
    judges = {json.loads(line)["judge"] for line in lines}
    assert fast["voters"] == board["voters"] == len(judges)

    table = run("arena", "--bootstrap", "100", "--db", db_url)
    assert table.exit_code == 0, table.output
    assert "3,000 votes from" in table.output and "m0" in table.output.splitlines()[2]

    out = tmp_path / "out.jsonl"
    result = run("export", "--format", "votes", "-o", str(out), "--db", db_url)
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(exported) == 3000
    first = exported[0]
    assert set(first) == {"model_a", "model_b", "winner", "judge", "tstamp", "conversation_a",
                          "conversation_b"}
    assert first["tstamp"] == 1_700_000_000 and first["conversation_b"] == \
        conversation("q0", "yes")
    assert "conversation_a" not in exported[1]

    # the exported file imports into another database and gives the same leaderboard
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert run("import", "--votes", str(out), "--db", other).exit_code == 0
    again = json.loads(run("arena", "--json", "--bootstrap", "200", "--db", other).output)
    assert [(m["model"], m["rating"], m["votes"]) for m in again["models"]] == \
        [(m["model"], m["rating"], m["votes"]) for m in board["models"]]
    assert again["style_control"]["models"] == board["style_control"]["models"]


def test_arena_rounds_as_dpo_pairs(make_service, db_url, tmp_path):
    arena = Arena(make_service(ECHOS + "\n[feedback]\ntraining_consent_default = true\n"))
    expected = []
    for winner in ("model_a", "model_b", "tie", "tie (bothbad)"):
        turn = arena.start(f"prompt for {winner}", voter="ann")
        play(arena, turn)
        # the echo models answer alike; equal texts make no preference pair
        arena.store.update_answer(arena.view(turn.round.id).last_answers()[1].id,
                                  content=f"B's answer to {winner}")
        view = arena.view(turn.round.id)
        a, b = view.last_answers()
        arena.vote(turn.round.id, winner, actor="ann")
        if winner == "model_a":
            expected.append((f"prompt for {winner}", a.content, b.content))
        elif winner == "model_b":
            expected.append((f"prompt for {winner}", b.content, a.content))
    # a second turn: each side was sent its own first answer (the echo models answer alike,
    # so B's is made different), so there is no common prompt
    turn = arena.start("first", voter="ann")
    play(arena, turn)
    arena.store.update_answer(arena.view(turn.round.id).last_answers()[1].id,
                              content="B's own first answer")
    play(arena, arena.send(turn.round, "second"))
    arena.vote(turn.round.id, "model_a", actor="ann")
    # a round whose conversations do not allow training use
    turn = arena.start("private", voter="ann")
    play(arena, turn)
    arena.store.set_training_consent(turn.round.conversation_b, False)
    arena.vote(turn.round.id, "model_b", actor="ann")

    out = tmp_path / "dpo.jsonl"
    result = run("export", "--format", "dpo", "-o", str(out), "--db", db_url)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in rows] == [
        ([{"role": "user", "content": p}], [{"role": "assistant", "content": c}],
         [{"role": "assistant", "content": r}]) for p, c, r in expected]
    assert "2 pairs (2 from arena votes)" in result.output
    assert "2 arena ties" in result.output
    assert "1 arena votes without training consent on both sides" in result.output
    assert "1 arena votes whose sides were sent different requests" in result.output


def test_arena_with_no_votes(db_url):
    Store.open(db_url).close()
    result = run("arena", "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert board["votes"] == 0 and board["models"] == []
    assert run("arena", "--db", db_url).exit_code == 0
