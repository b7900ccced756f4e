"""The feedback of one answer, in a fragment: the rating, then why (reason tags and a
comment). A click reruns only this answer, so it never interrupts an answer that is still
streaming, and costs the same in a long chat as in a short one."""

from __future__ import annotations

import streamlit as st

from .. import scales
from ..config import FeedbackConfig
from ..display import plain
from ..errors import ChatfeedbackError
from ..store import Message, Rating
from . import keys
from .context import actor, service

SAVED_NOTE = "Saved"


def remember(ratings: dict[str, Rating]) -> None:
    """Called on every full run with the ratings just read from the database."""
    st.session_state[keys.RATINGS] = dict(ratings)


def _saved(message_id: str) -> Rating | None:
    return st.session_state.setdefault(keys.RATINGS, {}).get(message_id)


def _confirm(message_id: str, rating: Rating) -> None:
    st.session_state.setdefault(keys.RATINGS, {})[message_id] = rating
    st.session_state.setdefault(keys.SAVED, {})[message_id] = SAVED_NOTE


def _opened() -> set[str]:
    return st.session_state.setdefault(keys.DETAILS_OPEN, set())


def _open_editor(message_id: str) -> None:
    _opened().add(message_id)


def _close_editor(message_id: str) -> None:
    """Close it and forget its unsaved input, so that it reopens with what is saved."""
    _opened().discard(message_id)
    for key in (keys.tags(message_id), keys.comment(message_id),
                keys.details_error(message_id)):
        st.session_state.pop(key, None)


def from_widget(scale: str, index: int | None) -> int | None:
    """The stored value for an ``st.feedback`` index, which counts from 0 (None stays
    None)."""
    return None if index is None else int(index) + scales.RANGES[scale][0]


def to_widget(scale: str, value: int | None) -> int | None:
    """The ``st.feedback`` index for a stored value (None stays None)."""
    return None if value is None else value - scales.RANGES[scale][0]


def _on_change(message_id: str) -> None:
    svc = service()
    index = st.session_state.get(keys.rating(message_id))
    try:
        rating = svc.rate(message_id, from_widget(svc.settings.feedback.scale, index),
                          actor=actor())
    except ChatfeedbackError as exc:
        st.session_state[keys.rating_error(message_id)] = f"Rating not saved: {exc}"
        saved = _saved(message_id)
        st.session_state[keys.rating(message_id)] = to_widget(
            svc.settings.feedback.scale, saved.value if saved else None)
        return
    st.session_state.pop(keys.rating_error(message_id), None)
    _confirm(message_id, rating)
    if rating.value is None:
        _close_editor(message_id)
    elif reasons(svc.settings.feedback, rating) or svc.settings.feedback.comment:
        _open_editor(message_id)  # after a rating, ask why (optional)
    # Set the value from code: a widget that this rating locks (disabled) refuses the
    # browser's value on the rerun, but keeps one set through Session State.
    st.session_state[keys.rating(message_id)] = index


@st.fragment
def rating_widget(message: Message, *, editable: bool) -> None:
    """Show the answer's rating; ``editable`` False shows it read-only (``latest`` mode)."""
    feedback = service().settings.feedback
    saved = _saved(message.id)
    value = saved.value if saved else None
    if not editable and value is None:
        return
    locked = feedback.policy.holds(value)
    if keys.rating(message.id) not in st.session_state:  # first show in this session: saved value
        st.session_state[keys.rating(message.id)] = to_widget(feedback.scale, value)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.feedback(feedback.scale, key=keys.rating(message.id),
                    disabled=locked or not editable, on_change=_on_change, args=(message.id,))
        note = st.session_state.get(keys.SAVED, {}).get(message.id)
        if note:  # shown only once the database has it
            st.caption(f":material/check: {note}", width="content")
    error = st.session_state.get(keys.rating_error(message.id))
    if error:
        st.error(error, icon=":material/error:")
    if saved is not None and value is not None:
        details(message.id, saved, feedback, editable=editable)


# ------------------------------------------------------------ reasons and comment
def reasons(feedback: FeedbackConfig, rating: Rating) -> list[str]:
    """The reason tags offered for this rating's polarity (both lists when neutral), plus
    any saved tag no longer offered, so that nothing saved disappears from the editor."""
    polarity = scales.polarity(rating.scale, rating.value)
    offered = list(feedback.reasons_positive if polarity else feedback.reasons_negative
                   if polarity is False else
                   feedback.reasons_positive + feedback.reasons_negative)
    return offered + [t for t in rating.tags if t not in offered]


def details(message_id: str, saved: Rating, feedback: FeedbackConfig, *,
            editable: bool) -> None:
    """Below a rating: the editor when open, else a one-line summary and an edit button."""
    options = reasons(feedback, saved)
    if not options and not feedback.comment:
        return
    if editable and message_id in _opened():
        _editor(message_id, saved, options, feedback)
        return
    summary = summarize(saved)
    with st.container(horizontal=True, vertical_alignment="center"):
        if summary:
            st.caption(summary, width="content")
        if editable:
            label = "Edit" if summary else ("Add a reason or comment" if feedback.comment
                                            else "Add a reason")
            st.button(label, key=keys.details_edit(message_id), type="tertiary",
                      icon=":material/edit_note:", on_click=_open_editor, args=(message_id,))


def _editor(message_id: str, saved: Rating, options: list[str],
            feedback: FeedbackConfig) -> None:
    tags_key, comment_key = keys.tags(message_id), keys.comment(message_id)
    if tags_key not in st.session_state:  # opened: start from what is saved
        st.session_state[tags_key] = [t for t in saved.tags if t in options]
    if feedback.comment and comment_key not in st.session_state:
        st.session_state[comment_key] = saved.comment or ""
    with st.form(key=keys.details_form(message_id), border=False):
        if options:
            st.pills("Why?", options, selection_mode="multi", key=tags_key)
        if feedback.comment:
            st.text_area("Comment (optional)", key=comment_key, height=80,
                         placeholder="What made this answer good or bad?",
                         help=f"Up to {feedback.max_comment_length:,} characters.")
        with st.container(horizontal=True):
            st.form_submit_button("Save", type="primary", on_click=_on_save,
                                  args=(message_id, feedback.comment))
            st.form_submit_button("Cancel", on_click=_close_editor, args=(message_id,))
    error = st.session_state.get(keys.details_error(message_id))
    if error:
        st.error(error, icon=":material/error:")


def _on_save(message_id: str, with_comment: bool) -> None:
    tags = st.session_state.get(keys.tags(message_id)) or []
    comment = st.session_state.get(keys.comment(message_id), "") if with_comment else None
    try:
        rating = service().annotate(message_id, comment=comment, tags=list(tags),
                                    actor=actor())
    except ChatfeedbackError as exc:  # the editor stays open with the text in it
        st.session_state[keys.details_error(message_id)] = f"Not saved: {exc}"
        return
    _confirm(message_id, rating)
    _close_editor(message_id)


def summarize(rating: Rating) -> str:
    """The saved reasons and comment as one caption line, Markdown escaped."""
    parts = [" · ".join(rating.tags)] if rating.tags else []
    if rating.comment:
        text = " ".join(rating.comment.split())
        parts.append(f"“{text[:200] + '…' if len(text) > 200 else text}”")
    return plain(" — ".join(parts))
