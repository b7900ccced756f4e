"""The Stop button while an answer streams: acting on it at once, and the run after it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ..chat import Reply

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
    """The reply's text for ``st.write_stream``. Streamlit acts on a Stop click only when
    the script next calls it, which a stream does at each piece of text; while the model is
    silent (loading, queued, thinking), a read of ``st.session_state`` every IDLE seconds
    is such a call, so a Stop ends the answer before its first token too."""
    for piece in reply.pieces(idle=IDLE):
        if piece:
            yield piece
        else:
            st.session_state.get("cf_stop_check")  # raises StopException after a Stop


def rerun_after_stop() -> None:
    """Ask for a fresh run of this page once the stopped run is over.

    A Stop click ends the script run at its next Streamlit call and starts no other, so what
    comes after the stream (the "Stopped" note, Regenerate, the rating, the sidebar) would be
    missing until the next click. Streamlit has no public call that reruns a session from
    outside its run; this does what its own run-on-save does (``AppSession.request_rerun``
    with the session's last client state, on the session's event loop), after the stopped
    run's thread has ended, so the new run reads the answer as saved. When a click asked for
    a new run (which also stops this one), that run is already under way: the session has
    a script runner and nothing more is asked. Under AppTest (no server session), or on a
    Streamlit without these internals, nothing happens: the next click shows the answer."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return
    runtime = Runtime.instance()
    session = runtime.get_app_session(ctx.session_id)
    if not isinstance(session, AppSession) or not hasattr(session, "_call_soon_on_event_loop"):
        return
    stopped = threading.current_thread()

    def rerun_if_idle() -> None:  # on the event loop, like every other rerun request
        if getattr(session, "_scriptrunner", True) is None \
                and runtime.is_active_session(session.id):
            session.request_rerun(getattr(session, "_client_state", None))

    def when_over() -> None:
        stopped.join(timeout=30)
        session._call_soon_on_event_loop(rerun_if_idle)

    threading.Thread(target=when_over, name="rerun-after-stop", daemon=True).start()
