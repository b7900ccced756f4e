"""Migrations are history: a database written at EVERY earlier revision, with rows in every
table that revision has, upgrades to head and then equals one created at head with the
same rows: the same schema, and the same derived data (running totals, each answer's
stored context, the ratings' system prompts), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from chatfeedback import history
from chatfeedback.store import Message, Store, context
from chatfeedback.store.schema import metadata
from chatfeedback.store.store import alembic_config

pytestmark = pytest.mark.all_databases

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COUNTERS = ("rating_counts", "tag_counts", "answer_counts", "shown_rated_counts",
            "unit_counts", "rater_counts", "arena_voters", "arena_totals")  # derived from the rows
DERIVED = {("messages", "context_from"), ("messages", "context"),
           ("ratings", "system_prompt")}  # columns a migration fills from other rows


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rows() -> dict[str, list[dict[str, Any]]]:
    """One of everything, consistent (every column as head knows it; a revision keeps the
    columns it has)."""
    def message(id_: str, conv: str, turn: int, role: str, content: str, minute: float,
                **extra: Any) -> dict[str, Any]:
        row = dict(id=id_, conversation_id=conv, parent_id=None, turn=turn, role=role,
                   content=content, version=1, selected=True, status="complete", error=None,
                   model=None, backend=None, settings=None, system_prompt=None, ttft_ms=None,
                   latency_ms=None, prompt_tokens=None, completion_tokens=None,
                   total_tokens=None, finish_reason=None, shown_at=None,
                   created_at=at(minute), updated_at=at(minute))
        row.update(extra)
        return row

    def answer(id_: str, conv: str, turn: int, parent: str | None, content: str,
               minute: float, **extra: Any) -> dict[str, Any]:
        base = dict(parent_id=parent, model="m1", backend="openai",
                    settings={"temperature": 0.5}, system_prompt="Be brief.", ttft_ms=12.5,
                    latency_ms=80.0, prompt_tokens=11, completion_tokens=7, total_tokens=18,
                    finish_reason="stop", shown_at=at(minute + 0.5))
        return message(id_, conv, turn, "assistant", content, minute, **{**base, **extra})

    def rating(message_id: str, conv: str, scale: str, value: int, score: float,
               day: int, **extra: Any) -> dict[str, Any]:
        row = dict(message_id=message_id, conversation_id=conv, model="m1",
                   system_prompt="Be brief.", scale=scale, value=value, score=score,
                   comment=None, tags=None, rater="a@example.org",
                   created_at=at(day * 1440 + 30), rated_at=at(day * 1440 + 30))
        row.update(extra)
        return row

    return {
        "conversations": [
            dict(id="c1", owner="a@example.org", title="Capital", model="m1", source="chat",
                 training_consent=True, meta=None, import_batch="b1", experiment="e1",
                 arm="concise", unit="a@example.org", assignment_p=0.5,
                 created_at=at(0), updated_at=at(20)),
            dict(id="c2", owner=None, title="Imported", model=None, source="import",
                 training_consent=False, meta={"from": "log"}, import_batch=None,
                 experiment=None, arm=None, unit=None, assignment_p=None,
                 created_at=at(1), updated_at=at(1))],
        "messages": [
            message("u1", "c1", 0, "user", "Capital of France?", 1),
            answer("a1", "c1", 0, "u1", "Lyon", 2, version=1, selected=False),
            answer("a2", "c1", 0, "u1", "Paris", 3, version=2),
            message("u2", "c1", 1, "user", "And Spain?", 4),
            answer("a3", "c1", 1, "u2", "Mad", 5, status="error", error="boom",
                   shown_at=None, finish_reason=None),
            message("u3", "c1", 2, "user", "Again?", 1440 * 2),
            answer("a4", "c1", 2, "u3", "Madrid", 1440 * 2 + 1),
            message("s1", "c2", 0, "system", "You are terse.", 1),
            answer("g1", "c2", 0, None, "Hi", 1, model=None, backend=None, settings=None,
                   system_prompt=None, shown_at=None),
            message("u4", "c2", 1, "user", "hello", 1),
            answer("a5", "c2", 1, "u4", "Hello!", 1, status="stopped", model=None,
                   system_prompt=None)],
        "ratings": [
            rating("a1", "c1", "thumbs", 0, 0.0, 0),
            rating("a2", "c1", "thumbs", 1, 1.0, 0, tags=["Clear"], comment="Right"),
            rating("a4", "c1", "stars", 4, 0.75, 2, rater=None),
            rating("a5", "c2", "faces", 2, 0.25, 1, model=None, system_prompt=None,
                   tags=["Wrong"], rater=None)],
        "rating_tags": [dict(message_id="a2", tag="Clear"), dict(message_id="a5", tag="Wrong")],
        "rating_events": [
            dict(id=f"e{n}", message_id=m, conversation_id=c, action="set", scale=s,
                 value=v, comment=None, tags=None, actor="a@example.org", created_at=at(n))
            for n, (m, c, s, v) in enumerate((("a1", "c1", "thumbs", 0),
                                              ("a2", "c1", "thumbs", 1),
                                              ("a4", "c1", "stars", 4),
                                              ("a5", "c2", "faces", 2)))],
        "review_queues": [dict(id="q1", name="first", filter={"model": "m1"}, k=2,
                               criteria=["helpful"], items=1, created_by="admin@example.org",
                               created_at=at(3000))],
        "review_items": [dict(id="i1", queue_id="q1", message_id="a2", position=0, taken=1,
                              done=1, wanted=True)],
        "review_assignments": [dict(item_id="i1", reviewer="r@example.org", queue_id="q1",
                                    state="done", reason=None, claimed_at=at(3001),
                                    finished_at=at(3002))],
        "review_judgements": [dict(id="j1", item_id="i1", queue_id="q1", message_id="a2",
                                   reviewer="r@example.org", criterion="helpful", value="1",
                                   created_at=at(3002))],
        "review_adjudications": [dict(item_id="i1", criterion="helpful", queue_id="q1",
                                      message_id="a2", value="1", admin="admin@example.org",
                                      created_at=at(3003))],
        "review_corrections": [dict(id="k1", message_id="a1", item_id="i1", queue_id="q1",
                                    content="Paris", author="r@example.org",
                                    created_at=at(3004))],
        "arena_rounds": [dict(id="r1", voter="v@example.org", model_a="m1", model_b="m2",
                              conversation_a="c1", conversation_b="c2", sampling="uniform",
                              probability=0.5, weight=1.0, status="voted",
                              created_at=at(4000), updated_at=at(4001))],
        "arena_votes": [dict(id="v1", round_id="r1", voter="v@example.org", model_a="m1",
                             model_b="m2", winner="model_a", conversation_a="c1",
                             conversation_b="c2", message_a="a2", message_b="a5",
                             probability=0.5, weight=1.0, length_a=5, headers_a=0, lists_a=0,
                             bold_a=0, length_b=6, headers_b=0, lists_b=0, bold_b=0,
                             source="arena", created_at=at(4001), updated_at=at(4001))],
        "experiment_events": [dict(id="x1", experiment="e1", action="start",
                                   definition={"arms": ["control", "concise"]},
                                   actor="admin@example.org", at=at(0))],
    }


def test_a_database_from_every_revision_upgrades_to_what_head_creates(db_url, request,
                                                                      tmp_path):
    revisions = [r.revision for r in
                 reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]
    head = revisions[-1]
    fresh = _fresh(db_url, request, tmp_path)
    for revision in revisions:
        old = Store.open(fresh(f"at-{revision}"), upgrade=False)
        old.upgrade(revision)
        columns = _columns(old.engine)
        twin = Store.open(fresh(f"twin-{revision}"))   # created at head, the same rows
        _write(twin.engine, rows(), columns, derived=True)
        _derive(twin)
        _write(old.engine, rows(), columns, derived=False)
        _copy_derived(twin.engine, old.engine, columns)  # what the app at that revision kept
        old.upgrade()
        assert old.revision() == head
        assert _schema(old.engine) == _schema(twin.engine), revision
        mine, theirs = _content(old.engine), _content(twin.engine)
        for table in metadata.tables:
            assert mine[table] == theirs[table], (revision, table,
                                                  sorted(set(mine[table]) ^ set(theirs[table])))
        assert mine["rating_counts"] and mine["rater_counts"] and mine["messages"]
        if "experiment" in columns["conversations"]:  # c1 is in an experiment from 0011 on
            assert mine["unit_counts"]
        if "arena_votes" in columns:
            assert mine["arena_totals"] and mine["arena_voters"]
        old.close()
        twin.close()


def _fresh(db_url: str, request: pytest.FixtureRequest, tmp_path: Any) -> Callable[[str], str]:
    def fresh(name: str) -> str:
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        pg = request.getfixturevalue("pg_server")
        url = pg.create_database()
        request.addfinalizer(lambda: pg.drop_database(url))
        return url
    return fresh


def _columns(engine: sa.Engine) -> dict[str, list[str]]:
    """The tables and columns a database has (alembic's own table aside)."""
    inspector = sa.inspect(engine)
    return {t: [c["name"] for c in inspector.get_columns(t)]
            for t in inspector.get_table_names() if t != "alembic_version"}


def _write(engine: sa.Engine, data: dict[str, list[dict[str, Any]]],
           columns: dict[str, list[str]], *, derived: bool) -> None:
    """The rows of every data table the revision has, with the columns it has; the derived
    columns only when ``derived`` (the twin, where the app at head has them all)."""
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name in COUNTERS or table.name not in columns:
                continue
            keep = [c.name for c in table.columns if (table.name, c.name) in DERIVED
                    and derived or (table.name, c.name) not in DERIVED
                    and c.name in columns[table.name]]
            if data.get(table.name):
                conn.execute(table.insert(), [{c: r[c] for c in keep if c in r}
                                              for r in data[table.name]])


def _derive(store: Store) -> None:
    """What the app at head derives: each answer's context (the rule over each
    conversation, as an import stores it) and the running totals."""
    messages = metadata.tables["messages"]
    with store.engine.begin() as conn:
        for conversation in ("c1", "c2"):
            found = [Message(**{k: v for k, v in r.items()
                                if k not in ("context_from", "context")})
                     for r in context.conversation_rows(conn, [conversation])]
            for answer, sent in history.contexts(found):
                base, ids = context.encode(sent)
                conn.execute(messages.update().where(messages.c.id == answer.id)
                             .values(context_from=base, context=ids))
    store.rebuild_stats()


def _copy_derived(source: sa.Engine, target: sa.Engine, columns: dict[str, list[str]]) -> None:
    """The derived data the revision has: its counters and derived columns as the app at
    that revision kept them (the same as head's)."""
    with source.connect() as src, target.begin() as conn:
        for name in COUNTERS:
            if name in columns:
                table = metadata.tables[name]
                got = [dict(r) for r in src.execute(sa.select(table)).mappings()]
                conn.execute(table.delete())
                if got:
                    conn.execute(table.insert(), [{c: r[c] for c in columns[name]}
                                                  for r in got])
        for name, column in DERIVED:
            if column in columns.get(name, ()):
                table = metadata.tables[name]
                key = next(iter(table.primary_key.columns))
                for k, value in src.execute(sa.select(key, table.c[column])):
                    conn.execute(table.update().where(key == k).values({column: value}))


def _schema(engine: sa.Engine) -> dict[str, Any]:
    inspector = sa.inspect(engine)
    out = {}
    for table in sorted(inspector.get_table_names()):
        out[table] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                   for i in inspector.get_indexes(table)),
            tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            sorted((tuple(f["constrained_columns"]), f["referred_table"],
                    tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(table)))
    return out


def _content(engine: sa.Engine) -> dict[str, list[str]]:
    """Every table's rows, read through the head schema's types, in a stable order."""
    def plain(value: Any) -> Any:
        return round(value, 9) if isinstance(value, float) else value

    with engine.connect() as conn:
        return {name: sorted(repr(sorted((k, plain(v)) for k, v in r.items()))
                             for r in conn.execute(sa.select(table)).mappings())
                for name, table in metadata.tables.items()}
