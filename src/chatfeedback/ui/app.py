"""Entry point for ``streamlit run``: sign-in, page setup and navigation."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from chatfeedback.errors import StoreError
from chatfeedback.store import experiments as experiment_log
from chatfeedback.ui import chat_page, heap, internals, signin
from chatfeedback.ui.context import is_admin, is_reviewer, service, unembed

unembed()  # this is the app itself, not someone's app with the drop-in chat (see context.py)
heap.freeze_once()  # the chat's modules are imported: keep them out of each run's GC

st.set_page_config(page_title="chatfeedback", page_icon=":material/chat:", layout="centered")
internals.warn_once()  # an untested Streamlit: said once per session (and logged)
signin.require_sign_in()  # with [auth] configured, nothing below runs until signed in
signin.user_menu()


def _lazy(module: str) -> Callable[[], None]:
    """A page whose module (and its pandas, pyarrow, Altair, SciPy) is imported the first
    time somebody opens it, not at start-up: a replica that only chats never holds them."""
    def render() -> None:
        heap.load(f"chatfeedback.ui.{module}").render()
    render.__name__ = module
    return render


def _experiments_ran() -> bool:
    """Whether experiments were run here; False while the database cannot say (the pages
    say why themselves: the router must not fail)."""
    try:
        return bool(experiment_log.runs(service().store))
    except StoreError:
        return False


pages = [st.Page(chat_page.render, title="Chat", icon=":material/chat:", url_path="chat",
                 default=True)]
if len(service().settings.arena.models) >= 2:
    pages.append(st.Page(_lazy("arena_page"), title="Arena", icon=":material/compare:",
                         url_path="arena"))
if is_admin():  # pages that show every user's data
    pages.append(st.Page(_lazy("dashboard"), title="Dashboard", icon=":material/monitoring:",
                         url_path="dashboard"))
    if service().settings.experiments or _experiments_ran():
        pages.append(st.Page(_lazy("experiments_page"), title="Experiments",
                             icon=":material/science:", url_path="experiments"))
    pages.append(st.Page(_lazy("export_page"), title="Export", icon=":material/download:",
                         url_path="export"))
    if service().settings.sinks:
        pages.append(st.Page(_lazy("sinks_page"), title="Sinks", icon=":material/send:",
                             url_path="sinks"))
if is_reviewer():
    pages.append(st.Page(_lazy("review_page"), title="Review", icon=":material/rate_review:",
                         url_path="review"))
st.navigation(pages).run()
