"""The sidebar's model picker: which configured model answers a new conversation."""

from __future__ import annotations

import streamlit as st

from ..display import plain
from ..errors import NotFound
from . import keys
from .context import current_user, service


def _keep() -> None:
    st.session_state[keys.MODEL_CHOSEN] = st.session_state.get(keys.MODEL_PICK)


def model_picker(conversation_id: str | None) -> None:
    """A selectbox for a new conversation (default: the first model in the settings file);
    for an open conversation, the model stored with it. Neither while an experiment assigns
    models (a blind one never names the model)."""
    svc = service()
    names = [m.name for m in svc.settings.models]
    if conversation_id:
        try:
            conversation = svc.store.conversation(conversation_id, owner=current_user())
        except NotFound:
            return
        answering = svc.settings.model(conversation.model).name
        experiment = svc.experiment_of(conversation)
        if experiment is not None:  # the experiment chose the model; blind: not shown
            if not experiment.blind:
                st.caption(f"Model: **{answering}**")
            return
        if conversation.model in (None, answering):
            st.caption(f"Model: **{plain(answering)}**")
        else:
            st.caption(f"Model: **{plain(conversation.model)}** is no longer configured; "
                       f"new answers come from **{answering}**")
        return
    if svc.running_experiment() is not None:
        return  # a running experiment assigns the model of a new conversation
    if len(names) == 1:
        st.caption(f"Model: **{names[0]}**")
        return
    if st.session_state.get(keys.MODEL_CHOSEN) not in names:
        st.session_state[keys.MODEL_CHOSEN] = names[0]
    if st.session_state.get(keys.MODEL_PICK) not in names:
        st.session_state[keys.MODEL_PICK] = st.session_state[keys.MODEL_CHOSEN]
    st.selectbox("Model", names, key=keys.MODEL_PICK, on_change=_keep,
                 help="The model that answers this new conversation; it is stored with it.")


def picked_model() -> str | None:
    """The model chosen for a conversation that the next prompt starts."""
    return st.session_state.get(keys.MODEL_PICK) or st.session_state.get(keys.MODEL_CHOSEN)
