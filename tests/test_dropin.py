"""The drop-in chat (``chatfeedback.streamlit.feedback_chat``) in AppTest: examples/
streamlit_app.py answered by its own function, rated, and the rating in the database; the
app's own widgets, page and errors left to it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatfeedback.ui import keys

from .support import rated_answers

pytestmark = pytest.mark.all_databases

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "streamlit_app.py"


@pytest.fixture
def example(db_url, monkeypatch):
    monkeypatch.setenv("FEEDBACK_DB", db_url)
    monkeypatch.delenv("CHATFEEDBACK_CONFIG", raising=False)

    def make(user: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(EXAMPLE), default_timeout=30)
        at.user = user or {"is_logged_in": False}
        return at.run()
    return make


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_prompt_stream_and_rating_land_in_the_database(example, db_url):
    at = example()
    assert not at.exception and not at.error
    assert at.title[0].value == "My assistant"  # the app's own page
    at.chat_input(key=keys.PROMPT).set_value("hello there").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[1].markdown[0].value == "You said: hello there"

    [(answer, rating)] = rated_answers(db_url)
    assert (answer.content, answer.status, answer.model, answer.backend) == (
        "You said: hello there ", "complete", "my_model", "python")
    assert rating is None and answer.shown_at is not None
    at.feedback(key=keys.rating(answer.id)).set_value(1).run()  # thumbs up
    assert not at.exception and not at.error
    [(_, rating)] = rated_answers(db_url)
    assert (rating.scale, rating.value) == ("thumbs", 1)
    assert rating.rater.startswith("session:")  # anonymous: this browser session
    assert ":material/check: Saved" in [c.value for c in at.caption]
    # Why: the reasons and comment under it (ui/rating.py's editor), saved as the app saves.
    at.button_group[0].set_value(["Clear"])
    at.text_area(key=keys.comment(answer.id)).input("Friendly.")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception and not at.error
    [(_, rating)] = rated_answers(db_url)
    assert (rating.value, rating.tags, rating.comment) == (1, ("Clear",), "Friendly.")

    # The app's own widget, read by the model's closure: this session's value is used.
    at.sidebar.radio(key="style").set_value("shouting").run()
    at.chat_input(key=keys.PROMPT).set_value("again").run()
    assert at.chat_message[3].markdown[0].value == "YOU SAID: AGAIN"
    assert len(at.feedback) == 2


def test_a_signed_in_user_owns_rates_and_comes_back(example, db_url):
    ann = {"is_logged_in": True, "email": "ann@example.org"}
    at = example(ann)
    at.chat_input(key=keys.PROMPT).set_value("remember me").run()
    [(answer, _)] = rated_answers(db_url)
    at.feedback(key=keys.rating(answer.id)).set_value(0).run()
    [(_, rating)] = rated_answers(db_url)
    assert (rating.value, rating.rater) == (0, "ann@example.org")

    again = example(ann)  # a reload: a new session finds the conversation
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert again.feedback(key=keys.rating(answer.id)).value == 0
    assert again.feedback(key=keys.rating(answer.id)).disabled  # locked, as configured
    next(b for b in again.button if b.label == "New chat").click().run()
    assert len(again.chat_message) == 0

    bob = example({"is_logged_in": True, "email": "bob@example.org"})
    assert len(bob.chat_message) == 0  # never someone else's


def test_stars_changeable_regenerate_and_the_apps_errors(tmp_path, db_url):
    path = script(tmp_path, f'''
        import streamlit as st
        from chatfeedback.streamlit import feedback_chat

        calls = st.session_state.setdefault("calls", [])

        def answer(messages):
            calls.append(1)
            return f"answer {{len(calls)}}"

        st.text_input("Your own input", key="mine")
        feedback_chat(answer, db="{db_url}", scale="stars", mode="changeable",
                      name="my-llm", system_prompt="Be kind.")
        st.write("after the chat")
    ''')
    at = AppTest.from_file(path, default_timeout=30)
    at.user = {"is_logged_in": False}
    at.run()
    at.chat_input(key=keys.PROMPT).set_value("rate me").run()
    [(answer, _)] = rated_answers(db_url)
    assert (answer.model, answer.system_prompt, answer.content) == ("my-llm", "Be kind.",
                                                                    "answer 1")
    at.feedback(key=keys.rating(answer.id)).set_value(3).run()  # the 4th star: stored 4
    at.feedback(key=keys.rating(answer.id)).set_value(1).run()  # changed: 2 stars
    [(_, rating)] = rated_answers(db_url)
    assert (rating.scale, rating.value) == ("stars", 2)

    at.button(key=keys.regenerate(answer.parent_id)).click().run()  # a second version
    assert not at.exception and not at.error
    assert at.chat_message[1].markdown[0].value == "answer 2"
    assert [(m.content, m.version) for m, _ in rated_answers(db_url)] == [("answer 2", 2)]
    assert at.markdown[-1].value == "after the chat" and at.text_input(key="mine")


def test_bad_settings_are_said_in_place_and_the_app_goes_on(tmp_path, db_url):
    path = script(tmp_path, f'''
        import streamlit as st
        from chatfeedback.streamlit import feedback_chat

        feedback_chat(lambda messages: "hi", db="{db_url}", scale="hearts")
        st.write("the rest of the app")
    ''')
    at = AppTest.from_file(path, default_timeout=30)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert at.error[0].value == ("The chat cannot start: feedback_chat: 'feedback.scale' must "
                                 "be one of thumbs, faces, stars; got 'hearts'")
    assert at.markdown[-1].value == "the rest of the app"
