"""AppTest: while an experiment runs, no model picker; a blind experiment's answers do not
name their model; the arm's system prompt answers. (The signed-in browser test is in
tests/browser/test_experiment_browser.py.)"""

from __future__ import annotations

from chatfeedback.config import load_settings
from chatfeedback.store import Store
from chatfeedback.store import experiments as log

from .support import write_config

CONFIG = """
[[models]]
name = "gpt"
backend = "echo"
delay = 0.0

[[models]]
name = "llama"
backend = "echo"
delay = 0.0

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
    assert not [s for s in at.selectbox if s.key == "cf_model"]
    at.chat_input[0].set_value("hello").run()
    assert not at.exception
    conversation = store.conversation(at.query_params["c"])
    assert conversation.experiment == "blind-test" and conversation.arm in ("a", "b")
    assert conversation.unit.startswith("session:")  # nobody signed in: the session
    texts = [c.value for c in at.caption] + [c.value for c in at.sidebar.caption]
    assert not any("gpt" in t or "llama" in t for t in texts), texts
    assert not [s for s in at.selectbox if s.key == "cf_model"]
    at.button(key="new_chat").click().run()
    assert not [s for s in at.selectbox if s.key == "cf_model"]
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
