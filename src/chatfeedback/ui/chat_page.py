"""The chat page: the conversation in the URL (?c=<id>), its answers and their ratings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ..chat import Reply
from ..display import plain, safe_markdown
from ..errors import ChatfeedbackError, NotFound, StoreError
from ..store import Conversation, Message
from . import keys
from .consent import apply_to_new, consent_toggle
from .context import actor, current_user, service
from .hints import echo_hint
from .models import model_picker, picked_model
from .rating import rating_widget, remember
from .stop import on_stop, stoppable
from .text import show_text, stream_text
from .versions import answer_controls, take_regenerate

PARAM = "c"
LISTED = 20  # conversations in the sidebar at first; "More conversations" adds as many


def _open(conversation_id: str | None) -> None:
    if conversation_id:
        st.query_params[PARAM] = conversation_id
    else:
        st.query_params.pop(PARAM, None)


def sidebar() -> tuple[DeltaGenerator, DeltaGenerator]:
    """The sidebar: "New chat", then slots for the model picker and :func:`conversation_list`,
    filled at the end of the run, so that a conversation begun in this run is shown too."""
    with st.sidebar:
        st.button("New chat", icon=":material/add:", key=keys.NEW_CHAT, on_click=_open,
                  args=(None,), width="stretch")
        models = st.container()  # filled with conversation_list, at the end of the run
        st.caption("Conversations")
        return models, st.container()


def _list_more(listed: int) -> None:
    st.session_state[keys.LISTED] = listed + LISTED


def conversation_list(slot: DeltaGenerator, current: str | None, owner: str | None) -> None:
    """The newest conversations, LISTED at first and as many more per "More conversations".
    Every button is a widget that each page run registers and the session keeps (also for
    two minutes after its tab closed, for a reconnection), so the list stays short."""
    listed = st.session_state.get(keys.LISTED, LISTED)
    found = service().store.list_conversations(owner=owner, limit=listed + 1)
    with slot:
        for conv in found[:listed]:
            st.button(plain(conv.title) if conv.title else "Untitled",
                      key=keys.conversation(conv.id), on_click=_open, args=(conv.id,),
                      width="stretch", type="primary" if conv.id == current else "secondary")
        if len(found) > listed:
            st.button("More conversations", key=keys.LIST_MORE, type="tertiary",
                      icon=":material/expand_more:", on_click=_list_more, args=(listed,))


def show_answer(message: Message) -> None:
    if message.content:
        show_text(message.content)
    if message.status == "error":
        st.error(safe_markdown(message.error or "the answer failed"), icon=":material/error:")
    elif message.status == "stopped":
        st.caption("Stopped")
    elif message.status == "streaming":
        st.caption("Still being written…")


@st.fragment(run_every=2)
def streaming_answer(message: Message) -> None:
    """An answer being written elsewhere (another tab or replica), or cut off by a crash:
    re-read every 2 s until it is complete, or marked interrupted (see recover_stale)."""
    svc = service()
    try:  # a timed rerun gets the arguments of the first call: read the answer again
        message = svc.recover_stale([svc.store.message(message.id)])[0]
    except StoreError as exc:  # show what we have; the next try is in 2 s
        st.caption(f"Cannot check on this answer right now: {exc}")
    show_answer(message)


def show_message(message: Message, *, editable: bool, blind: bool = False) -> None:
    with st.chat_message(message.role):
        if message.role == "assistant":
            if message.status == "streaming":
                streaming_answer(message)
            else:
                show_answer(message)
            answer_controls(message, blind=blind)
            rating_widget(message, editable=editable)
        else:
            show_text(message.content)


def render() -> None:
    owner = current_user()
    conversation_id = _opened()
    consent_toggle(conversation_id, owner)
    models, slot = sidebar()
    echo_hint(service().settings)
    try:
        chat(conversation_id, owner)
    finally:
        try:
            with models:
                model_picker(_opened())
            conversation_list(slot, _opened(), owner)
        except StoreError as exc:
            slot.caption(f"Conversations cannot be listed right now: {exc}")


def _opened() -> str | None:
    """The open conversation: the URL's (``?c=``), None for a new chat."""
    return st.query_params.get(PARAM) or None


@st.fragment
def chat(conversation_id: str | None, owner: str | None) -> None:
    """The conversation and its input box, in a fragment: a prompt, Regenerate, a version
    switch or "Show earlier" reruns only this, not the navigation and the sidebar. It shows
    the URL's conversation, which a callback from in here may have changed since the page
    ran (``conversation_id``); when another conversation became the open one (the first
    prompt of a new chat makes one), the whole page runs again, so that the sidebar
    lists it."""
    try:
        show_conversation(_opened(), owner, pinned=True)
    except StoreError as exc:  # e.g. the database is down: say so, keep the page alive
        st.error(f"The conversation cannot be shown right now: {exc}", icon=":material/error:")
    if _opened() != conversation_id:
        st.rerun()


