"""Under each answer: the version switcher (‹ 2/3 ›), Regenerate, and what produced it."""

from __future__ import annotations

import streamlit as st

from ..display import plain
from ..errors import ChatfeedbackError
from ..store import Message
from . import keys
from .context import service


def take_regenerate() -> str | None:
    """The answer id a Regenerate click asked for (once)."""
    return st.session_state.pop(keys.REGENERATE, None)


def _regenerate(answer_id: str) -> None:
    st.session_state[keys.REGENERATE] = answer_id


def _select(message_id: str) -> None:
    try:
        service().store.select_version(message_id)
    except ChatfeedbackError as exc:
        st.session_state[keys.VERSION_ERROR] = f"Could not switch versions: {exc}"


def describe(message: Message, *, blind: bool = False) -> str:
    """``llama · 1.2 s · 42 tokens``: the model and how the answer was made (``blind``: a
    blind experiment's answer, without the model)."""
    parts = [] if blind else [message.model or "?"]
    if message.latency_ms is not None:
        parts.append(f"{message.latency_ms / 1000:.1f} s")
    if message.completion_tokens is not None:
        parts.append(f"{message.completion_tokens} tokens")
    if message.finish_reason == "length":
        parts.append("cut at the token limit")
    return " · ".join(parts)


def answer_controls(message: Message, *, blind: bool = False) -> None:
    """‹ n/m › when the prompt has several answers, Regenerate, and the model's details.
    Keys come from the prompt's id, so they stay put while versions are switched."""
    if message.parent_id is None:
        return
    error = st.session_state.pop(keys.VERSION_ERROR, None)
    if error:
        st.error(error, icon=":material/error:")
    slot = message.parent_id
    with st.container(horizontal=True, vertical_alignment="center", gap="small",
                      key=keys.versions(slot)):
        if message.siblings > 1 or message.version > 1:  # store.message() does not count
            ids = [v.id for v in service().store.versions(message.parent_id)]
            at = ids.index(message.id) if message.id in ids else len(ids) - 1
            st.button("‹", key=keys.previous_version(slot), type="tertiary",
                      help="Previous version",
                      disabled=at == 0, on_click=_select, args=(ids[max(at - 1, 0)],))
            st.caption(f"{at + 1}/{len(ids)}", width="content")
            st.button("›", key=keys.next_version(slot), type="tertiary", help="Next version",
                      disabled=at == len(ids) - 1, on_click=_select,
                      args=(ids[min(at + 1, len(ids) - 1)],))
        st.button("Regenerate", key=keys.regenerate(slot), type="tertiary",
                  icon=":material/refresh:", disabled=message.status == "streaming",
                  help="Answer this prompt again; every version is kept with its own rating.",
                  on_click=_regenerate, args=(message.id,))
        if message.status != "streaming" and (details := describe(message, blind=blind)):
            st.caption(plain(details), width="content")

