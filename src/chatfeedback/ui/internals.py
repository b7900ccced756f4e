"""Streamlit's private parts that the app relies on, in one place, checked at start-up.

Two things have no public API in Streamlit 1.67:

- after a Stop click, running the page again from outside its script run (what Streamlit's
  own run-on-save does): ``Runtime.get_app_session``, ``AppSession.request_rerun`` with the
  session's ``_client_state``, on its event loop (``_call_soon_on_event_loop``), once it
  has no ``_scriptrunner``;
- drawing Markdown that is still arriving the way ``st.write_stream`` does
  (``DeltaGenerator._markdown(..., unterminated_parsing=True)``), for text that is
  rewritten before it is shown (display.py).

:func:`problems` says what of this the installed Streamlit lacks, and whether its version
is outside the range the tests pass on (the ``streamlit`` requirement of this package's
metadata, from pyproject.toml). :func:`check` logs that once per process; the app shows it
once per session (:func:`warn_once`). Without them, Stop still saves the answer (the page
shows it at the next click) and streamed Markdown is drawn plainly.
"""

from __future__ import annotations

import inspect
import logging
import threading
from functools import cache
from importlib import metadata
from typing import Any

import streamlit as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime import Runtime
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from . import keys

__all__ = ["StopException", "check", "partial_markdown", "rerun_when_over", "warn_once"]
log = logging.getLogger("chatfeedback")
NEEDED: tuple[tuple[object, str], ...] = (
    (Runtime, "get_app_session"), (Runtime, "is_active_session"),
    (AppSession, "request_rerun"), (AppSession, "_call_soon_on_event_loop"),
    (DeltaGenerator, "_markdown"),
)
NEEDED_STATE = ("_scriptrunner", "_client_state")  # set in AppSession.__init__
UNTERMINATED = "unterminated_parsing"


def tested_range() -> str | None:
    """The Streamlit versions this package declares (and its tests pass on), or None."""
    try:
        requires = metadata.requires("chatfeedback") or []
    except metadata.PackageNotFoundError:
        return None
    for line in requires:
        requirement = Requirement(line)
        if requirement.name == "streamlit" and not requirement.marker:
            return str(requirement.specifier) or None
    return None


def missing(needed: tuple[tuple[object, str], ...] | None = None) -> list[str]:
    """The private names in ``needed`` (and NEEDED_STATE, UNTERMINATED) that the installed
    Streamlit lacks."""
    found = [f"{getattr(owner, '__name__', owner)}.{name}"
             for owner, name in (NEEDED if needed is None else needed)
             if not hasattr(owner, name)]
    init = getattr(AppSession.__init__, "__code__", None)
    names = set(init.co_names) if init is not None else set()
    found += [f"AppSession.{name}" for name in NEEDED_STATE if name not in names]
    draw = getattr(DeltaGenerator, "_markdown", None)
    if draw is not None and UNTERMINATED not in inspect.signature(draw).parameters:
        found.append(f"DeltaGenerator._markdown({UNTERMINATED}=)")
    return found


@cache
def available() -> bool:
    """Whether the installed Streamlit has every private part listed here."""
    return not missing()


def problems(needed: tuple[tuple[object, str], ...] | None = None,
             version: str | None = None, tested: str | None = None) -> list[str]:
    """What is missing from the installed Streamlit, and whether it is untested."""
    found = missing(needed)
    version = version or st.__version__
    tested = tested if tested is not None else tested_range()
    out = [f"Streamlit {version} lacks {', '.join(found)}"] if found else []
    if tested and Version(version) not in SpecifierSet(tested):
        out.append(f"Streamlit {version} is not a version chatfeedback was tested with "
                   f"({tested})")
    return out


@cache
def check() -> str | None:
    """The start-up check: a warning (logged once per process), or None when all is well."""
    found = problems()
    if not found:
        return None
    message = ("; ".join(found) + ". Stop may not show the stopped answer until the next "
               "click, and streamed answers are drawn as plain Markdown.")
    log.warning(message)
    return message


def warn_once() -> None:
    """Show :func:`check`'s warning once in this session."""
    message = check()
    if message and not st.session_state.get(keys.STREAMLIT_WARNED):
        st.session_state[keys.STREAMLIT_WARNED] = True
        st.toast(message, icon=":material/warning:", duration="long")


def rerun_when_over(thread: threading.Thread) -> None:
    """Once ``thread`` (this script run) has ended, run this session's page again, unless
    a click already started a new run (Streamlit's run-on-save does the same). Without a
    server session (AppTest) or without the internals, nothing happens."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists() or not available():
        return
    runtime = Runtime.instance()
    session: Any = runtime.get_app_session(ctx.session_id)
    if not isinstance(session, AppSession):
        return

    def rerun_if_idle() -> None:  # on the event loop, like every other rerun request
        if getattr(session, "_scriptrunner", True) is None \
                and runtime.is_active_session(session.id):
            session.request_rerun(getattr(session, "_client_state", None))

    def when_over() -> None:
        thread.join(timeout=30)
        session._call_soon_on_event_loop(rerun_if_idle)

    threading.Thread(target=when_over, name="rerun-after-stop", daemon=True).start()


def partial_markdown(slot: DeltaGenerator, text: str) -> None:
    """Draw Markdown that is still arriving: unclosed ``**bold`` or code is closed for the
    moment, as ``st.write_stream`` does; plain ``markdown`` without the internals."""
    if not available():
        slot.markdown(text)
    else:
        slot._markdown(text, unterminated_parsing=True)
