"""``chatfeedback demo``: realistic, deterministic synthetic data the Store reads normally."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from chatfeedback import history, ids
from chatfeedback.cli import main
from chatfeedback.store import Store
from chatfeedback.store.schema import conversations, messages, rating_tags, ratings


def fill(url: str, seed: int = 2) -> str:
    result = CliRunner().invoke(main, ["demo", "--responses", "600", "--seed", str(seed),
                                       "--weeks", "8", "--db", url])
    assert result.exit_code == 0, result.output
    return result.stderr


def dump(url: str) -> list:
    store = Store.open(url)
    with store.engine.connect() as conn:
        rows = [conn.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in (conversations, messages, ratings, rating_tags)]
    store.close()
    return rows


def test_demo_is_realistic_and_readable(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert fill(url).startswith("created 600 answers in ")
    store = Store.open(url)
    with store.engine.connect() as conn:
        def count(*where, table=messages):
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()

        assert count(messages.c.role == "assistant") == 600
        assert count(messages.c.version > 1) > 10                       # regenerated
        assert count(messages.c.status != "complete") > 0               # stopped, failed
        assert 0 < count(messages.c.shown_at.is_(None), messages.c.role == "assistant") < 100
        assert {s for (s,) in conn.execute(select(ratings.c.scale).distinct())} == \
            {"thumbs", "faces", "stars"}
        assert count(ratings.c.comment.is_not(None), table=ratings) > 10
        assert count(table=rating_tags) > 50
        consent = count(conversations.c.training_consent.is_(True), table=conversations)
        assert 0 < consent < count(table=conversations)
        assert len({m for (m,) in conn.execute(select(messages.c.model).distinct())}) >= 5
        assert len({p for (p,) in conn.execute(select(messages.c.system_prompt).distinct())}) >= 3
        first = conn.execute(select(conversations.c.id).limit(1)).scalar()
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert ids.is_id(first)
    history = store.messages(first)
    assert history[0].role == "user" and history[1].role == "assistant"
    assert history[1].siblings >= 1 and history[1].model
    store.close()


def test_demo_answers_carry_the_context_the_rule_gives_them(tmp_path):
    """Every demo answer (all versions, after failed and stopped turns) has the stored
    context that history.contexts gives it on its conversation."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    fill(url, seed=5)
    store = Store.open(url)
    with store.engine.connect() as conn:
        answers = conn.execute(select(messages.c.id).where(messages.c.role == "assistant")) \
            .scalars().all()
    stored = store.contexts(answers)
    assert len(stored) == 600
    shown: dict[str, list] = {}
    skipped_failed = 0
    for answer_id in answers:
        answer = store.message(answer_id)
        conversation = shown.setdefault(answer.conversation_id,
                                        store.messages(answer.conversation_id))
        expected = [m.id for m in history.context(answer, conversation)]
        assert [m.id for m in stored[answer_id]] == expected
        skipped_failed += len([m for m in conversation if m.turn < answer.turn
                               and m.role == "user"]) * 2 + 1 > len(expected)
    assert skipped_failed > 0  # some contexts leave a failed or empty turn out
    store.close()


def test_same_seed_same_data(tmp_path):
    one, two, other = (f"sqlite:///{tmp_path / name}" for name in ("1.db", "2.db", "3.db"))
    fill(one), fill(two), fill(other, seed=3)
    assert dump(one) == dump(two)
    assert dump(one) != dump(other)


def test_demo_rejects_nonsense(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--responses", "0", "--db",
                                       f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
