"""Stored text on a page (prompts, answers, also while they stream): Markdown rewritten by
display.safe_markdown, so that nothing in it makes the browser fetch anything."""

from __future__ import annotations

import time
from collections.abc import Iterable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ..display import safe_markdown
from .context import service
from .internals import partial_markdown

MIN_GAP = 0.05  # seconds between two drawings of a streaming answer, at least
COST_FACTOR = 4  # ... and at least this many times what rewriting the text took


def _hosts() -> tuple[str, ...]:
    return service().settings.chat.allowed_image_hosts


def show_text(text: str) -> None:
    """Markdown with images from allowed hosts only, links to http(s)/mailto only; any
    HTML in it is shown as text (unsafe_allow_html stays off)."""
    st.markdown(safe_markdown(text, _hosts()))


def stream_text(pieces: Iterable[str]) -> str:
    """Draw text as it arrives (``""``: nothing new yet) and return all of it. Every drawing
    is of the whole text rewritten again (an image is complete only when its ``)`` has
    come), at most every MIN_GAP seconds and never more than 1/COST_FACTOR of the time."""
    hosts = _hosts()
    slot: DeltaGenerator | None = None
    text, drawn, next_at = "", "", 0.0
    for piece in pieces:
        text += piece
        if not text or text == drawn or time.monotonic() < next_at:
            continue
        if slot is None:
            slot = st.empty()
        began = time.monotonic()
        partial_markdown(slot, safe_markdown(text, hosts, cached=False))
        drawn = text
        next_at = time.monotonic() + max(MIN_GAP, COST_FACTOR * (time.monotonic() - began))
    if text:
        (slot or st.empty()).markdown(safe_markdown(text, hosts))
    return text
