"""One ChatService per process (per settings), shared by every session, plus who is asking.

In someone's own app (the drop-in chat, dropin.py) a session's service and user are the ones
``feedback_chat`` was given: :func:`embed` records them for the session, and every page part
that asks :func:`service`, :func:`current_user` or :func:`actor` gets them, in fragment
reruns and callbacks too.
"""

from __future__ import annotations

import os
import threading

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ..chat import ChatService
from ..config import load_settings
from ..errors import ChatfeedbackError


@st.cache_resource(show_spinner=False)
def _open(config_file: str | None, database_url: str | None, version: int) -> ChatService:
    del version  # part of the cache key only: an edited settings file is read again
    return ChatService.open(load_settings(config_file, database_url))


def _mtime(path: str | None) -> int:
    try:
        return os.stat(path).st_mtime_ns if path else 0
    except OSError:
        return 0


_last: tuple[tuple[str | None, str | None, int], ChatService] | None = None
# Session id -> the drop-in chat's service and user (empty in the app itself: no cost there).
_embedded: dict[str, tuple[ChatService, str | None]] = {}
_embedding = threading.Lock()
PRUNE_AT = 1000  # sessions remembered before those that ended are forgotten


def embed(svc: ChatService, user: str | None) -> None:
    """Make ``svc`` and ``user`` this browser session's (see the module's docstring)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    with _embedding:
        _embedded[ctx.session_id] = (svc, user)
        if len(_embedded) > PRUNE_AT:
            runtime = Runtime.instance()
            for session_id in [s for s in _embedded if not runtime.is_active_session(s)]:
                del _embedded[session_id]


def unembed() -> None:
    """This session is the app's own again (its entry point says so on every run)."""
    if _embedded:
        ctx = get_script_run_ctx()
        if ctx is not None:
            with _embedding:
                _embedded.pop(ctx.session_id, None)


def _embedded_here() -> tuple[ChatService, str | None] | None:
    if not _embedded:
        return None
    ctx = get_script_run_ctx()
    return None if ctx is None else _embedded.get(ctx.session_id)


def service() -> ChatService:
    """The service for the settings in the environment; stops the page with a one-line
    error if they are bad or the database cannot be opened. A page asks for it dozens of
    times a run, so the last one is kept with its key: Streamlit's cache would hash the
    key every time. (In someone's own app: the drop-in chat's, see :func:`embed`.)"""
    global _last
    embedded = _embedded_here()
    if embedded is not None:
        return embedded[0]
    config = os.environ.get("CHATFEEDBACK_CONFIG") or None
    key = (config, os.environ.get("CHATFEEDBACK_DATABASE_URL") or None, _mtime(config))
    last = _last
    if last is not None and last[0] == key:
        return last[1]
    try:
        opened = _open(*key)
    except ChatfeedbackError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() raises
    _last = (key, opened)
    return opened


def sign_in_configured() -> bool:
    """True when .streamlit/secrets.toml has an ``[auth]`` section (st.login is on)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def current_user() -> str | None:
    """The signed-in user's email (``sub:<id>`` if the provider gives none), or None when
    nobody is signed in (sign-in off: the one anonymous user). In someone's own app: the
    user it gave the drop-in chat."""
    embedded = _embedded_here()
    if embedded is not None:
        return embedded[1]
    user = st.user
    if user.get("is_logged_in"):
        email = user.get("email")
        return str(email).lower() if email else f"sub:{user.get('sub')}"
    return None


def is_admin() -> bool:
    """May see the dashboard and export: everyone when sign-in is off, otherwise the
    signed-in users listed in ``[access] admins``."""
    if not sign_in_configured():
        return True
    user = current_user()
    return user is not None and user in service().settings.access.admins


def is_reviewer() -> bool:
    """May review answers: everyone when sign-in is off, otherwise the signed-in users listed
    in ``[access] reviewers`` or ``admins``."""
    if not sign_in_configured():
        return True
    return service().settings.access.may_review(current_user())


def actor() -> str:
    """Who a rating event is attributed to: the user, else this browser session."""
    user = current_user()
    if user:
        return user
    ctx = st.runtime.scriptrunner.get_script_run_ctx()
    return f"session:{ctx.session_id}" if ctx else "session:unknown"
