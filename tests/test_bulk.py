"""The bulk loader: column batches stored exactly as SQLAlchemy stores rows, on both paths."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from chatfeedback.store import Store, bulk, bulk_writers, stats
from chatfeedback.store.schema import conversations, messages, ratings

T0 = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=UTC)


def batch(first: int) -> dict:
    """Two conversations, four messages and a rating with every kind of value: numpy and
    Python times, nulls of each kind, a NUL in text, JSON, booleans, a
    value shared by every row and one column given twice."""
    conv = [f"c{first:025d}", f"c{first + 1:025d}"]
    when = np.array(["2026-11-01T10:00:00.000001", "2026-11-02T23:59:59.999999",
                     "2026-11-03T00:00:00", "2026-11-04T12:00:00.5"], dtype="datetime64[us]")
    shown = when.copy()
    shown[1] = np.datetime64("NaT")
    ids = [f"m{first + i:025d}" for i in range(4)]
    return {
        "conversations": dict(
            id=conv, owner=["a@example.com", None], title=["Tea\x00time", "Ünïcode ✓"],
            model="echo", source="demo", training_consent=np.array([True, False]),
            meta=[{"k": [1, 2]}, None],
            created_at=[T0, T0 + timedelta(days=1)], updated_at=[T0, T0]),
        "messages": [
            dict(id=ids[:2], conversation_id=conv, turn=np.array([0, 0]), role="user",
                 content=["hi", "it's"], version=1, selected=True, status="complete",
                 created_at=when[:2], updated_at=when[:2]),
            dict(id=ids[2:], conversation_id=conv, parent_id=ids[:2], turn=[0, 0],
                 role="assistant", content=np.array(["a", ""], dtype=object),
                 version=np.array([1, 2]), selected=np.array([True, True]),
                 status=np.array(["complete", "error"]), error=[None, "boom"],
                 settings={"temperature": 0.7}, ttft_ms=np.array([12.5, np.nan]),
                 prompt_tokens=[3, None], finish_reason=["stop", None],
                 shown_at=shown[2:] if first else shown[:2], created_at=when[2:],
                 updated_at=when[2:])],
        "ratings": dict(message_id=ids[2:3], conversation_id=conv[:1], model=["echo"],
                        scale="thumbs", value=np.array([1]), score=np.array([1.0]),
                        comment=[None], tags=[["Clear", "Helpful"]],
                        created_at=when[3:], rated_at=when[3:]),
        "rating_tags": dict(message_id=ids[2:3] * 2, tag=["Clear", "Helpful"]),
    }


def counters(store: Store) -> dict:
    with store.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)))) for t in stats.COUNTERS}


def raw_rows(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {t.name: conn.execute(f"SELECT * FROM {t.name} ORDER BY 1, 2").fetchall()
                for t in (conversations, messages, ratings)}
    finally:
        conn.close()


def test_the_fast_sqlite_path_stores_what_sqlalchemy_stores(tmp_path, monkeypatch):
    fast, portable = tmp_path / "fast.db", tmp_path / "portable.db"
    store = Store.open(f"sqlite:///{fast}")
    loaded = bulk.bulk_load(store, [batch(0), batch(10)], defer_indexes=True)
    assert loaded.rows == 2 * (2 + 4 + 1 + 2)
    monkeypatch.setattr(bulk, "writer_for", bulk_writers.Writer)  # SQLAlchemy's executemany
    other = Store.open(f"sqlite:///{portable}")
    bulk.bulk_load(other, [batch(0), batch(10)])
    assert raw_rows(fast) == raw_rows(portable)
    first = raw_rows(fast)["conversations"][0]
    assert first[2] == "Tea\ufffdtime" and first[7] == "2026-11-01 09:30:15.123456"
    history = store.messages(f"c{0:025d}")
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[0].created_at.replace(tzinfo=UTC) == datetime(2026, 11, 1, 10, 0, 0, 1,
                                                                 tzinfo=UTC)
    with store.engine.connect() as conn:  # deferred indexes are back
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_messages_parent_id", "ix_ratings_rated_at"} <= names
    counted = counters(store)  # counted while the indexes were built: as a rebuild counts
    assert all(counted.values())
    store.rebuild_stats()
    assert counters(store) == counted
    store.close()
    other.close()


def test_copy_into_postgresql_stores_what_sqlalchemy_stores(pg_server, monkeypatch):
    fast, portable = pg_server.create_database(), pg_server.create_database()
    try:
        store = Store.open(fast)
        with store.engine.connect() as conn:
            indexes = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE "
                                           "schemaname = current_schema()").scalars().all()
        bulk.bulk_load(store, [batch(0), batch(10)], defer_indexes=True)
        with store.engine.connect() as conn:  # dropped for the load, and built again
            assert sorted(conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
                .scalars().all()) == sorted(indexes)
        assert "ix_messages_parent_id" in indexes
        with monkeypatch.context() as m:
            m.setattr(bulk, "writer_for", bulk_writers.Writer)
            other = Store.open(portable)
            bulk.bulk_load(other, [batch(0), batch(10)])
        assert dump(store) == dump(other)
        history = store.messages(f"c{0:025d}")
        assert [(m.role, m.content, m.status) for m in history] == \
            [("user", "hi", "complete"), ("assistant", "a", "complete")]
        assert history[1].shown_at is not None and history[1].settings == {"temperature": 0.7}
        assert dump(store)["conversations"][0][2] == "Tea\ufffdtime"
        assert all(counters(store).values())
        store.close()
        other.close()
    finally:
        pg_server.drop_database(fast)
        pg_server.drop_database(portable)


def dump(store: Store) -> dict:
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in (conversations, messages, ratings)}


def test_a_failing_batch_writes_nothing_and_the_earlier_ones_stay(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")

    def batches():
        yield batch(0)
        broken = batch(10)
        broken["ratings"]["message_id"] = ["m-unknown"]  # a foreign key that does not hold
        yield broken

    def failing():
        yield batch(20)
        raise RuntimeError("the generator broke")

    with pytest.raises(Exception, match="FOREIGN KEY"):
        bulk.bulk_load(store, batches())
    with pytest.raises(RuntimeError, match="the generator broke"):  # from the second thread
        bulk.bulk_load(store, failing())
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM conversations ORDER BY id").scalars() \
            .all() == [f"c{i:025d}" for i in (0, 1, 20, 21)]
    store.close()


def test_a_batch_naming_an_unknown_column_is_refused(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match=r"unknown columns in ratings: \['colour'\]"):
        bulk.bulk_load(store, [{"ratings": {"colour": ["red"]}}])
    with pytest.raises(ValueError, match="unknown tables"):
        bulk.bulk_load(store, [{"people": {"id": ["x"]}}])
    store.close()
