"""The Export page (admins only): every export format as a download button."""

from __future__ import annotations

import functools
from datetime import date

import streamlit as st

from ..export.registry import FORMATS, export_bytes
from . import keys
from .context import service

__all__ = ["export_bytes", "render"]


def render() -> None:
    st.title("Export")
    st.write("Download every rated answer with its prompt, model, settings and timing, "
             "training data for TRL (only conversations whose training consent is on), or "
             "the audit trail of every rating action. The command line gives the same files "
             "with date and model filters: `chatfeedback export -h`.")
    store = service().store
    today = date.today().isoformat()
    for spec in FORMATS.values():
        # Deferred: the file is built when the button is clicked, not on every page run.
        st.download_button(spec.label, data=functools.partial(export_bytes, store, spec.name),
                           file_name=f"{spec.stem}-{today}.{spec.extension}", mime=spec.mime,
                           key=keys.export(spec.name), icon=":material/download:",
                           on_click="ignore")
