"""Your own Streamlit app with the chat and durable feedback dropped in:
streamlit run examples/streamlit_app.py"""

import os
import time
from collections.abc import Iterator

import streamlit as st

from chatfeedback.streamlit import feedback_chat

st.set_page_config(page_title="My assistant")  # the page stays yours
st.title("My assistant")
style = st.sidebar.radio("Style", ["plain", "shouting"], key="style")  # your own widgets


def my_model(messages: list[dict[str, str]]) -> Iterator[str]:
    """Your model: the conversation so far in, the answer's text out, piece by piece."""
    answer = f"You said: {messages[-1]['content']}"
    for word in (answer.upper() if style == "shouting" else answer).split(" "):
        yield word + " "
        time.sleep(0.02)


email = st.user.get("email")  # None unless your app signs people in (st.login)
feedback_chat(my_model, db=os.environ.get("FEEDBACK_DB", "sqlite:///feedback.db"),
              scale="thumbs", user=str(email) if email else None)
