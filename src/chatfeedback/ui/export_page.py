"""The Export page (admins only): every export format as a download button."""

from __future__ import annotations

import functools
import io
from datetime import date

import streamlit as st

from ..export import answer_row, write_csv, write_jsonl
from ..store import Store
from .context import service

# format -> (button label, file name stem, extension, MIME type)
FORMATS = {
    "jsonl": ("Rated answers (JSON Lines)", "ratings", "jsonl", "application/jsonl"),
    "csv": ("Rated answers (CSV)", "ratings", "csv", "text/csv"),
    "events": ("Rating events, the audit trail (JSON Lines)", "rating-events", "jsonl",
               "application/jsonl"),
}


def export_bytes(store: Store, fmt: str) -> bytes:
    """The whole export in ``fmt``, as ``chatfeedback export --format <fmt>`` writes it."""
    out = io.StringIO(newline="")
    if fmt == "events":
        write_jsonl(store.iter_events(), out)
    else:
        rows = (answer_row(r) for r in store.iter_rated_answers())
        (write_csv if fmt == "csv" else write_jsonl)(rows, out)
    return out.getvalue().encode("utf-8")


def render() -> None:
    st.title("Export")
    st.write("Download every rated answer with its prompt, model, settings and timing, or "
             "the audit trail of every rating action. The command line gives the same files "
             "with filters: `chatfeedback export -h`.")
    store = service().store
    today = date.today().isoformat()
    for fmt, (label, stem, ext, mime) in FORMATS.items():
        # Deferred: the file is built when the button is clicked, not on every page run.
        st.download_button(label, data=functools.partial(export_bytes, store, fmt),
                           file_name=f"{stem}-{today}.{ext}", mime=mime, key=f"export_{fmt}",
                           icon=":material/download:", on_click="ignore")
