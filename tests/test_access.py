"""Sign-in, per-user conversations and admin-only pages, through AppTest's ``st.user``."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from chatfeedback.store import Store
from chatfeedback.ui import keys

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "chatfeedback", "client_secret": "s",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ADMINS = '[access]\nadmins = ["Boss@Example.org"]\n'


def pages(at) -> list[str]:
    """The titles of the pages in the navigation."""
    return [info["page_name"] for info in at._registered_pages.values()]


def open_page(at, title: str):
    """AppTest.switch_page for a callable st.Page: select it by its title."""
    for page_hash, info in at._registered_pages.items():
        if info["page_name"] == title:
            at._page_hash = page_hash
            return at.run()
    raise AssertionError(f"no page {title!r} in {pages(at)}")


@pytest.fixture
def app_as(make_app):
    """An AppTest with sign-in configured, signed in as ``email`` (None: signed out)."""
    def make(email: str | None, config: str = ADMINS, query: dict[str, str] | None = None):
        at = make_app(config, query=query, run=False)
        at.secrets["auth"] = AUTH
        at.user = ({"is_logged_in": True, "email": email, "name": email.split("@")[0]}
                   if email else {"is_logged_in": False})
        return at.run()
    return make


def sidebar_text(at) -> str:
    return " ".join(str(getattr(e, "value", "")) for e in at.sidebar.caption)


def test_signed_out_visitor_sees_only_the_sign_in_screen(app_as):
    at = app_as(None)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.chat_input) == 0 and len(at.chat_message) == 0


def test_named_providers_get_one_button_each(make_app):
    at = make_app(run=False)
    at.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x" * 32,
                          "google": {"client_id": "a"}, "okta": {"client_id": "b"}}
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Okta"]


def test_conversations_belong_to_their_user(app_as, db_url):
    alice = app_as("Alice@Example.org")
    assert "Signed in as **Alice** (alice@example.org)" in sidebar_text(alice)
    assert "Sign out" in [b.label for b in alice.sidebar.button]
    alice.chat_input[0].set_value("alice's secret").run()
    conv = alice.query_params["c"]
    store = Store.open(db_url)
    assert store.conversation(conv).owner == "alice@example.org"
    assert alice.sidebar.button(key=keys.conversation(conv)).label == "alice's secret"

    bob = app_as("bob@example.org", query={"c": conv})
    assert [e.value for e in bob.error] == ["Conversation not found"]
    assert len(bob.chat_message) == 0
    assert keys.conversation(conv) not in [b.key for b in bob.sidebar.button]
    bob.button(key=keys.NOT_FOUND_NEW).click().run()
    bob.chat_input[0].set_value("bob's own").run()
    assert bob.query_params["c"] != conv  # a new conversation of his, not an append to hers
    assert [c.title for c in store.list_conversations(owner="bob@example.org")] == ["bob's own"]
    assert [m.content for m in store.messages(conv) if m.role == "user"] == ["alice's secret"]


def test_only_admins_see_the_export_page(app_as, db_url):
    user = app_as("someone@example.org")
    assert pages(user) == ["Chat"]
    boss = app_as("boss@example.org")
    assert pages(boss) == ["Chat", "Dashboard", "Export", "Review"]  # admins review too
    open_page(boss, "Export")
    assert not boss.exception
    labels = [b.label for b in boss.get("download_button")]
    assert [label.split(" ")[0] for label in labels] == [
        "Rated", "Rated", "Rated", "KTO:", "DPO:", "SFT:", "Rating", "Arena", "Review", "Gold"]


def test_without_sign_in_one_anonymous_user_is_admin(make_app, db_url):
    at = make_app(ADMINS)
    assert pages(at) == ["Chat", "Dashboard", "Export", "Review"]
    assert sidebar_text(at) == "Model: **echo** Conversations"  # nobody is signed in
    at.chat_input[0].set_value("hi").run()
    assert Store.open(db_url).conversation(at.query_params["c"]).owner is None


def test_export_page_files_match_the_cli(store):
    from chatfeedback.ui.export_page import export_bytes

    conv = store.create_conversation(model="echo", training_consent=True)
    user = store.add_message(conv.id, "user", "2+2, ünï?")
    answer = store.add_message(conv.id, "assistant", "4", parent_id=user.id, model="echo")
    store.rate(answer.id, 1, scale="thumbs", actor="a@x")
    rows = [json.loads(line) for line in export_bytes(store, "jsonl").decode().splitlines()]
    assert [(r["prompt"], r["response"], r["rating"]) for r in rows] == [("2+2, ünï?", "4", 1)]
    table = list(csv.DictReader(io.StringIO(export_bytes(store, "csv").decode())))
    assert table[0]["prompt"] == "2+2, ünï?" and table[0]["rating"] == "1"
    events = [json.loads(x) for x in export_bytes(store, "events").decode().splitlines()]
    assert [(e["action"], e["actor"]) for e in events] == [("set", "a@x")]
    table = pq.read_table(io.BytesIO(export_bytes(store, "parquet"))).to_pylist()
    assert [(r["prompt"], r["rating"]) for r in table] == [("2+2, ünï?", 1)]
    kto = [json.loads(x) for x in export_bytes(store, "kto").decode().splitlines()]
    assert [(r["completion"][0]["content"], r["label"]) for r in kto] == [("4", True)]
    from chatfeedback.export.analysis import jsonl_lines
    from chatfeedback.review import QueueFilter, Review
    from chatfeedback.rubric import parse_criteria

    review = Review(store, parse_criteria(None, "t"))
    queue = review.create_queue("q", QueueFilter())
    review.submit(queue, review.next_item(queue, "ann").id, "ann", {"good": 1})
    for fmt in ("reviews", "gold"):
        text = export_bytes(store, fmt).decode()
        assert text == "".join(jsonl_lines(review.export_rows(fmt)))  # as the CLI writes
        rows = [json.loads(x) for x in text.splitlines()]
        assert [(r["message_id"], r["value"]) for r in rows] == [(answer.id, 1)]


def test_imported_conversations_go_to_their_owner(app_as, db_url, tmp_path):
    from click.testing import CliRunner

    from chatfeedback.cli import main

    logs = tmp_path / "logs.jsonl"
    logs.write_text(json.dumps({"messages": [{"role": "user", "content": "imported q"},
                                             {"role": "assistant", "content": "imported a"}]})
                    + "\n")
    result = CliRunner().invoke(main, ["import", str(logs), "--owner", "Alice@Example.org",
                                       "--db", db_url])
    assert result.exit_code == 0, result.output
    conv = result.stdout.strip()
    alice = app_as("alice@example.org", query={"c": conv})
    assert [m.markdown[0].value for m in alice.chat_message] == ["imported q", "imported a"]
    assert alice.sidebar.button(key=keys.conversation(conv)).label == "imported q"
    bob = app_as("bob@example.org", query={"c": conv})
    assert [e.value for e in bob.error] == ["Conversation not found"]
