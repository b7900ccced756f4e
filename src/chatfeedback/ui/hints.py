"""First-run help: the next step when only the echo model answers, or there is no data yet."""

from __future__ import annotations

import streamlit as st

from ..config import Settings
from . import keys


def echo_only(settings: Settings) -> bool:
    """True while every configured model is the built-in echo model."""
    return all(model.backend == "echo" for model in settings.models)


def _dismiss() -> None:
    st.session_state[keys.ECHO_HINT_DISMISSED] = True


def echo_hint(settings: Settings) -> None:
    """One line saying that the echo model answers and how to add a real one, with a button
    that hides it for this session."""
    if not echo_only(settings) or st.session_state.get(keys.ECHO_HINT_DISMISSED):
        return
    with st.container(key=keys.ECHO_HINT, horizontal=True, vertical_alignment="center"):
        st.info("This is the built-in **echo** model: it repeats your prompt. For a real "
                "model, run `chatfeedback init` and fill in the `[[models]]` section of "
                "`chatfeedback.toml`.", icon=":material/info:", width="stretch")
        st.button("", icon=":material/close:", key=keys.ECHO_HINT_CLOSE, type="tertiary",
                  help="Dismiss", on_click=_dismiss)


def no_data(database: str) -> None:
    """What the empty Dashboard shows instead of empty charts."""
    st.info("No ratings yet, so there is nothing to chart. Rate answers on the Chat page, "
            "import conversations with `chatfeedback import logs.jsonl`, or fill this "
            f"database with synthetic demo data: `chatfeedback demo --db {database}` "
            "(then refresh this page).", icon=":material/monitoring:")
