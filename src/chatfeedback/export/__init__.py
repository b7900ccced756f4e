"""Exports: analysis formats (one row per rated answer), the audit trail, training formats;
registry.py lists them all for the CLI and the Export page."""

from .analysis import ANALYSIS_COLUMNS, answer_row, write_csv, write_jsonl
from .parquet import export_parquet, write_parquet
from .training import FORMATS as TRAINING_FORMATS
from .training import Summary, write_training

__all__ = ["ANALYSIS_COLUMNS", "TRAINING_FORMATS", "Summary", "answer_row", "write_csv",
           "write_jsonl", "export_parquet", "write_parquet", "write_training"]
