"""The Stop button while an answer streams: acting on it at once, and the run after it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ..chat import Reply
from . import keys
from .internals import StopException, rerun_when_over

IDLE = 0.1  # seconds between looks at the Stop button while the model is silent


@contextmanager
def on_stop(reply: Reply | None) -> Iterator[None]:
    """Around everything from an answer row's creation to the end of its stream: if the run
    ends in there (a Stop click, or a click that reruns the page), the answer is saved as
    stopped with what arrived; after a Stop the page then runs again to show it. (Only a
    run with a new answer asks for another: the run it asks for has none, so even an
    ``st.stop()`` in here could not make reruns loop.) ``None``: nothing to do."""
    if reply is None:
        yield
        return
    try:
        yield
    except StopException:
        reply.close()
        rerun_after_stop()
        raise
    finally:
        reply.close()


def stoppable(reply: Reply) -> Iterator[str]:
    """The reply's text as it arrives, and ``""`` every IDLE seconds while the model is
    silent (loading, queued, thinking). Streamlit acts on a Stop click only when the script
    next calls it, which drawing the text does; while the model is silent a read of
    ``st.session_state`` is such a call, so a Stop ends the answer before its first token
    too."""
    for piece in reply.pieces(idle=IDLE):
        if not piece:
            st.session_state.get(keys.STOP_CHECK)  # raises StopException after a Stop
        yield piece


def rerun_after_stop() -> None:
    """Ask for a fresh run of this page once the stopped run is over.

    A Stop click ends the script run at its next Streamlit call and starts no other, so what
    comes after the stream (the "Stopped" note, Regenerate, the rating, the sidebar) would be
    missing until the next click. Streamlit has no public call for this: internals.py does
    what its run-on-save does, after the stopped run's thread has ended, so the new run
    reads the answer as saved. When a click asked for a new run (which also stops this
    one), that run is already under way and nothing more is asked."""
    rerun_when_over(threading.current_thread())
