"""The Export page (admins only): every export format as a download button."""

from __future__ import annotations

import functools
import io
from datetime import date

import streamlit as st

from ..export import answer_row, write_csv, write_jsonl, write_parquet, write_training
from ..review import EXPORT_FORMATS, Review
from ..store import Store
from ..store.columns import iter_rated_answer_batches
from .context import service

JSONL = "application/jsonl"
# format -> (button label, file name stem, extension, MIME type)
FORMATS = {
    "jsonl": ("Rated answers (JSON Lines)", "ratings", "jsonl", JSONL),
    "csv": ("Rated answers (CSV)", "ratings", "csv", "text/csv"),
    "parquet": ("Rated answers (Parquet)", "ratings", "parquet",
                "application/vnd.apache.parquet"),
    "kto": ("KTO: rated answers, for TRL's KTOTrainer", "kto", "jsonl", JSONL),
    "dpo": ("DPO: preference pairs, for TRL's DPOTrainer", "dpo", "jsonl", JSONL),
    "sft": ("SFT: well-rated conversations, for TRL's SFTTrainer", "sft", "jsonl", JSONL),
    "events": ("Rating events, the audit trail (JSON Lines)", "rating-events", "jsonl", JSONL),
    "reviews": ("Review judgements, one per reviewer and criterion (JSON Lines)", "reviews",
                "jsonl", JSONL),
    "gold": ("Gold labels: adjudicated or unanimous review values (JSON Lines)", "gold",
             "jsonl", JSONL),
}


def export_bytes(store: Store, fmt: str) -> bytes:
    """The whole export in ``fmt``, as ``chatfeedback export --format <fmt>`` writes it."""
    if fmt == "parquet":
        binary = io.BytesIO()
        write_parquet(iter_rated_answer_batches(store), binary)
        return binary.getvalue()
    out = io.StringIO(newline="")
    if fmt == "events":
        write_jsonl(store.iter_events(), out)
    elif fmt in EXPORT_FORMATS:
        write_jsonl(Review(store, ()).export_rows(fmt), out)
    elif fmt in ("kto", "dpo", "sft"):
        write_training(store, fmt, out)
    else:
        rows = (answer_row(r) for r in store.iter_rated_answers())
        (write_csv if fmt == "csv" else write_jsonl)(rows, out)
    return out.getvalue().encode("utf-8")


def render() -> None:
    st.title("Export")
    st.write("Download every rated answer with its prompt, model, settings and timing, "
             "training data for TRL (only conversations whose training consent is on), or "
             "the audit trail of every rating action. The command line gives the same files "
             "with date and model filters: `chatfeedback export -h`.")
    store = service().store
    today = date.today().isoformat()
    for fmt, (label, stem, ext, mime) in FORMATS.items():
        # Deferred: the file is built when the button is clicked, not on every page run.
        st.download_button(label, data=functools.partial(export_bytes, store, fmt),
                           file_name=f"{stem}-{today}.{ext}", mime=mime, key=f"export_{fmt}",
                           icon=":material/download:", on_click="ignore")
