"""A prompt reruns only the chat (a fragment of its own), not the navigation and the
sidebar, and its input box stays pinned to the bottom of the page; the first prompt of a
new chat runs the whole page once more, so that the sidebar lists the new conversation.
Driven over Streamlit's websocket protocol as the browser speaks it (harness/stclient.py),
because AppTest runs every fragment as part of a full run."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.RootContainer_pb2 import RootContainer

from harness.stclient import Run, StreamlitSession

from .support import Server, write_config

ECHO = '[[models]]\nname = "echo"\nbackend = "echo"\ndelay = 0.0\n'


def statuses(run: Run) -> list[str]:
    return [ForwardMsg.ScriptFinishedStatus.Name(m.script_finished) for _, m in run.messages
            if m.WhichOneof("type") == "script_finished"]


def drawn_in(run: Run, root: int) -> list[str]:
    """The types of the elements a run drew into one of the page's root containers."""
    return [kind for _, kind, _ in run.elements(root)]


def sidebar_labels(run: Run) -> list[str]:
    return [element.label for _, kind, element in run.elements(RootContainer.SIDEBAR)
            if kind == "button"]


async def session(url: str) -> dict[str, Run]:
    runs = {}
    async with StreamlitSession(url) as tab:
        runs["open"] = await tab.rerun()
        assert tab.chat_fragment, "the chat input is drawn by a fragment"
        runs["first"] = await tab.rerun(chat="first question")
        runs["params"] = tab.params
        runs["second"] = await tab.rerun(chat="second question")
        widget = next(k for k, (wid, _) in tab.feedback.items() if wid not in tab.values)
        runs["click"] = await tab.click_feedback(widget, 1)
        tab.query_string = ""  # the URL without a conversation, and a prompt with it
        runs["another"] = await tab.rerun(chat="third question")
        runs["params after"] = tab.params
    return runs


def test_a_prompt_reruns_only_the_chat(tmp_path):
    db = f"sqlite:///{tmp_path / 'fragment.db'}"
    server = Server(db, write_config(tmp_path / "c.toml", ECHO), log=tmp_path / "log").start()
    try:
        # a thread of its own: Playwright's sync API may hold this thread's event loop
        with ThreadPoolExecutor(1) as thread:
            runs = thread.submit(asyncio.run, session(server.url)).result()
    finally:
        server.stop()
    assert statuses(runs["open"]) == ["FINISHED_SUCCESSFULLY"]
    assert "chat_input" in drawn_in(runs["open"], RootContainer.BOTTOM)
    # a new chat: the fragment asks for the whole page, whose sidebar lists the conversation
    assert statuses(runs["first"]) == ["FINISHED_EARLY_FOR_RERUN", "FINISHED_SUCCESSFULLY"]
    assert "c" in runs["params"]
    assert "first question" in sidebar_labels(runs["first"])
    assert runs["first"].first_time_containing("first question") is not None
    # the next prompt: the chat alone; nothing in the sidebar is drawn again
    assert statuses(runs["second"]) == ["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    assert runs["second"].first_time_containing("second question") is not None
    assert drawn_in(runs["second"], RootContainer.SIDEBAR) == []
    assert "chat_input" in drawn_in(runs["second"], RootContainer.BOTTOM)
    assert not [t for t in runs["second"].texts() if "rror" in t]
    assert statuses(runs["click"]) == ["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    # the prompt goes to the conversation of the URL the chat was sent with: a new one
    assert runs["another"].first_time_containing("third question") is not None
    assert runs["params after"]["c"] != runs["params"]["c"]
    assert "third question" in sidebar_labels(runs["another"])
