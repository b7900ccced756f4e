"""ui/internals.py: the Streamlit internals behind Stop and streamed Markdown are checked at
start-up; what is missing, or an untested version, gives a warning (logged, shown once)."""

from __future__ import annotations

import logging

import pytest
import streamlit as st
from streamlit.runtime import Runtime

from chatfeedback.ui import internals


@pytest.fixture
def fresh_check():
    internals.check.cache_clear()
    internals.available.cache_clear()
    yield
    internals.check.cache_clear()
    internals.available.cache_clear()


def test_the_installed_streamlit_has_what_is_needed(fresh_check, caplog):
    assert internals.tested_range() == "<1.68,>=1.67"  # from pyproject.toml, installed
    assert internals.missing() == []
    assert internals.problems() == []
    with caplog.at_level(logging.WARNING, logger="chatfeedback"):
        assert internals.check() is None
    assert caplog.records == []


def test_a_missing_attribute_is_named(fresh_check):
    needed = (*internals.NEEDED, (Runtime, "no_such_call"))
    assert internals.problems(needed) == [(f"Streamlit {st.__version__} lacks "
                                          "Runtime.no_such_call")]


def test_an_untested_version_is_named():
    assert internals.problems(version="1.99.0", tested=">=1.67,<1.68") == [
        "Streamlit 1.99.0 is not a version chatfeedback was tested with (>=1.67,<1.68)"]
    assert internals.problems(version="1.67.3", tested=">=1.67,<1.68") == []


def test_the_warning_is_logged_once_and_shown_once_per_session(fresh_check, monkeypatch,
                                                              make_app, caplog):
    monkeypatch.setattr(internals, "NEEDED", (*internals.NEEDED, (Runtime, "no_such_call")))
    with caplog.at_level(logging.WARNING, logger="chatfeedback"):
        at = make_app()
        assert [t.value for t in at.toast] and "Runtime.no_such_call" in at.toast[0].value
        assert "Stop may not show the stopped answer" in at.toast[0].value
        at.run()
        assert not at.toast  # once per session
        make_app()
    logged = [r.getMessage() for r in caplog.records if r.name == "chatfeedback"]
    assert len(logged) == 1 and "Runtime.no_such_call" in logged[0]  # once per process


def test_without_the_internals_streaming_falls_back_to_markdown(fresh_check, monkeypatch):
    monkeypatch.setattr(internals, "NEEDED", ((Runtime, "no_such_call"),))
    assert internals.available() is False
    drawn = []

    class Slot:
        def markdown(self, text):
            drawn.append(text)

    internals.partial_markdown(Slot(), "**half")  # type: ignore[arg-type]
    assert drawn == ["**half"]
