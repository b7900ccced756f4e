"""The rating widget of one answer, in a fragment: a click reruns only this answer, so it
never interrupts an answer that is still streaming, and costs the same in a long chat."""

from __future__ import annotations

import streamlit as st

from .. import scales
from ..errors import ChatfeedbackError
from ..store import Message, Rating
from .context import actor, service

SAVED = "cf_ratings"  # session cache: message id -> Rating, refreshed on each full run


def remember(ratings: dict[str, Rating]) -> None:
    """Called on every full run with the ratings just read from the database."""
    st.session_state[SAVED] = dict(ratings)


def _saved(message_id: str) -> Rating | None:
    return st.session_state.setdefault(SAVED, {}).get(message_id)


def _key(message_id: str) -> str:
    return f"fb_{message_id}"


def _on_change(message_id: str) -> None:
    svc = service()
    index = st.session_state.get(_key(message_id))
    try:
        rating = svc.rate_widget(message_id, index, actor=actor())
    except ChatfeedbackError as exc:
        st.session_state[f"fb_error_{message_id}"] = f"Rating not saved: {exc}"
        saved = _saved(message_id)
        st.session_state[_key(message_id)] = scales.to_widget(
            svc.settings.feedback.scale, saved.value if saved else None)
        return
    st.session_state.pop(f"fb_error_{message_id}", None)
    st.session_state.setdefault(SAVED, {})[message_id] = rating
    # Set the value from code: a widget that this rating locks (disabled) refuses the
    # browser's value on the rerun, but keeps one set through Session State.
    st.session_state[_key(message_id)] = index


@st.fragment
def rating_widget(message: Message, *, editable: bool) -> None:
    """Show the answer's rating; ``editable`` False shows it read-only (``latest`` mode)."""
    feedback = service().settings.feedback
    saved = _saved(message.id)
    value = saved.value if saved else None
    if not editable and value is None:
        return
    locked = feedback.mode == "locked" and value is not None
    if _key(message.id) not in st.session_state:  # first show in this session: saved value
        st.session_state[_key(message.id)] = scales.to_widget(feedback.scale, value)
    st.feedback(feedback.scale, key=_key(message.id),
                disabled=locked or not editable, on_change=_on_change, args=(message.id,))
    error = st.session_state.get(f"fb_error_{message.id}")
    if error:
        st.error(error, icon="⚠️")
