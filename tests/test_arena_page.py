"""The Arena page (AppTest of the real app): a round, the vote buttons, the names after the
vote, a failed side, and the leaderboard. The browser test (tests/browser/) checks the two
sides streaming at once."""

from __future__ import annotations

from chatfeedback.ui import keys

from .openai_server import OpenAIServer, Script
from .test_arena import ECHOS, openai_models


def open_arena(make_app, config: str = ECHOS, query: dict | None = None):
    at = make_app(config, query=query)
    pages = {info.get("url_pathname"): page for page, info in at._registered_pages.items()}
    assert "arena" in pages, "the Arena page is not in the navigation"
    at._page_hash = pages["arena"]  # AppTest.switch_page only knows file pages
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Arena"
    return at


def buttons(at) -> dict[str, object]:
    return {b.label: b for b in at.button}


def test_a_round_votes_and_shows_the_names(make_app):
    at = open_arena(make_app)
    assert "A is better" not in buttons(at)
    at.chat_input[0].set_value("Which tea is best?").run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert headers[:2] == ["Model A", "Model B"]               # blind
    answers = [m for m in at.chat_message if m.name == "assistant"]
    assert len(answers) == 2
    assert all("Which tea is best?" in m.markdown[0].value for m in answers)
    assert {"A is better", "B is better", "Tie", "Both are bad"} <= set(buttons(at))
    round_id = at.query_params["r"]
    buttons(at)["B is better"].click().run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert headers[0].startswith("Model A: ") and headers[1].startswith("Model B: ")
    assert any("You voted: **B is better**" in s.value for s in at.success)
    assert "A is better" not in buttons(at)                      # locked: one vote
    assert at.query_params["r"] == round_id
    assert not at.dataframe                                      # only the open tab runs
    # the leaderboard tab has the vote
    at.session_state[keys.ARENA_TAB] = "Leaderboard"
    at.run()
    table = at.dataframe[0].value
    assert table["Votes"].sum() == 2 and set(table["Rank"]) <= {1, 2}


def test_on_a_large_arena_style_control_is_computed_on_request(make_app, monkeypatch):
    """Above STYLE_AT_ONCE votes the plain ranking (from running totals) shows at once and
    the style-controlled one (from every vote) only once its toggle is on."""
    from chatfeedback.ui import arena_page

    monkeypatch.setattr(arena_page, "STYLE_AT_ONCE", 1)
    at = open_arena(make_app)
    for answer in ("Tie", "A is better"):
        at.chat_input[0].set_value("Which tea is best?").run()
        buttons(at)[answer].click().run()
        buttons(at)["New round"].click().run()
    at.session_state[keys.ARENA_TAB] = "Leaderboard"
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["Votes"].sum() == 4 and table["Style-controlled"].isna().all()
    at.toggle(key=keys.ARENA_STYLE).set_value(True).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["Style-controlled"].notna().all()


def test_a_round_goes_on_and_a_new_prompt_after_the_vote_starts_another(make_app):
    at = open_arena(make_app)
    at.chat_input[0].set_value("first").run()
    first = at.query_params["r"]
    at.chat_input[0].set_value("second").run()
    assert at.query_params["r"] == first
    prompts = [m.markdown[0].value for m in at.chat_message if m.name == "user"]
    assert prompts == ["first", "second", "first", "second"]     # both sides, both turns
    buttons(at)["Tie"].click().run()
    at.chat_input[0].set_value("third").run()
    assert at.query_params["r"] != first
    assert [h.value for h in at.subheader][:2] == ["Model A", "Model B"]


def test_a_failed_side_cannot_be_voted(make_app):
    with OpenAIServer() as one, OpenAIServer() as two:
        one.default = Script(text="fine answer")
        two.default = Script(status=500, error="model crashed")
        at = open_arena(make_app, openai_models(one, two))
        at.chat_input[0].set_value("go").run()
        assert not at.exception, at.exception
        assert any("model crashed" in e.value for e in at.error)
        assert any("cannot be voted" in w.value for w in at.warning)
        assert "A is better" not in buttons(at)
        at.session_state[keys.ARENA_TAB] = "Leaderboard"
        at.run()
        assert any("rounds: 0 voted, 1 failed" in c.value for c in at.caption)
        # a prompt typed on the Leaderboard tab is answered on the Battle tab
        at.chat_input[0].set_value("again").run()
        assert at.session_state[keys.ARENA_TAB] == "Battle"
        assert any("cannot be voted" in w.value for w in at.warning)


def test_without_arena_settings_there_is_no_arena_page(make_app):
    at = make_app("")
    pages = {info.get("url_pathname") for info in at._registered_pages.values()}
    assert "arena" not in pages
