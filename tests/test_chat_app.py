"""AppTest: the chat page drives the real service and database."""

import os

import pytest

from chatfeedback.store import Store
from chatfeedback.ui import keys


def answers(at):
    return [m for m in at.chat_message if m.name == "assistant"]


def stored(db_url, conversation_id):
    store = Store.open(db_url)
    try:
        return store.messages(conversation_id), store.ratings(conversation_id)
    finally:
        store.close()


def test_chat_streams_echo_and_persists(make_app, db_url):
    at = make_app()
    assert at.chat_input[0].placeholder == "Say something"
    at.chat_input[0].set_value("hello").run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert answers(at)[0].markdown[0].value == 'You said, "hello" ...interesting.'
    conv = at.query_params["c"]
    messages, _ = stored(db_url, conv)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "hello", "complete"),
        ("assistant", 'You said, "hello" ...interesting.', "complete")]
    assert len(at.feedback) == 1 and at.feedback[0].key == keys.rating(messages[1].id)


def test_locked_mode_rates_once(make_app, db_url):
    at = make_app()
    at.chat_input[0].set_value("one").run()
    fb = at.feedback[0]
    fb.set_value(1).run()
    conv = at.query_params["c"]
    messages, ratings = stored(db_url, conv)
    assert ratings[messages[1].id].value == 1
    assert at.feedback[0].value == 1 and at.feedback[0].disabled
    # a reopened page shows it selected and disabled
    again = make_app(query={"c": conv})
    assert again.feedback[0].value == 1 and again.feedback[0].disabled
    with pytest.raises(Exception, match="disabled"):
        again.feedback[0].set_value(0)


def test_changeable_mode_updates_and_clears(make_app, db_url):
    at = make_app('[feedback]\nmode = "changeable"\n')
    at.chat_input[0].set_value("one").run()
    at.feedback[0].set_value(1).run()
    assert not at.feedback[0].disabled
    at.feedback[0].set_value(0).run()
    conv = at.query_params["c"]
    messages, ratings = stored(db_url, conv)
    assert ratings[messages[1].id].value == 0
    at.feedback[0].set_value(None).run()
    _, ratings = stored(db_url, conv)
    assert ratings[messages[1].id].value is None
    assert make_app('[feedback]\nmode = "changeable"\n', query={"c": conv}).feedback[0].value \
        is None


def test_latest_mode_has_one_widget_and_older_ratings_read_only(make_app, db_url):
    at = make_app('[feedback]\nmode = "latest"\n')
    at.chat_input[0].set_value("one").run()
    at.feedback[0].set_value(1).run()
    at.chat_input[0].set_value("two").run()
    at.chat_input[0].set_value("three").run()
    enabled = [f for f in at.feedback if not f.disabled]
    assert len(enabled) == 1
    # the first answer's rating is still shown, read-only; the second has none
    assert len(at.feedback) == 2 and at.feedback[0].disabled and at.feedback[0].value == 1
    enabled[0].set_value(0).run()
    conv = at.query_params["c"]
    messages, ratings = stored(db_url, conv)
    assert ratings[messages[5].id].value == 0


@pytest.mark.parametrize("scale, index, value", [("thumbs", 0, 0), ("faces", 4, 5),
                                                 ("stars", 0, 1)])
def test_scales(make_app, db_url, scale, index, value):
    at = make_app(f'[feedback]\nscale = "{scale}"\n')
    at.chat_input[0].set_value("rate me").run()
    assert at.feedback[0].proto.type == {"thumbs": 0, "faces": 1, "stars": 2}[scale]
    at.feedback[0].set_value(index).run()
    messages, ratings = stored(db_url, at.query_params["c"])
    assert ratings[messages[1].id].value == value and ratings[messages[1].id].scale == scale


def test_blank_prompt_does_nothing(make_app, db_url):
    at = make_app()
    at.chat_input[0].set_value("   \n ").run()
    assert len(at.chat_message) == 0 and "c" not in at.query_params
    assert Store.open(db_url).list_conversations() == []


def test_long_and_unicode_prompts_are_stored_intact(make_app, db_url):
    text = "ünïcødé 🦜 中文 <script>alert(1)</script> " + "x" * 100_000
    at = make_app()
    at.chat_input[0].set_value(text).run()
    messages, _ = stored(db_url, at.query_params["c"])
    assert messages[0].content == text
    assert messages[1].content == f'You said, "{text}" ...interesting.'


