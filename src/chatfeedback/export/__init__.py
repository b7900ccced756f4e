"""Exports: analysis formats (one row per rated answer), the audit trail, training formats;
registry.py lists them all for the CLI and the Export page. The Parquet writers load pyarrow,
so they are imported when first asked for."""

from typing import Any

from .analysis import ANALYSIS_COLUMNS, answer_row, write_csv, write_jsonl
from .training import FORMATS as TRAINING_FORMATS
from .training import Summary, write_training

__all__ = [
    "ANALYSIS_COLUMNS",
    "TRAINING_FORMATS",
    "Summary",
    "answer_row",
    "export_parquet",
    "write_csv",
    "write_jsonl",
    "write_parquet",
    "write_training",
]


def __getattr__(name: str) -> Any:
    if name in ("export_parquet", "write_parquet"):
        from . import parquet

        return getattr(parquet, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
