"""Every export format in one table: its name, file name, MIME type and writer. The CLI's
``export --format`` and the Export page both read it, so they write the same files."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..arena_io import vote_rows
from ..progress import Progress, counted, nothing
from ..review import Review
from ..store import Filters, Store
from .analysis import answer_row, write_csv, write_jsonl
from .private import Privacy, rewrite
from .training import write_training

JSONL = "application/jsonl"
# A writer writes the export to a file (or a path, for binary formats), telling the progress
# callback how far it is, and returns the summary lines for standard error.
Writer = Callable[[Store, Any, Filters, Progress], list[str]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str       # the Export page's button
    stem: str        # the downloaded file's name, before the date
    extension: str
    mime: str
    write: Writer
    binary: bool = False
    unit: str = "rows"  # what its progress counts


def _rows(count: int) -> list[str]:
    return [f"exported {count} rows"]


def _answers(writer: Callable[..., int]) -> Writer:
    """Rated answers, counted against the running totals' count of them."""
    return lambda store, out, filters, progress: _rows(writer(counted(
        (answer_row(r) for r in store.iter_rated_answers(filters)), progress,
        store.count_rated(filters) if progress else None, every=500), out))


def _parquet(store: Store, out: Any, filters: Filters, progress: Progress) -> list[str]:
    from .parquet import export_parquet  # pyarrow: loaded for a Parquet export only

    return _rows(export_parquet(store, out, filters, progress=progress))


def _training(fmt: str) -> Writer:
    return lambda store, out, filters, progress: write_training(
        store, fmt, out, filters, progress=progress).lines()


def _review(fmt: str) -> Writer:
    """Review rows: nothing counts them beforehand, so the progress counts up."""
    return lambda store, out, filters, progress: _rows(
        write_jsonl(counted(Review(store, ()).export_rows(fmt), progress, every=500), out))


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("jsonl", "Rated answers (JSON Lines)", "ratings", "jsonl", JSONL,
                 _answers(write_jsonl)),
    ExportFormat("csv", "Rated answers (CSV)", "ratings", "csv", "text/csv",
                 _answers(write_csv)),
    ExportFormat("parquet", "Rated answers (Parquet)", "ratings", "parquet",
                 "application/vnd.apache.parquet",
                 lambda store, out, filters, progress: _parquet(store, out, filters, progress),
                 binary=True),
    ExportFormat("kto", "KTO: rated answers, for TRL's KTOTrainer", "kto", "jsonl", JSONL,
                 _training("kto"), unit="ratings"),
    ExportFormat("dpo", "DPO: preference pairs, for TRL's DPOTrainer", "dpo", "jsonl", JSONL,
                 _training("dpo"), unit="ratings"),
    ExportFormat("sft", "SFT: well-rated conversations, for TRL's SFTTrainer", "sft",
                 "jsonl", JSONL, _training("sft"), unit="ratings"),
    ExportFormat("events", "Rating events, the audit trail (JSON Lines)", "rating-events",
                 "jsonl", JSONL,
                 lambda store, out, filters, progress: _rows(write_jsonl(
                     counted(store.iter_events(), progress, every=500), out)),
                 unit="events"),
    ExportFormat("votes", "Arena votes, in LMArena's shape (JSON Lines)", "arena-votes",
                 "jsonl", JSONL, lambda store, out, filters, progress: _rows(write_jsonl(
                     counted(vote_rows(store), progress, every=500), out)),
                 unit="votes"),
    ExportFormat("reviews", "Review judgements, one per reviewer and criterion (JSON Lines)",
                 "reviews", "jsonl", JSONL, _review("reviews")),
    ExportFormat("gold", "Gold labels: adjudicated or unanimous review values (JSON Lines)",
                 "gold", "jsonl", JSONL, _review("gold")),
)}


def write(spec: ExportFormat, store: Store, out: Any, filters: Filters = Filters(),
          progress: Progress = nothing, privacy: Privacy | None = None) -> list[str]:
    """Write the export ``spec`` to ``out``; every format passes through here, so ``privacy``
    (``--redact``, ``--hash-raters``) applies to all of them alike. Returns the summary."""
    if not privacy:
        return spec.write(store, out, filters, progress)
    return rewrite(privacy, spec.extension, spec.binary, out,
                   lambda scratch: spec.write(store, scratch, filters, progress))


def export_file(store: Store, fmt: str, filters: Filters = Filters(),
                privacy: Privacy | None = None) -> tuple[bytes, list[str]]:
    """The whole export in ``fmt`` and its summary lines, as ``chatfeedback export --format
    <fmt>`` writes them (the file, and what it prints on standard error)."""
    spec = FORMATS[fmt]
    out: IO[Any] = io.BytesIO() if spec.binary else io.StringIO(newline="")
    lines = write(spec, store, out, filters, nothing, privacy)
    value = out.getvalue()
    return (value if isinstance(value, bytes) else value.encode("utf-8")), lines


def export_bytes(store: Store, fmt: str, filters: Filters = Filters(),
                 privacy: Privacy | None = None) -> bytes:
    """The whole export in ``fmt``, as ``chatfeedback export --format <fmt>`` writes it."""
    return export_file(store, fmt, filters, privacy)[0]
