"""Entry point for ``streamlit run``: page setup and navigation."""

from __future__ import annotations

import streamlit as st

from chatfeedback.ui import chat_page

st.set_page_config(page_title="chatfeedback", page_icon="💬", layout="centered")
pages = [st.Page(chat_page.render, title="Chat", icon="💬", url_path="chat", default=True)]
st.navigation(pages).run()
