"""Exports: analysis formats (one row per rated answer) and the audit trail."""

from .analysis import ANALYSIS_COLUMNS, answer_row, write_csv, write_jsonl

__all__ = ["ANALYSIS_COLUMNS", "answer_row", "write_csv", "write_jsonl"]
