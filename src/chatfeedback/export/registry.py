"""Every export format in one table: its name, file name, MIME type and writer. The CLI's
``export --format`` and the Export page both read it, so they write the same files."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..arena_io import vote_rows
from ..review import Review
from ..store import Filters, Store
from .analysis import answer_row, write_csv, write_jsonl
from .parquet import export_parquet
from .training import write_training

JSONL = "application/jsonl"
# A writer writes the export to a file (or a path, for binary formats) and returns the
# summary lines for standard error.
Writer = Callable[[Store, Any, Filters], list[str]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str       # the Export page's button
    stem: str        # the downloaded file's name, before the date
    extension: str
    mime: str
    write: Writer
    binary: bool = False


def _rows(count: int) -> list[str]:
    return [f"exported {count} rows"]


def _answers(writer: Callable[..., int]) -> Writer:
    return lambda store, out, filters: _rows(
        writer((answer_row(r) for r in store.iter_rated_answers(filters)), out))


def _training(fmt: str) -> Writer:
    return lambda store, out, filters: write_training(store, fmt, out, filters).lines()


def _review(fmt: str) -> Writer:
    return lambda store, out, filters: _rows(
        write_jsonl(Review(store, ()).export_rows(fmt), out))


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("jsonl", "Rated answers (JSON Lines)", "ratings", "jsonl", JSONL,
                 _answers(write_jsonl)),
    ExportFormat("csv", "Rated answers (CSV)", "ratings", "csv", "text/csv",
                 _answers(write_csv)),
    ExportFormat("parquet", "Rated answers (Parquet)", "ratings", "parquet",
                 "application/vnd.apache.parquet",
                 lambda store, out, filters: _rows(export_parquet(store, out, filters)),
                 binary=True),
    ExportFormat("kto", "KTO: rated answers, for TRL's KTOTrainer", "kto", "jsonl", JSONL,
                 _training("kto")),
    ExportFormat("dpo", "DPO: preference pairs, for TRL's DPOTrainer", "dpo", "jsonl", JSONL,
                 _training("dpo")),
    ExportFormat("sft", "SFT: well-rated conversations, for TRL's SFTTrainer", "sft",
                 "jsonl", JSONL, _training("sft")),
    ExportFormat("events", "Rating events, the audit trail (JSON Lines)", "rating-events",
                 "jsonl", JSONL,
                 lambda store, out, filters: _rows(write_jsonl(store.iter_events(), out))),
    ExportFormat("votes", "Arena votes, in LMArena's shape (JSON Lines)", "arena-votes",
                 "jsonl", JSONL, lambda store, out, filters: _rows(write_jsonl(
                     vote_rows(store), out))),
    ExportFormat("reviews", "Review judgements, one per reviewer and criterion (JSON Lines)",
                 "reviews", "jsonl", JSONL, _review("reviews")),
    ExportFormat("gold", "Gold labels: adjudicated or unanimous review values (JSON Lines)",
                 "gold", "jsonl", JSONL, _review("gold")),
)}


def export_bytes(store: Store, fmt: str, filters: Filters = Filters()) -> bytes:
    """The whole export in ``fmt``, as ``chatfeedback export --format <fmt>`` writes it."""
    spec = FORMATS[fmt]
    out: IO[Any] = io.BytesIO() if spec.binary else io.StringIO(newline="")
    spec.write(store, out, filters)
    value = out.getvalue()
    return value if isinstance(value, bytes) else value.encode("utf-8")
