"""The Dashboard page (AppTest of the real app) and the chat's training-consent switch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatfeedback import demo
from chatfeedback.analytics import Analytics, Filters, wilson
from chatfeedback.store import Store
from chatfeedback.ui import keys

END = datetime(2026, 11, 23, tzinfo=UTC)


def open_dashboard(make_app, config: str = ""):
    at = make_app(config)
    pages = {info.get("url_pathname"): page for page, info in at._registered_pages.items()}
    assert "dashboard" in pages, "the Dashboard page is not in the navigation"
    at._page_hash = pages["dashboard"]  # AppTest.switch_page only knows file pages
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Dashboard"
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def demo_store(db_url) -> Store:
    store = Store.open(db_url)
    demo.fill(store, 1500, seed=5, weeks=4, end=END)
    yield store
    store.close()


def test_dashboard_shows_the_sql_figures(make_app, demo_store):
    at = open_dashboard(make_app)
    totals = Analytics(demo_store).totals(Filters())
    assert metrics(at) == {
        "Conversations": f"{totals.conversations:,}", "Answers": f"{totals.answers:,}",
        "Shown": f"{totals.shown:,}", "Rated": f"{totals.rated:,}",
        "Rated / shown": f"{totals.rated_share:.1%}",
        "Positive": f"{totals.positive_share:.1%}"}
    assert totals.shown_rated / totals.shown == totals.rated_share  # not rated / answers
    models_table = at.dataframe[0].value
    assert sorted(models_table["Model"]) == sorted(m.name for m in demo.MODELS)
    assert models_table["Ratings"].sum() == totals.rated
    assert "Thumbs, faces and stars side by side" in " ".join(c.value for c in at.caption)
    lowest = at.dataframe[-1].value
    assert len(lowest) == 20 and (lowest["Score"] == 0).all()
    assert lowest["Conversation"].str.fullmatch(r"chat\?c=[0-9a-z]{26}").all()
    assert len(at.get("vega_lite_chart")) == 2  # over time (with bands), reasons


def test_filters_narrow_every_figure(make_app, demo_store):
    at = open_dashboard(make_app)
    at.selectbox(key=keys.DASH_MODEL).set_value("llama-3.1-8b")
    at.selectbox(key=keys.DASH_SCALE).set_value("faces")
    at.run()
    assert not at.exception
    totals = Analytics(demo_store).totals(Filters(model="llama-3.1-8b", scale="faces"))
    assert metrics(at)["Rated"] == f"{totals.rated:,}"
    assert metrics(at)["Answers"] == f"{totals.answers:,}"
    assert list(at.dataframe[0].value["Model"]) == ["llama-3.1-8b"]
    assert "Only one model has ratings" in " ".join(c.value for c in at.caption)
    lowest = at.dataframe[-1].value
    assert set(lowest["Rating"]) <= {f"face {v}/5" for v in range(1, 6)}  # faces only
    assert set(lowest["Model"]) == {"llama-3.1-8b"}
    assert lowest["Score"].is_monotonic_increasing


def test_rated_share_counts_shown_answers_only(make_app, store):
    conv = store.import_conversation([x for i in range(5) for x in
                                      (("user", f"q{i}"), ("assistant", f"a{i}"))], model="m")
    a = [m for m in store.messages(conv.id) if m.role == "assistant"]
    store.mark_shown([m.id for m in a[:4]])  # a[4] is never shown
    store.rate(a[0].id, 1, scale="thumbs")
    store.rate(a[1].id, 4, scale="stars")
    store.rate(a[4].id, 0, scale="thumbs")  # rated, never shown: not among the shown
    at = open_dashboard(make_app)
    shown = metrics(at)
    assert (shown["Answers"], shown["Shown"], shown["Rated"]) == ("5", "4", "3")
    assert shown["Rated / shown"] == "50.0%"  # 2 of the 4 shown answers
    share = next(m for m in at.metric if m.label == "Rated / shown")
    low, high = wilson(2, 4)
    assert "2 of the 4 answers shown" in share.help
    assert f"{low:.1%} – {high:.1%}" in share.help
    at.selectbox(key=keys.DASH_SCALE).set_value("stars").run()
    assert metrics(at)["Rated / shown"] == "25.0%"  # rated on stars, of all shown


def rated_answers(store: Store, model: str, positive: int, total: int,
                  people: int = 20) -> None:
    """``total`` ratings of ``model`` by ``people`` raters in turn, the first ``positive``
    of them positive."""
    conv = store.import_conversation([x for i in range(total) for x in
                                      (("user", f"q{i}"), ("assistant", f"a{i}"))], model=model)
    answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
    for index, answer in enumerate(answers):
        store.rate(answer.id, 1 if index < positive else 0, scale="thumbs",
                   actor=f"{model}-rater-{index % people}@example.org")


@pytest.mark.parametrize(("beta_positive", "kind", "start"), [
    (30, "success", ("alpha is rated positive more often than beta: alpha 80% (20 people, "
                     "100 ratings) vs beta 30% (20 people, 100 ratings); difference +50.0 "
                     "points, 95 % interval ")),
    (78, "info", ("No clear difference: alpha 80% (20 people, 100 ratings) vs beta 78% "
                  "(20 people, 100 ratings); difference +2.0 points, 95 % interval ")),
])
def test_the_model_verdict_counts_people_and_says_it_is_observational(make_app, store,
                                                                      beta_positive, kind,
                                                                      start):
    rated_answers(store, "alpha", 80, 100)
    rated_answers(store, "beta", beta_positive, 100)
    at = open_dashboard(make_app)
    at.selectbox(key=keys.dash_compare("model", "a")).set_value("alpha")
    at.selectbox(key=keys.dash_compare("model", "b")).set_value("beta")
    at.run()
    [verdict] = [e.value for e in getattr(at, kind) if "alpha" in e.value]
    assert verdict.startswith(start) and "Observational: people chose these" in verdict
    assert any("Observational: people chose these" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["People"]) == [20, 20]


def test_small_samples_get_a_warning(make_app, store):
    for model, value in (("a", 1), ("a", 1), ("b", 0)):
        conv = store.create_conversation(model=model)
        prompt = store.add_message(conv.id, "user", "hi")
        answer = store.add_message(conv.id, "assistant", "hello", parent_id=prompt.id,
                                   model=model)
        store.rate(answer.id, value, scale="thumbs", actor=f"{model}@example.org")
    at = open_dashboard(make_app)
    assert any(w.value.startswith("Too few people") for w in at.warning)
    assert metrics(at)["Positive"] == "66.7%"


def test_an_empty_dashboard_says_how_to_get_data(make_app, db_url):
    at = open_dashboard(make_app)
    assert not at.metric and not at.get("vega_lite_chart") and not at.dataframe
    [hint] = [i.value for i in at.info]
    assert f"chatfeedback demo --db {Store.open(db_url, upgrade=False).url}" in hint
    assert "Chat page" in hint
    store = Store.open(db_url)  # what the hint says to do, then Refresh
    demo.fill(store, 300, seed=1, weeks=2)
    store.close()
    at.button(key=keys.DASH_REFRESH).click().run()
    assert not at.exception, at.exception
    assert metrics(at)["Rated"] != "0" and len(at.get("vega_lite_chart")) == 2
    assert not any("chatfeedback demo" in i.value for i in at.info)


def test_consent_switch_saves_per_conversation(make_app, store):
    at = make_app('[feedback]\ntraining_consent_default = true\n')
    switch = at.toggle(key=keys.CONSENT_NEW)
    assert switch.label == "Allow use for training" and switch.value is True
    switch.set_value(False).run()
    at.chat_input[0].set_value("hello").run()
    conv = store.list_conversations()[0]
    assert conv.training_consent is False  # the choice made before the chat existed
    at.run()
    assert at.toggle(key=keys.consent(conv.id)).value is False
    at.toggle(key=keys.consent(conv.id)).set_value(True).run()
    assert store.conversation(conv.id).training_consent is True


def test_consent_defaults_to_the_config(make_app, store):
    at = make_app()  # training_consent_default is false
    assert at.toggle(key=keys.CONSENT_NEW).value is False
    at.chat_input[0].set_value("hello").run()
    assert store.list_conversations()[0].training_consent is False
