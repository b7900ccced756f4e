"""The arena's core: rounds streamed on both sides at once, votes under the feedback mode (and in
the audit trail), failed sides, the [arena] settings and the leaderboard from stored votes."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from chatfeedback.arena import Arena, interleave
from chatfeedback.config import load_settings
from chatfeedback.errors import ConfigError, FeedbackError, NotFound
from chatfeedback.store.schema import rating_events

from .openai_server import OpenAIServer, Script
from .support import echo_models, wait_until, write_config

pytestmark = pytest.mark.all_databases

ECHOS = echo_models("gpt", "llama", "qwen") + """
[arena]
models = ["gpt", "llama", "qwen"]
"""


def openai_models(a: OpenAIServer, b: OpenAIServer) -> str:
    return "".join(f'[[models]]\nname = "{name}"\nbackend = "openai"\nbase_url = "{s.base_url}"\n'
                   f'model = "test-model"\n' for name, s in (("one", a), ("two", b))) + \
        '[arena]\nmodels = ["one", "two"]\n'


def play(arena: Arena, turn) -> dict[str, str]:
    texts = {"a": "", "b": ""}
    for side, piece in interleave(arena.replies(turn)):
        texts[side] += piece
    return texts


def test_a_round_streams_both_sides_and_takes_one_locked_vote(make_service, store):
    arena = Arena(make_service(ECHOS))
    turn = arena.start("Tell me about tea", voter="ann@example.org")
    assert {turn.round.model_a, turn.round.model_b} <= {"gpt", "llama", "qwen"}
    assert turn.round.model_a != turn.round.model_b
    assert turn.round.probability == pytest.approx(1 / 3) and turn.round.weight == 1.0
    texts = play(arena, turn)
    assert "Tell me about tea" in texts["a"] and "Tell me about tea" in texts["b"]
    view = arena.finish(turn.round.id)
    assert view.votable and not view.failed and view.vote is None
    vote = arena.vote(turn.round.id, "model_b", actor="ann@example.org")
    a, b = view.last_answers()
    assert (vote.winner, vote.message_a, vote.message_b) == ("model_b", a.id, b.id)
    assert arena.view(turn.round.id).round.status == "voted"
    with pytest.raises(FeedbackError, match="locked"):
        arena.vote(turn.round.id, "tie", actor="ann@example.org")
    with pytest.raises(FeedbackError, match="voted; start a new round"):
        arena.send(turn.round, "and coffee?")
    with arena.store.engine.connect() as conn:
        events = conn.execute(select(rating_events).where(rating_events.c.action == "vote")) \
            .mappings().all()
    assert [(e["message_id"], e["scale"], e["value"], e["actor"]) for e in events] == \
        [(a.id, "arena", 1, "ann@example.org")]
    counts = arena.store.arena_counts()
    assert counts == [("ann@example.org", turn.round.model_a, turn.round.model_b, "model_b", 1,
                       1.0)]
    style = arena.store.arena_style_columns()      # voter, a, b, winner, weight, features
    assert style[5] == (len(a.content),) and style[9] == (len(b.content),)
    # the arena's conversations would unblind it: the chat's list leaves them out
    assert arena.store.list_conversations() == []


def test_changeable_and_latest_modes(make_service):
    arena = Arena(make_service(ECHOS + '\n[feedback]\nmode = "changeable"\n'))
    turn = arena.start("hi", voter="bob")
    play(arena, turn)
    arena.vote(turn.round.id, "model_a", actor="bob")
    arena.vote(turn.round.id, "tie (bothbad)", actor="bob")
    assert arena.view(turn.round.id).vote.winner == "tie (bothbad)"
    assert arena.store.arena_counts()[0][3] == "tie (bothbad)"

    latest = Arena(make_service(ECHOS + '\n[feedback]\nmode = "latest"\n'))
    first = latest.start("one", voter="cy")
    play(latest, first)
    second = latest.start("two", voter="cy")
    play(latest, second)
    with pytest.raises(FeedbackError, match="newest round"):
        latest.vote(first.round.id, "model_a", actor="cy")
    latest.vote(second.round.id, "model_a", actor="cy")
    latest.vote(second.round.id, "model_b", actor="cy")     # the newest may change


def test_a_round_goes_on_for_more_turns_on_both_sides(make_service):
    arena = Arena(make_service(ECHOS))
    turn = arena.start("first", voter="dee")
    play(arena, turn)
    second = arena.send(turn.round, "second")
    play(arena, second)
    view = arena.view(turn.round.id)
    assert [m.content for m in view.a if m.role == "user"] == ["first", "second"]
    assert [m.content for m in view.b if m.role == "user"] == ["first", "second"]
    history = arena.service.history(view.last_answers()[1])
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    vote = arena.vote(turn.round.id, "model_a", actor="dee")
    assert vote.message_b == view.last_answers()[1].id


def test_both_requests_wait_for_one_commit_only(make_service):
    """What the arena writes before both sides' requests go out (two conversations, the
    round, two prompts and two answer rows; at a later turn two prompts and two answers) is
    one transaction, not the seven of one chat-style write per row."""
    arena = Arena(make_service(ECHOS))
    commits = []
    event.listen(arena.store.engine, "commit", commits.append)
    turn = arena.start("first", voter="eve", owner="eve@example.org")
    assert len(commits) == 1
    assert turn.a.conversation.title == "first" and turn.a.answer.status == "streaming"
    assert turn.a.answer.parent_id == turn.a.prompt.id
    assert arena.service.history(turn.b.answer) == [{"role": "user", "content": "first"}]
    play(arena, turn)
    commits.clear()
    second = arena.send(turn.round, "second", owner="eve@example.org")
    assert len(commits) == 1
    assert [m["content"] for m in arena.service.history(second.a.answer)][::2] == \
        ["first", "second"]
    play(arena, second)
    with pytest.raises(NotFound):   # another person's round: nothing is written
        arena.send(turn.round, "third", owner="mallory@example.org")
    assert [m.content for m in arena.view(turn.round.id).a if m.role == "user"] == \
        ["first", "second"]


def test_both_sides_stream_at_the_same_time(make_service):
    with OpenAIServer() as one, OpenAIServer() as two:
        for server in (one, two):
            server.default = Script(text=" ".join(["word"] * 20), delay=0.05)
        arena = Arena(make_service(openai_models(one, two)))
        turn = arena.start("go", voter="eve")
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for side, piece in interleave(arena.replies(turn)):
            if piece:
                first.setdefault(side, time.perf_counter())
                last[side] = time.perf_counter()
        # each side's first words came while the other side was still streaming
        assert first["a"] < last["b"] - 0.3 and first["b"] < last["a"] - 0.3
        assert arena.finish(turn.round.id).votable


def test_a_failed_side_makes_the_round_unvotable(make_service):
    with OpenAIServer() as one, OpenAIServer() as two:
        one.default = Script(text="fine answer")
        two.default = Script(status=500, error="model crashed")
        arena = Arena(make_service(openai_models(one, two)))
        turn = arena.start("go", voter="fay")
        play(arena, turn)
        view = arena.finish(turn.round.id)
        assert view.failed and not view.votable and view.round.status == "failed"
        failed_side = [m for m in view.last_answers() if m.status == "error"]
        assert len(failed_side) == 1 and "model crashed" in failed_side[0].error
        with pytest.raises(FeedbackError, match="failed"):
            arena.vote(turn.round.id, "model_a", actor="fay")
        with pytest.raises(FeedbackError, match="failed"):
            arena.send(turn.round, "again")
        assert arena.store.arena_round_counts() == {"failed": 1}
        assert arena.store.arena_counts() == []


def test_uniform_draws_every_pair_and_side_alike(make_service):
    arena = Arena(make_service(ECHOS))
    draws = Counter(arena.draw()[:2] for _ in range(6000))
    assert len(draws) == 6
    assert all(800 < n < 1200 for n in draws.values()), draws


def test_active_sampling_draws_overlapping_pairs_more_and_weights_them(make_service):
    arena = Arena(make_service(ECHOS.replace('models = ["gpt"', 'sampling = "active"\nmodels = ["gpt"')))
    assert arena.settings.arena.sampling == "active"
    # gpt clearly best (4 of 5), llama and qwen indistinguishable
    when = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    rng = random.Random(4)
    for voter in range(60):
        for other in ("llama", "qwen"):
            rows += [{"voter": f"v{voter}", "model_a": "gpt", "model_b": other,
                      "winner": "model_a" if rng.random() < 0.8 else "model_b",
                      "created_at": when} for _ in range(5)]
        rows += [{"voter": f"v{voter}", "model_a": "llama", "model_b": "qwen",
                  "winner": rng.choice(["model_a", "model_b"]), "created_at": when}
                 for _ in range(2)]
    arena.store.import_votes(rows)
    probs = arena.pair_probabilities()        # pairs: (gpt,llama) (gpt,qwen) (llama,qwen)
    assert probs.sum() == pytest.approx(1.0)
    assert probs[2] > probs[0] and probs[2] > probs[1]
    _, _, p, w = arena.draw()
    assert w == pytest.approx(1 / (3 * p))


def test_active_intervals_refresh_in_the_background(make_service, monkeypatch):
    """A draw uses the snapshot of the intervals it has and refreshes a stale one in a
    thread of its own: at a million votes a bootstrap must not hold up a round."""
    import chatfeedback.arena as arena_module

    arena = Arena(make_service(ECHOS.replace('models = ["gpt"',
                                             'sampling = "active"\nmodels = ["gpt"')))
    first = arena.pair_probabilities()                 # no votes: every pair alike
    assert first == pytest.approx([1 / 3] * 3)
    when = datetime(2026, 11, 1, tzinfo=UTC)
    rng = random.Random(5)
    arena.store.import_votes(
        [{"voter": f"v{v}", "model_a": "gpt", "model_b": other, "created_at": when,
          "winner": "model_a" if rng.random() < 0.85 else "model_b"}
         for v in range(40) for other in ("llama", "qwen") for _ in range(4)]
        + [{"voter": f"v{v}", "model_a": "llama", "model_b": "qwen", "created_at": when,
            "winner": rng.choice(["model_a", "model_b"])} for v in range(40) for _ in range(2)])
    monkeypatch.setattr(arena_module, "ACTIVE_REFRESH", 0.0)
    assert arena.pair_probabilities() == pytest.approx(first)   # the old snapshot, at once
    wait_until(lambda: arena.pair_probabilities()[2] > 1 / 3 + 1e-9, timeout=60,
               what=lambda: f"the refreshed intervals (now {arena.pair_probabilities()})")
    assert arena.pair_probabilities()[2] > 1 / 3      # llama-qwen overlap most: drawn more


def test_leaderboard_json_from_stored_votes(make_service):
    arena = Arena(make_service(ECHOS))
    for voter in ("v1", "v2", "v3", "v4"):
        for _ in range(3):
            turn = arena.start("compare", voter=voter)
            play(arena, turn)
            rnd = turn.round
            winner = "model_a" if rnd.model_a == "gpt" else "model_b" if rnd.model_b == "gpt" \
                else "tie"
            arena.vote(rnd.id, winner, actor=voter)
    board = arena.leaderboard(bootstrap=100)
    assert board["votes"] == 12 and board["rounds"]["voted"] == 12
    assert board["models"][0]["model"] == "gpt" and board["models"][0]["rank"] == 1
    assert set(board["models"][0]) == {"model", "rating", "ci", "rank", "votes"}
    assert board["voters"] == 4
    assert sum(m["votes"] for m in board["models"]) == 24
    assert board["style_control"]["votes"] == 12
    assert abs(sum(m["rating"] for m in board["models"]) / len(board["models"]) - 1000) < 0.2
    _, _, n = arena.matrices()
    assert n.sum() == 24


@pytest.mark.parametrize(("arena_toml", "message"), [
    ('models = ["gpt", "nope"]', "'arena.models' names 'nope', which is not a [[models]] entry"),
    ('models = ["gpt"]', "'arena.models' needs at least two models"),
    ('models = ["gpt", "gpt"]', "names a model twice"),
    ('models = ["gpt", "llama"]\nsampling = "smart"', "'arena.sampling' must be one of uniform, active"),
    ('models = ["gpt", "llama"]\npairs = 3', "unknown key 'arena.pairs'"),
])
def test_bad_arena_settings_are_one_line_errors(tmp_path, arena_toml, message):
    text = ECHOS.split("[arena]")[0] + "[arena]\n" + arena_toml + "\n"
    path = write_config(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as exc:
        load_settings(path, "sqlite:///x.db", environ={})
    assert "\n" not in str(exc.value)


def test_without_arena_settings_the_arena_is_off(make_service):
    arena = Arena(make_service(""))
    assert not arena.enabled
    with pytest.raises(FeedbackError, match=r"\[arena\] models"):
        arena.start("hi", voter="x")


def test_experiment_arms_meet_in_the_arena_with_their_prompts_and_settings(make_service):
    """`[arena] models` may name an experiment's arm as "experiment/arm": the side answers
    with the arm's model entry, system prompt and settings (as the model server receives
    them), and the leaderboard names the arm."""
    with OpenAIServer() as server:
        server.default = Script(text="an answer")
        config = (f'[[models]]\nname = "gpt"\nbackend = "openai"\nbase_url = "{server.base_url}"\n'
                  'model = "test-model"\nsystem_prompt = "You are plain."\n'
                  '[[experiments]]\nname = "prompt-v2"\narms = [\n'
                  '  { name = "control", model = "gpt" },\n'
                  '  { name = "v2", model = "gpt", system_prompt = "You are concise.", '
                  'settings = { temperature = 0.2 } },\n]\n'
                  '[arena]\nmodels = ["prompt-v2/control", "prompt-v2/v2"]\n')
        arena = Arena(make_service(config))
        turn = arena.start("Say hi", voter="gil")
        play(arena, turn)
        sides = {turn.round.model_a: "a", turn.round.model_b: "b"}
        assert set(sides) == {"prompt-v2/control", "prompt-v2/v2"}
        assert len(server.requests) == 2
        sent = {r.messages[0]["content"]: r.body for r in server.requests}
        assert set(sent) == {"You are plain.", "You are concise."}
        assert sent["You are concise."]["temperature"] == 0.2
        assert "temperature" not in sent["You are plain."]
        assert all(b["messages"][1:] == [{"role": "user", "content": "Say hi"}]
                   for b in sent.values())
        view = arena.finish(turn.round.id)
        answers = dict(zip("ab", view.last_answers(), strict=True))
        assert answers[sides["prompt-v2/v2"]].system_prompt == "You are concise."
        assert answers[sides["prompt-v2/v2"]].model == "gpt"
        # the arena's conversations are in no experiment (they would skew its report)
        conv = arena.store.conversation(turn.round.conversation_a)
        assert conv.experiment is None and conv.model == "gpt"
        # the round goes on with the same prompts and settings on each side
        play(arena, arena.send(turn.round, "And bye?"))
        assert [r.messages[0]["content"] for r in server.requests[2:]].count(
            "You are concise.") == 1
        arena.vote(turn.round.id, "model_a", actor="gil")
        board = arena.leaderboard(bootstrap=0)
        assert {m["model"] for m in board["models"]} == {"prompt-v2/control", "prompt-v2/v2"}


@pytest.mark.parametrize(("arena_models", "message"), [
    ('["gpt", "nope/v2"]', ("'arena.models' names 'nope/v2', but no [[experiments]] entry is "
                            "called 'nope' (experiments: prompt-v2)")),
    ('["gpt", "prompt-v2/v3"]', ("'arena.models' names 'prompt-v2/v3', but experiment "
                                 "'prompt-v2' has no arm 'v3' (its arms: control, v2)")),
    ('["gpt", "llama"]', ("'arena.models' names 'llama', which is not a [[models]] entry (gpt) "
                          "nor an experiment's arm ('experiment/arm')")),
])
def test_bad_arena_arms_are_one_line_errors(tmp_path, arena_models, message):
    text = ('[[models]]\nname = "gpt"\nbackend = "echo"\n[[experiments]]\nname = "prompt-v2"\n'
            'arms = [{ name = "control", model = "gpt" }, { name = "v2", model = "gpt" }]\n'
            f'[arena]\nmodels = {arena_models}\n')
    path = write_config(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as exc:
        load_settings(path, "sqlite:///x.db", environ={})
    assert str(exc.value).endswith(message) and "\n" not in str(exc.value)


def test_a_round_goes_on_after_its_model_left_the_settings(make_service):
    """A round of a model no longer in the settings goes on as a chat does (with the first
    model); one of an arm no longer in them stops with a one-line error."""
    arena = Arena(make_service(ECHOS.replace('"gpt", "llama", "qwen"]', '"llama", "qwen"]')))
    turn = arena.start("first", voter="hal")
    assert "qwen" in (turn.round.model_a, turn.round.model_b)
    play(arena, turn)
    later = Arena(make_service(ECHOS.replace('"gpt", "llama", "qwen"]', '"gpt", "llama"]')
                                .replace('name = "qwen"', 'name = "other"')))
    play(later, later.send(turn.round, "second"))
    assert later.finish(turn.round.id).votable
    gone = later.store.create_round(voter="hal", model_a="prompt-v2/v2", model_b="gpt",
                                    conversation_a=turn.round.conversation_a,
                                    conversation_b=turn.round.conversation_b,
                                    sampling="uniform", probability=1.0, weight=1.0)
    with pytest.raises(ConfigError, match="no \\[\\[experiments\\]\\] entry is called "
                                          "'prompt-v2'") as exc:
        later.send(gone, "third")
    assert "\n" not in str(exc.value)
