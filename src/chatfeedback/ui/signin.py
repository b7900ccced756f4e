"""Sign-in with ``st.login`` (OIDC) when ``[auth]`` is in .streamlit/secrets.toml."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from . import keys
from .context import current_user, sign_in_configured


def providers() -> list[str | None]:
    """The identity providers in ``[auth]``: None for the unnamed default one (its
    ``client_id`` sits in ``[auth]`` itself), then each ``[auth.<name>]``."""
    section = st.secrets.get("auth", {})
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return ([None] if "client_id" in section or not named else []) + sorted(named)


def require_sign_in() -> None:
    """With sign-in configured, a signed-out visitor sees only the sign-in screen."""
    if not sign_in_configured() or st.user.get("is_logged_in"):
        return
    st.title(":material/chat: chatfeedback")
    st.write("Sign in to chat and rate answers. Your conversations are visible to you only.")
    for provider in providers():
        label = "Sign in" if provider is None else f"Sign in with {provider.title()}"
        st.button(label, key=keys.sign_in(provider or "default"), type="primary",
                  icon=":material/login:", on_click=st.login,
                  args=() if provider is None else (provider,))
    st.stop()


def user_menu() -> None:
    """Who is signed in, and a way out (sidebar). Nothing when sign-in is off."""
    user = current_user()
    if not sign_in_configured() or user is None:
        return
    with st.sidebar:
        name = st.user.get("name")
        st.caption(f"Signed in as **{name}** ({user})" if name else f"Signed in as {user}")
        st.button("Sign out", key=keys.SIGN_OUT, icon=":material/logout:", on_click=st.logout)
