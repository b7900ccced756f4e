import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chatfeedback.errors import FeedbackError, NotFound, StoreError
from chatfeedback.ids import is_id, new_id
from chatfeedback.store import Store

pytestmark = pytest.mark.all_databases


def test_ids_are_unique_and_sort_by_time():
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    assert all(is_id(i) for i in ids)


def test_conversation_messages_and_title(store):
    conv = store.create_conversation(model="echo")
    user = store.add_message(conv.id, "user", "  first   prompt ")
    answer = store.add_message(conv.id, "assistant", "hi", parent_id=user.id, model="echo")
    user2 = store.add_message(conv.id, "user", "second")
    assert (user.turn, answer.turn, user2.turn) == (0, 0, 1)
    assert store.conversation(conv.id).title == "first prompt"
    shown = store.messages(conv.id)
    assert [m.id for m in shown] == [user.id, answer.id, user2.id]
    assert store.messages(conv.id, from_turn=1) == [shown[2]]


def test_unicode_and_long_text_round_trip(store):
    text = "🦜 ünïcødé \u202e RTL \x00 nul? 中文 " * 10 + "x" * 100_000
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "user", text)
    assert store.message(msg.id).content == text.replace("\x00", "\ufffd")  # PG refuses NUL


def test_conversations_newest_first_and_by_owner(store):
    a = store.create_conversation(owner="a@x")
    b = store.create_conversation(owner="b@x")
    store.add_message(a.id, "user", "later activity")
    assert [c.id for c in store.list_conversations()] == [a.id, b.id]
    assert [c.id for c in store.list_conversations(owner="b@x")] == [b.id]
    with pytest.raises(NotFound, match="Conversation not found"):
        store.conversation(a.id, owner="b@x")
    with pytest.raises(NotFound):
        store.conversation("nope")


def test_rate_change_clear_and_events(store):
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "q")
    answer = store.add_message(conv.id, "assistant", "a", parent_id=user.id)
    assert store.rate(answer.id, 1, scale="thumbs", actor="me").value == 1
    assert store.rate(answer.id, 1, scale="thumbs").value == 1  # no-op, no event
    assert store.rate(answer.id, 0, scale="thumbs").value == 0
    assert store.rate(answer.id, None, scale="thumbs").value is None
    assert [e["action"] for e in store.iter_events()] == ["set", "change", "clear"]
    with pytest.raises(FeedbackError, match="only answers"):
        store.rate(user.id, 1, scale="thumbs")
    with pytest.raises(FeedbackError, match="from 1 to 5"):
        store.rate(answer.id, 0, scale="stars")


def test_locked_rating_cannot_change(store):
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "q")
    answer = store.add_message(conv.id, "assistant", "a", parent_id=user.id)
    store.rate(answer.id, 1, scale="thumbs", allow_change=False)
    with pytest.raises(FeedbackError, match="locked"):
        store.rate(answer.id, 0, scale="thumbs", allow_change=False)
    assert store.rating(answer.id).value == 1


def test_versions_and_selection(store):
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "q")
    v1 = store.add_message(conv.id, "assistant", "one", parent_id=user.id)
    v2 = store.add_message(conv.id, "assistant", "two", parent_id=user.id)
    assert (v1.version, v2.version) == (1, 2)
    shown = store.messages(conv.id)
    assert [m.id for m in shown] == [user.id, v2.id] and shown[1].siblings == 2
    store.select_version(v1.id)
    assert store.messages(conv.id)[1].id == v1.id


def test_interrupted_answers_are_recovered(store):
    conv = store.create_conversation()
    user = store.add_message(conv.id, "user", "q")
    answer = store.add_message(conv.id, "assistant", "part", parent_id=user.id,
                               status="streaming")
    assert store.recover_interrupted(stale_after=60) == 0
    assert store.recover_interrupted(stale_after=-1) == 1
    saved = store.message(answer.id)
    assert saved.status == "error" and saved.content == "part" and "interrupted" in saved.error


def test_concurrent_writers_never_see_locked(db_url):
    url = db_url
    store = Store.open(url)
    conv = store.create_conversation()
    errors: list[Exception] = []

    def worker(n: int) -> None:
        own = Store.open(url)  # a separate engine, like another server process
        try:
            for i in range(40):
                user = own.add_message(conv.id, "user", f"{n}-{i}")
                answer = own.add_message(conv.id, "assistant", "a", parent_id=user.id)
                own.rate(answer.id, i % 2, scale="thumbs")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.ratings(conv.id)) == 240


def test_unopenable_database_is_a_one_line_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(f"sqlite:///{tmp_path}/missing/dir/x.db")
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="cannot open database .*unable to open"):
        Store.open(f"sqlite:///{folder}")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    with read_only(readonly):
        with pytest.raises(OSError):  # really not writable, also for root (as CI runs)
            (readonly / "probe").write_text("x")
        with pytest.raises(StoreError, match=f"{readonly}/x.db is not writable"):
            Store.open(f"sqlite:///{readonly}/x.db")
    existing = tmp_path / "existing.db"
    Store.open(f"sqlite:///{existing}").close()
    with read_only(existing), pytest.raises(StoreError, match=f"{existing} is not writable"):
        Store.open(f"sqlite:///{existing}")


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a folder or a file) not writable for this process, also when it runs as
    root, who ignores permission bits: immutable (chattr +i), or else a read-only bind
    mount of it."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True,
                      check=False).returncode == 0:
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_ratings_of_a_window_only(store):
    conv = store.import_conversation([x for i in range(6) for x in
                                      (("user", f"q{i}"), ("assistant", f"a{i}"))])
    answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
    for answer in answers:
        store.rate(answer.id, 1, scale="thumbs")
    window = store.ratings(conv.id, from_turn=4)
    assert set(window) == {answers[4].id, answers[5].id}
    assert len(store.ratings(conv.id)) == 6


def test_comment_and_tags_are_one_event_each(store):
    conv = store.import_conversation([("user", "q"), ("assistant", "a")])
    answer = store.messages(conv.id)[1]
    with pytest.raises(FeedbackError, match="rate the answer"):
        store.annotate(answer.id, comment="early")
    store.rate(answer.id, 0, scale="thumbs", actor="session:1")
    store.annotate(answer.id, comment=" wrong year ", tags=["Wrong", "Too long"],
                   actor="session:1")
    store.annotate(answer.id, comment="wrong year", tags=["Too long", "Wrong"])  # no change
    store.annotate(answer.id, tags=["Wrong"])
    with pytest.raises(FeedbackError, match="2,001 characters; the limit is 2,000"):
        store.annotate(answer.id, comment="x" * 2001, max_comment_length=2000)
    events = list(store.iter_events())
    assert [(e["action"], e["comment"], e["tags"]) for e in events] == [
        ("set", None, None), ("comment", "wrong year", None),
        ("tags", None, ["Too long", "Wrong"]), ("tags", None, ["Wrong"])]
    assert events[1]["actor"] == "session:1"
    rating = store.rating(answer.id)
    assert (rating.comment, rating.tags) == ("wrong year", ("Wrong",))


def test_a_database_error_while_iterating_is_a_store_error(store):
    """``db_errors`` covers a generator's iteration, when its query actually runs."""
    conv = store.create_conversation()
    prompt = store.add_message(conv.id, "user", "Hi")
    answer = store.add_message(conv.id, "assistant", "Hello", parent_id=prompt.id)
    store.rate(answer.id, 1, scale="thumbs")
    rows = store.iter_rated_answers()  # nothing has run yet
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE messages RENAME TO gone_messages")
    with pytest.raises(StoreError, match="^database error: "):
        next(rows)
