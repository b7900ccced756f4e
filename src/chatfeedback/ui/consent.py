"""The per-conversation "Allow use for training" switch (training exports read only these)."""

from __future__ import annotations

import streamlit as st

from ..errors import ChatfeedbackError
from . import keys
from .context import service

LABEL = "Allow use for training"
HELP = ("When on, this conversation's rated answers may be exported as training data "
        "(kto, dpo, sft). Analysis exports and the dashboard count every rating.")


def _key(conversation_id: str) -> str:
    return f"consent_{conversation_id}"


def _save(conversation_id: str) -> None:
    allowed = bool(st.session_state[keys.consent(conversation_id)])
    try:
        service().store.set_training_consent(conversation_id, allowed)
    except ChatfeedbackError as exc:
        st.session_state[keys.consent(conversation_id)] = not allowed
        st.session_state[keys.CONSENT_ERROR] = f"Training consent not saved: {exc}"
    else:
        st.session_state.pop(keys.CONSENT_ERROR, None)


def consent_toggle(conversation_id: str | None, owner: str | None) -> None:
    """Show the switch in the sidebar for the open conversation (or the next new one)."""
    svc = service()
    with st.sidebar:
        if conversation_id is None:
            st.toggle(LABEL, value=svc.settings.feedback.training_consent_default,
                      key=keys.CONSENT_NEW, help=HELP)
        else:
            try:
                conv = svc.store.conversation(conversation_id, owner=owner)
            except ChatfeedbackError:
                return  # the chat page says it was not found
            st.toggle(LABEL, value=conv.training_consent, key=keys.consent(conversation_id),
                      help=HELP, on_change=_save, args=(conversation_id,))
        error = st.session_state.get(keys.CONSENT_ERROR)
        if error:
            st.error(error, icon=":material/error:")


def apply_to_new(conversation_id: str) -> None:
    """Give a conversation just created the choice made on the switch before it existed."""
    if keys.CONSENT_NEW not in st.session_state:
        return
    allowed = bool(st.session_state[keys.CONSENT_NEW])
    if allowed != service().settings.feedback.training_consent_default:
        service().store.set_training_consent(conversation_id, allowed)
