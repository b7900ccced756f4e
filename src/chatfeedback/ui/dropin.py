"""The drop-in chat: the whole chat with durable feedback inside someone's own Streamlit app,
answered by their Python function (``chatfeedback.streamlit.feedback_chat``).

It is the chat page's own parts (chat_page.show_conversation with rating.py, text.py,
stop.py, versions.py), on a service whose one model is the app's function: answers stream
and are saved as they stream, ratings, reasons and comments are saved the moment they are
given, Regenerate and Stop work. It leaves the app's page config, sidebar and navigation
alone; its widgets' keys all begin with ``cf_`` (keys.py), so they never meet the app's.
The open conversation is kept in Session State; a returning ``user`` finds their latest
conversation again.
"""

from __future__ import annotations

import os
import threading

import streamlit as st

from ..api import function_service
from ..backends.python import ModelFunction, PythonBackend
from ..chat import ChatService
from ..errors import ChatfeedbackError, StoreError
from . import heap, internals, keys
from .chat_page import show_conversation
from .context import embed

Key = tuple[str | None, str | None, str | None, str | None, str, str | None]
_opened: dict[Key, ChatService] = {}  # one per settings, shared by the sessions
_opening = threading.Lock()


def feedback_chat(model: ModelFunction, *, db: str | None = None, scale: str | None = None,
                  mode: str | None = None, user: str | None = None, name: str | None = None,
                  system_prompt: str | None = None,
                  config: str | os.PathLike[str] | None = None, new_chat: bool = True,
                  resume: bool = True) -> str | None:
    """Draw the chat here, answered by ``model``, with feedback under every answer.

    ``model(messages)`` gets the conversation (OpenAI chat format: ``{"role", "content"}``
    dicts, ``system_prompt`` first) and yields the answer's text in pieces (or returns it
    whole). It runs in a thread of its own: read what it needs from Streamlit before (a
    closure), not inside it.

    ``db``: where conversations and ratings are kept (``sqlite:///feedback.db``,
    ``postgresql+psycopg://...``; default $CHATFEEDBACK_DATABASE_URL, else the settings
    file's). ``scale``: thumbs, faces or stars; ``mode``: locked, changeable or latest
    (default: the settings file's ``[feedback]``, else thumbs and locked). ``user``: who
    is chatting (e.g. ``st.user.get("email")``): the conversations' owner and the rater;
    None: anonymous, each browser session its own rater. ``name``: the model's name as
    stored with each answer (default: the function's). ``config``: a chatfeedback.toml
    for the other settings (reasons, comment length...). ``new_chat``: offer a "New chat"
    button; ``resume``: a ``user`` coming back finds their latest conversation.

    Returns the open conversation's id (None before the first prompt)."""
    name = name or getattr(model, "__name__", None) or "model"
    key: Key = (db, None if config is None else os.fspath(config), scale, mode, name,
                system_prompt)
    try:
        base = _base(key, model)
    except ChatfeedbackError as exc:  # said in place; the app around it goes on
        st.error(f"The chat cannot start: {exc}", icon=":material/error:")
        return None
    entry = base.settings.models[0]
    # This session's own service: its function is this run's (a closure over this
    # session's widgets), the database and settings are shared.
    embed(ChatService(base.settings, base.store, {entry.name: PythonBackend(entry, model)}),
          user)
    internals.warn_once()
    heap.freeze_once()  # the app's modules are imported by now: keep them out of each GC
    try:
        conversation_id = _current(base, user, resume)
        if new_chat and conversation_id is not None:
            st.button("New chat", icon=":material/add:", key=keys.NEW_CHAT, on_click=_open,
                      args=(None,))
        show_conversation(conversation_id, user, opener=_open)
    except StoreError as exc:  # e.g. the database is down: say so, keep the app alive
        st.error(f"The conversation cannot be shown right now: {exc}",
                 icon=":material/error:")
    opened: str | None = st.session_state.get(keys.DROPIN_CONVERSATION)
    return opened


def _base(key: Key, model: ModelFunction) -> ChatService:
    """The service for these settings, opened (database migrated) once per process."""
    with _opening:
        if key not in _opened:
            db, config, scale, mode, name, system_prompt = key
            _opened[key] = function_service(model, url=db, config=config, scale=scale,
                                            mode=mode, name=name, system_prompt=system_prompt)
        return _opened[key]


def _open(conversation_id: str | None) -> None:
    st.session_state[keys.DROPIN_CONVERSATION] = conversation_id


def _current(svc: ChatService, user: str | None, resume: bool) -> str | None:
    """The session's open conversation; on its first run a returning user's latest one."""
    if keys.DROPIN_CONVERSATION not in st.session_state:
        latest = (svc.store.list_conversations(owner=user, limit=1)
                  if resume and user is not None else [])
        _open(latest[0].id if latest else None)
    opened: str | None = st.session_state[keys.DROPIN_CONVERSATION]
    return opened
