"""One ChatService per process (per settings), shared by every session, plus who is asking."""

from __future__ import annotations

import os

import streamlit as st

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


def service() -> ChatService:
    """The service for the settings in the environment; stops the page with a one-line
    error if they are bad or the database cannot be opened. A page asks for it dozens of
    times a run, so the last one is kept with its key: Streamlit's cache would hash the
    key every time."""
    global _last
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
    nobody is signed in (sign-in off: the one anonymous user)."""
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
