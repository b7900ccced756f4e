"""AppTest: while an experiment runs, no model picker; a blind experiment's answers do not
name their model; the arm's system prompt answers. (The signed-in browser test is in
tests/browser/test_experiment_browser.py.)"""

from __future__ import annotations

import pytest

from chatfeedback.config import load_settings
from chatfeedback.store import Store
from chatfeedback.store import experiments as log
from chatfeedback.ui import keys

from .support import echo_models, write_config

CONFIG = echo_models("gpt", "llama") + """
[[experiments]]
name = "blind-test"
unit = "user"
blind = {blind}
arms = [
  {{ name = "a", model = "gpt", weight = 1 }},
  {{ name = "b", model = "llama", system_prompt = "Be brief.", weight = 1 }},
]
"""


def start(tmp_path, db_url, config):
    settings = load_settings(write_config(tmp_path / "start.toml", config), db_url, environ={})
    store = Store.open(db_url)
    log.record(store, "blind-test", "start",
               definition=settings.experiment("blind-test").definition())
    return store


def test_no_picker_and_no_model_name_in_a_blind_experiment(make_app, tmp_path, db_url):
    config = CONFIG.format(blind="true")
    store = start(tmp_path, db_url, config)
    at = make_app(config)
    assert not [s for s in at.selectbox if s.key == keys.MODEL_PICK]
    at.chat_input[0].set_value("hello").run()
    assert not at.exception
    conversation = store.conversation(at.query_params["c"])
    assert conversation.experiment == "blind-test" and conversation.arm in ("a", "b")
    assert conversation.unit.startswith("session:")  # nobody signed in: the session
    texts = [c.value for c in at.caption] + [c.value for c in at.sidebar.caption]
    assert not any("gpt" in t or "llama" in t for t in texts), texts
    assert not [s for s in at.selectbox if s.key == keys.MODEL_PICK]
    at.button(key=keys.NEW_CHAT).click().run()
    assert not [s for s in at.selectbox if s.key == keys.MODEL_PICK]
    at.chat_input[0].set_value("again").run()
    again = store.conversation(at.query_params["c"])
    assert (again.unit, again.arm) == (conversation.unit, conversation.arm)  # same session
    answer = store.messages(again.id)[1]
    assert answer.system_prompt == ("Be brief." if again.arm == "b" else None)


def test_an_open_experiment_names_its_model(make_app, tmp_path, db_url):
    config = CONFIG.format(blind="false")
    store = start(tmp_path, db_url, config)
    at = make_app(config)
    at.chat_input[0].set_value("hello").run()
    conversation = store.conversation(at.query_params["c"])
    assert f"Model: **{conversation.model}**" in [c.value for c in at.sidebar.caption]
    assert any(c.value.startswith(conversation.model) for c in at.caption)


# ------------------------------------------------------------------- the Experiments page
def open_page(make_app, config):
    at = make_app(config)
    pages = {info.get("url_pathname"): page for page, info in at._registered_pages.items()}
    assert "experiments" in pages, "the Experiments page is not in the navigation"
    at._page_hash = pages["experiments"]  # AppTest.switch_page only knows file pages
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Experiments"
    return at


def test_the_page_shows_the_report(make_app, tmp_path, db_url):
    from .test_report import CONFIG as REPORT_CONFIG
    from .test_report import fill

    store = Store.open(db_url)
    people = {f"p{i}": ("v2" if i % 2 else "control", 0.85 if i % 2 else 0.25, 6)
              for i in range(120)}
    fill(store, people)
    at = open_page(make_app, REPORT_CONFIG)
    settings = load_settings(write_config(tmp_path / "r.toml", REPORT_CONFIG), db_url,
                             environ={})
    from chatfeedback import report as reports
    r = reports.build(settings, store, "prompt-v2", over_time=True)
    assert [s.value for s in at.success] == [r.verdict]
    table = at.dataframe[0].value
    assert list(table["Arm"]) == ["control", "v2"] and list(table["People"]) == [60, 60]
    labels = {m.label: m.value for m in at.metric}
    assert labels["v2 − control"] == f"{r.difference.estimate * 100:+.1f} points"
    low, high = r.difference.anytime_ci
    assert labels["Anytime-valid 95 %"] == f"{low * 100:+.1f} to {high * 100:+.1f}"
    assert len(at.get("vega_lite_chart")) == 1  # the sequence over time
    assert any("Randomized by user" in c.value for c in at.caption)
    at.button(key=keys.EXP_REFRESH).click().run()
    at.segmented_control(key=keys.EXP_METRIC).set_value("mean_score").run()
    assert not at.exception
    mean = reports.build(settings, store, "prompt-v2", "mean_score")
    assert list(at.dataframe[0].value["Mean 0-1 score"]) == pytest.approx(
        [a.estimate for a in mean.arms])


def test_a_sample_ratio_mismatch_is_a_warning_on_the_page(make_app, db_url):
    from .test_report import CONFIG as REPORT_CONFIG
    from .test_report import fill

    store = Store.open(db_url)
    fill(store, {f"p{i}": ("v2" if i % 5 else "control", 0.6, 1) for i in range(100)})
    at = open_page(make_app, REPORT_CONFIG)
    assert at.warning[0].value.startswith("Warning: the people per arm (control 20 / v2 80)")
