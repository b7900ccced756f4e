"""AppTest: reasons and comments under a rating, the windowed history, exposure."""

import json

from click.testing import CliRunner

from chatfeedback.analytics import Analytics
from chatfeedback.cli import main
from chatfeedback.store import Store
from chatfeedback.ui import keys


def button(at, label):
    return next(b for b in at.button if b.label == label)


def captions(at):
    return [c.value for c in at.caption]


def test_comment_and_tags_round_trip_through_reload_and_export(make_app, db_url):
    at = make_app()
    at.chat_input[0].set_value("When did the Berlin wall fall?").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert len(at.button_group) == 0 and len(at.text_area) == 0  # nothing until rated
    at.feedback[0].set_value(0).run()
    assert ":material/check: Saved" in captions(at)
    tags = at.button_group[0]
    assert [o.content for o in tags.proto.options] == [
        "Wrong", "Unhelpful", "Too long", "Refused", "Unsafe"]
    tags.set_value(["Wrong", "Too long"])
    at.text_area[0].input("It fell in 1989, not 1991.")
    button(at, "Save").click().run()
    assert not at.exception and not at.error
    assert len(at.text_area) == 0  # the editor closed
    assert "Too long · Wrong — “It fell in 1989, not 1991.”" in captions(at)

    conv = at.query_params["c"]
    again = make_app(query={"c": conv})  # a reload: a new session
    assert "Too long · Wrong — “It fell in 1989, not 1991.”" in captions(again)
    assert ":material/check: Saved" not in captions(again)
    button(again, "Edit").click().run()
    assert again.button_group[0].value == ["Too long", "Wrong"]
    assert again.text_area[0].value == "It fell in 1989, not 1991."

    runner = CliRunner()
    rows = [json.loads(x) for x in runner.invoke(main, ["export", "--db", db_url]).stdout
            .splitlines()]
    assert [(r["rating"], r["comment"], r["tags"]) for r in rows] == [
        (0, "It fell in 1989, not 1991.", ["Too long", "Wrong"])]
    csv_out = runner.invoke(main, ["export", "--format", "csv", "--db", db_url]).stdout
    assert '"[""Too long"", ""Wrong""]"' in csv_out and "It fell in 1989" in csv_out
    events = [json.loads(x) for x in runner.invoke(
        main, ["export", "--format", "events", "--db", db_url]).stdout.splitlines()]
    assert [e["action"] for e in events] == ["set", "comment", "tags"]
    assert all(e["actor"].startswith("session:") for e in events)


def test_positive_rating_offers_positive_reasons_and_config_lists(make_app):
    at = make_app('[feedback]\nreasons_positive = ["Spot on", "Fast"]\ncomment = false\n')
    at.chat_input[0].set_value("hi").run()
    at.feedback[0].set_value(1).run()
    assert [o.content for o in at.button_group[0].proto.options] == ["Spot on", "Fast"]
    assert len(at.text_area) == 0  # comment = false: no comment box
    at.button_group[0].set_value(["Fast"])
    button(at, "Save").click().run()
    assert "Fast" in captions(at)


def test_too_long_comment_says_so_and_keeps_the_text(make_app, db_url):
    at = make_app("[feedback]\nmax_comment_length = 20\n")
    at.chat_input[0].set_value("hi").run()
    at.feedback[0].set_value(0).run()
    text = "this comment is far longer than twenty characters"
    at.text_area[0].input(text)
    button(at, "Save").click().run()
    assert "Not saved: the comment has 49 characters; the limit is 20" in at.error[0].value
    assert at.text_area[0].value == text  # nothing lost
    at.text_area[0].input("too short to fail")
    button(at, "Save").click().run()
    assert not at.error
    store = Store.open(db_url)
    [rating] = store.ratings(at.query_params["c"]).values()
    assert rating.comment == "too short to fail"
    assert [e["action"] for e in store.iter_events()] == ["set", "comment"]


def test_cancel_keeps_what_was_saved(make_app, db_url):
    at = make_app()
    at.chat_input[0].set_value("hi").run()
    at.feedback[0].set_value(1).run()
    at.text_area[0].input("unsent")
    button(at, "Cancel").click().run()
    assert len(at.text_area) == 0 and button(at, "Add a reason or comment")
    store = Store.open(db_url)
    assert [e["action"] for e in store.iter_events()] == ["set"]


def _long_conversation(db_url, turns):
    store = Store.open(db_url)
    conv = store.import_conversation([x for i in range(turns) for x in
                                      (("user", f"question {i}"), ("assistant", f"answer {i}"))])
    return store, conv


def test_window_renders_latest_turns_and_show_earlier_loads_more(make_app, db_url):
    store, conv = _long_conversation(db_url, 12)
    at = make_app("[chat]\nwindow = 5\n[feedback]\nmode = \"changeable\"\n",
                  query={"c": conv.id})
    assert [m.markdown[0].value for m in at.chat_message][::2] == [
        f"question {i}" for i in range(7, 12)]
    assert len(at.feedback) == 5
    # exposure: only the rendered answers are marked as shown
    shown = {m.content for m in store.messages(conv.id) if m.shown_at}
    assert shown == {f"answer {i}" for i in range(7, 12)}
    assert Analytics(store).totals().shown == 5

    button(at, "Show earlier (7 older turns)").click().run()
    assert at.chat_message[0].markdown[0].value == "question 2"
    button(at, "Show earlier (2 older turns)").click().run()
    assert at.chat_message[0].markdown[0].value == "question 0"
    assert not [b for b in at.button if b.label.startswith("Show earlier")]
    assert Analytics(store).totals().shown == 12

    old = store.messages(conv.id)[1]
    at.feedback(key=keys.rating(old.id)).set_value(0).run()  # rate the very first answer
    assert store.rating(old.id).value == 0
    reopened = make_app("[chat]\nwindow = 5\n", query={"c": conv.id})
    assert len(reopened.feedback) == 5  # a new session starts with the window again
    button(reopened, "Show earlier (7 older turns)").click().run()
    button(reopened, "Show earlier (2 older turns)").click().run()
    assert reopened.feedback(key=keys.rating(old.id)).value == 0


def test_new_prompt_in_a_long_conversation_slides_the_window(make_app, db_url):
    _, conv = _long_conversation(db_url, 8)
    at = make_app("[chat]\nwindow = 3\n", query={"c": conv.id})
    at.chat_input[0].set_value("newest").run()
    texts = [m.markdown[0].value for m in at.chat_message]
    assert texts[-2:] == ["newest", 'You said, "newest" ...interesting.']
    at2 = make_app("[chat]\nwindow = 3\n", query={"c": conv.id})
    assert [m.markdown[0].value for m in at2.chat_message][::2] == [
        "question 6", "question 7", "newest"]
