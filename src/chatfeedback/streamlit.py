"""The drop-in chat for your own Streamlit app::

    from chatfeedback.streamlit import feedback_chat

    def my_model(messages):            # the conversation so far, OpenAI chat format
        yield from my_llm.stream(messages)

    feedback_chat(my_model, db="sqlite:///feedback.db", scale="thumbs",
                  user=st.user.get("email"))

The implementation is ui/dropin.py (only ui/ imports Streamlit); this module gives it its
short import path.
"""

from __future__ import annotations

from .ui.dropin import feedback_chat

__all__ = ["feedback_chat"]