def _show_earlier(conversation_id: str, turns: int) -> None:
    st.session_state.setdefault(keys.SHOWN_TURNS, {})[conversation_id] = turns


def windowed_history(conversation_id: str) -> list[Message]:
    """The latest turns only (``[chat] window``, more after each "Show earlier"), with their
    ratings, so that a run costs the same at 1,000 turns as at 10; answers not yet marked
    as shown to a person are marked (exposure)."""
    store = service().store
    window = service().settings.chat.window
    shown = st.session_state.setdefault(keys.SHOWN_TURNS, {}).get(conversation_id, window)
    from_turn = max(0, store.turn_count(conversation_id) - shown)
    if from_turn:
        st.button(f"Show earlier ({from_turn:,} older turns)", key=keys.SHOW_EARLIER,
                  icon=":material/expand_less:", type="tertiary", on_click=_show_earlier,
                  args=(conversation_id, shown + window))
    history = service().recover_stale(store.messages(conversation_id, from_turn=from_turn))
    remember(store.ratings(conversation_id, from_turn=from_turn))
    store.mark_shown([m.id for m in history if m.role == "assistant" and m.shown_at is None])
    return history


def show_conversation(conversation_id: str | None, owner: str | None,
                      opener: Callable[[str | None], None] = _open, *,
                      pinned: bool = False) -> None:
    """The conversation (None: a new one, begun by the first prompt) with its input box;
    ``opener`` makes another conversation the open one (the URL's, here; the drop-in
    chat keeps it in Session State). ``pinned``: the input box at the bottom of the page
    also when this runs in a fragment (whose elements are otherwise inline)."""
    svc = service()
    history: list[Message] = []
    blind = False
    if conversation_id:
        try:
            blind = _blind(svc.store.conversation(conversation_id, owner=owner))
        except NotFound:
            st.error("Conversation not found")
            st.button("Start a new chat", key=keys.NOT_FOUND_NEW, on_click=opener,
                      args=(None,))
            return
        history = windowed_history(conversation_id)
    else:
        remember({})
    with st.bottom if pinned else nullcontext():
        prompt = st.chat_input("Say something", submit_mode="stop", key=keys.PROMPT)
    if prompt is not None and not prompt.strip():
        prompt = None  # an empty or blank prompt does nothing
    regenerated = regenerate(history, prompt)
    if regenerated is not None:  # the new version takes the old one's place
        history = [replace(regenerated, siblings=m.siblings + 1)
                   if m.role == "assistant" and m.parent_id == regenerated.parent_id else m
                   for m in history]
    policy = svc.settings.feedback.policy
    answers = [m for m in history if m.role == "assistant"]
    newest = None if prompt or not answers else answers[-1].id
    reply = svc.reply(regenerated) if regenerated is not None else None
    with on_stop(reply):
        for message in history:
            editable = policy.open_for(newest=message.id == newest)
            if reply is not None and message.id == reply.message.id:
                stream_answer(reply, editable=editable, blind=blind)
            else:
                show_message(message, editable=editable, blind=blind)
    if prompt is None:
        return
    try:
        turn = svc.send(conversation_id, prompt, owner=owner, model=picked_model(),
                        person=actor())
    except ChatfeedbackError as exc:
        st.error(f"Your message was not sent: {exc}")
        return
    reply = svc.reply(turn.answer)
    with on_stop(reply):
        if conversation_id is None:
            opener(turn.conversation.id)
            apply_to_new(turn.conversation.id)
        with st.chat_message("user"):
            show_text(prompt)
        stream_answer(reply, blind=_blind(turn.conversation))


def _blind(conversation: Conversation) -> bool:
    """A conversation of a blind experiment: the chat does not say which model answers."""
    if conversation.experiment is None:
        return False
    experiment = service().experiment_of(conversation)
    return experiment is not None and experiment.blind


def regenerate(history: list[Message], prompt: str | None) -> Message | None:
    """The new answer row a Regenerate click asked for, to be streamed in place."""
    answer_id = take_regenerate()
    if answer_id is None or prompt is not None or answer_id not in {m.id for m in history}:
        return None
    try:
        return service().regenerate(answer_id)
    except ChatfeedbackError as exc:
        st.error(f"Could not regenerate: {exc}")
        return None


def stream_answer(reply: Reply, *, editable: bool = True, blind: bool = False) -> None:
    """Stream an answer into the chat (inside :func:`on_stop`); a failure keeps what
    arrived and shows why."""
    with st.chat_message("assistant"):
        stream_text(stoppable(reply))
        answer = reply.message
        service().store.mark_shown([answer.id])
        if answer.status == "error":
            st.error(safe_markdown(answer.error or "the answer failed"), icon=":material/error:")
        elif answer.status == "stopped":
            st.caption("Stopped")
        answer_controls(answer, blind=blind)
        rating_widget(answer, editable=editable)