def test_unknown_conversation_says_not_found(make_app):
    at = make_app(query={"c": "01aaaaaaaaaaaaaaaaaaaaaaaa"})
    assert "Conversation not found" in at.error[0].value
    at.button(key=keys.NOT_FOUND_NEW).click().run()
    assert "c" not in at.query_params and not at.error


def test_sidebar_lists_conversations_newest_first(make_app):
    at = make_app()
    at.chat_input[0].set_value("first chat").run()
    first = at.query_params["c"]
    at.button(key=keys.NEW_CHAT).click().run()
    assert "c" not in at.query_params and len(at.chat_message) == 0
    at.chat_input[0].set_value("second chat").run()
    labels = [b.label for b in at.sidebar.button][1:]
    assert labels == ["second chat", "first chat"]
    at.button(key=keys.conversation(first)).click().run()
    assert at.query_params["c"] == first
    assert at.chat_message[0].markdown[0].value == "first chat"


def test_sidebar_lists_the_newest_conversations_and_more_on_request(make_app, db_url):
    """The sidebar lists LISTED conversations, newest first; "More conversations" lists as
    many again (each listed conversation is a widget every page run registers)."""
    from chatfeedback.ui.chat_page import LISTED

    store = Store.open(db_url)
    made = [store.create_conversation(model="echo", title=f"chat {i}").id
            for i in range(LISTED + 3)]
    store.close()
    at = make_app()
    listed = [b.key for b in at.sidebar.button if b.key.startswith(keys.conversation(""))]
    assert listed == [keys.conversation(c) for c in made[::-1][:LISTED]]
    at.button(key=keys.LIST_MORE).click().run()
    listed = [b.key for b in at.sidebar.button if b.key.startswith(keys.conversation(""))]
    assert listed == [keys.conversation(c) for c in made[::-1]]
    assert keys.LIST_MORE not in [b.key for b in at.sidebar.button]


def test_history_is_sent_on_each_turn(make_app, db_url):
    at = make_app()
    for prompt in ("a", "b", "c"):
        at.chat_input[0].set_value(prompt).run()
    assert [m.markdown[0].value for m in at.chat_message][::2] == ["a", "b", "c"]
    assert len(at.feedback) == 3


LAZY_PAGES = """
import gc, json, sys
from streamlit.testing.v1 import AppTest
from chatfeedback.ui import heap
HEAVY = ("pandas", "pyarrow", "altair", "scipy")
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
assert not at.exception, at.exception
chat = {"heavy": [m for m in HEAVY if m in sys.modules], "frozen": gc.get_freeze_count()}
pages = {info.get("url_pathname"): page for page, info in at._registered_pages.items()}
at._page_hash = pages["dashboard"]
at.run()
assert not at.exception, at.exception
print(json.dumps({"chat": chat, "title": at.title[0].value, "again": heap.freeze_once(),
                  "heavy": [m for m in HEAVY if m in sys.modules],
                  "frozen": gc.get_freeze_count()}))
"""


def test_admin_pages_load_on_first_use_and_are_frozen(tmp_path, db_url):
    """The chat's run imports no pandas, pyarrow, Altair or SciPy (the admin pages' imports)
    and freezes what it did import, so the collection Streamlit runs after every run leaves
    it alone (see ui/heap.py); opening the Dashboard imports its libraries and freezes them
    too. A fresh interpreter: this test process has imported everything already."""
    import json
    import subprocess
    import sys

    from .conftest import APP

    env = dict(os.environ, CHATFEEDBACK_DATABASE_URL=db_url)
    env.pop("CHATFEEDBACK_CONFIG", None)
    done = subprocess.run([sys.executable, "-c", LAZY_PAGES, APP], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["chat"]["heavy"] == []
    assert seen["chat"]["frozen"] > 50_000  # Streamlit, SQLAlchemy, Alembic...
    assert seen["title"] == "Dashboard"
    assert {"pandas", "pyarrow", "altair"} <= set(seen["heavy"])
    assert seen["frozen"] > seen["chat"]["frozen"] + 20_000
    assert seen["again"] is False


