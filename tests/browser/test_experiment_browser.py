"""A randomized experiment in the browser: one signed-in person (local OpenID Connect
provider) keeps their arm over several new chats and a server restart, never sees the model
picker, and a blind experiment never names the model; another person gets their own arm."""

from __future__ import annotations

from playwright.sync_api import expect

from chatfeedback.config import load_settings
from chatfeedback.store import Store
from chatfeedback.store import experiments as log

from ..support import Server, echo_models, send_prompt, signin_app, wait_for_app, write_config
from .test_signin import provider, sign_in, sign_out  # noqa: F401 (provider: a fixture)

CONFIG = echo_models("gpt-large", "llama-small") + """
[[experiments]]
name = "browser-exp"
unit = "user"
blind = true
arms = [
  { name = "a", model = "gpt-large", weight = 1 },
  { name = "b", model = "llama-small", system_prompt = "Be brief.", weight = 1 },
]
"""


def people(experiment) -> tuple[str, str]:
    """Two email addresses that the experiment puts in different arms."""
    first = "carol@example.org"
    other = next(f"dave{i}@example.org" for i in range(100)
                 if experiment.assign(f"dave{i}@example.org") != experiment.assign(first))
    return first, other


def chat_once(page, text: str) -> None:
    expect(page.get_by_test_id("stSelectbox")).to_have_count(0)  # no model picker
    send_prompt(page, text)
    answer = page.get_by_test_id("stChatMessage").nth(1)
    expect(answer).to_contain_text(text)  # the echo model answered
    expect(page.get_by_test_id("stSelectbox")).to_have_count(0)
    for name in ("gpt-large", "llama-small"):  # blind: neither in the chat nor the sidebar
        expect(page.locator("body")).not_to_contain_text(name)
    page.get_by_role("button", name="New chat").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(0)


def test_a_person_keeps_their_arm_and_never_sees_the_picker(page, tmp_path, db_url, provider):  # noqa: F811
    port, app_url = signin_app(tmp_path, provider)
    config = write_config(tmp_path / "chatfeedback.toml", CONFIG)
    settings = load_settings(config, db_url, environ={})
    experiment = settings.experiment("browser-exp")
    store = Store.open(db_url)
    log.record(store, "browser-exp", "start", definition=experiment.definition())
    carol, dave = people(experiment)
    server = Server(db_url, config, port=port, log=tmp_path / "server.log").start()
    try:
        sign_in(page, app_url, carol)
        for i in range(3):
            chat_once(page, f"carol asks {i}")
        server.stop()  # a restart: nothing about the assignment is kept in the process
        server = Server(db_url, config, port=port, log=tmp_path / "server2.log").start()
        page.goto(app_url)
        wait_for_app(page)
        if page.get_by_role("button", name="Sign in").count():
            sign_in(page, app_url, carol)
        chat_once(page, "carol asks after the restart")
        sign_out(page, app_url)
        sign_in(page, app_url, dave)
        chat_once(page, "dave asks")
    finally:
        server.stop()
    mine = [c for c in store.list_conversations() if c.owner == carol]
    assert len(mine) == 4
    assert {(c.experiment, c.arm, c.unit) for c in mine} == \
        {("browser-exp", experiment.assign(carol).name, carol)}
    (theirs,) = [c for c in store.list_conversations() if c.owner == dave]
    assert theirs.arm == experiment.assign(dave).name != mine[0].arm
    for conv in [*mine, theirs]:
        answer = store.messages(conv.id)[1]
        assert answer.model == experiment.arm(conv.arm).model
        assert answer.system_prompt == experiment.arm(conv.arm).system_prompt
    store.close()
