"""``export --redact`` and ``--hash-raters``: one pass over a finished export, whatever its format.

Every format's writer writes as usual, into a temporary file; :func:`rewrite` then reads it
back by its encoding (JSON Lines, CSV or Parquet: the three that every format is written
in) and writes it to the real output with each row passed through :meth:`Privacy.row`. So
no format can forget a field, and a format added to the registry is covered.

Text fields (:data:`TEXT`, at any depth: the ``content`` of training messages too) go through
:class:`chatfeedback.redact.Redactor`. Rater fields (:data:`RATERS`) become
``r-`` and the first 16 hex digits of HMAC-SHA256(key, identity): with ``--hash-salt`` the
key is that salt, so the same rater gets the same pseudonym in every export made with it;
without, the key is random for this export (raters are told apart within it, not across).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from ..redact import Redactor

if TYPE_CHECKING:
    import pyarrow as pa

TEXT = frozenset({"prompt", "response", "comment", "system_prompt", "content", "completion",
                  "chosen", "rejected", "messages", "conversation_a", "conversation_b",
                  "correction"})
RATERS = frozenset({"rater", "actor", "reviewer", "judge", "voter", "author", "owner"})


class Privacy:
    """What to do to each row: redact text (``redact``), hash raters (``hash_key``)."""

    def __init__(self, *, redact: bool = False, hash_raters: bool = False,
                 salt: str | None = None) -> None:
        self.redactor = Redactor() if redact else None
        self.hash_key: bytes | None = None
        self.salted = salt is not None
        if hash_raters:
            self.hash_key = salt.encode() if salt is not None else secrets.token_bytes(32)

    def __bool__(self) -> bool:
        return self.redactor is not None or self.hash_key is not None

    def rater(self, identity: str) -> str:
        assert self.hash_key is not None
        return "r-" + hmac.new(self.hash_key, identity.encode(), hashlib.sha256).hexdigest()[:16]

    def value(self, key: str, value: Any, text: bool = False) -> Any:
        """``value`` of field ``key`` (inside a text field when ``text``), made private."""
        if isinstance(value, dict):
            return {k: self.value(k, v, text or k in TEXT) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, v, text) for v in value]
        if not isinstance(value, str) or not value:
            return value
        if key in RATERS and self.hash_key is not None:
            return self.rater(value)
        if (text or key in TEXT) and self.redactor is not None:
            return self.redactor(value)
        return value

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: self.value(k, v) for k, v in row.items()}

    def lines(self) -> list[str]:
        """The summary lines for standard error."""
        out = [self.redactor.summary()] if self.redactor is not None else []
        if self.hash_key is not None:
            out.append("raters hashed with HMAC-SHA256 " + (
                "keyed by --hash-salt" if self.salted
                else "under a one-off key: pseudonyms differ from other exports"))
        return out


def rewrite(privacy: Privacy, extension: str, binary: bool, out: Any,
            write: Callable[[Any], list[str]]) -> list[str]:
    """Run ``write`` into a temporary file, then copy it to ``out`` (a text file, a binary
    file or a path) with every row made private; returns ``write``'s summary lines and
    ``privacy``'s."""
    fd, scratch = tempfile.mkstemp(suffix="." + extension, prefix="chatfeedback-export-")
    os.close(fd)
    try:
        if binary:
            lines = write(scratch)
            _parquet(privacy, scratch, out)
        else:
            with open(scratch, "w+", encoding="utf-8", newline="") as text:
                lines = write(text)
                text.seek(0)
                (_csv if extension == "csv" else _jsonl)(privacy, text, out)
    finally:
        os.unlink(scratch)
    return [*lines, *privacy.lines()]


def _jsonl(privacy: Privacy, source: IO[str], out: IO[str]) -> None:
    for line in source:
        out.write(json.dumps(privacy.row(json.loads(line)), ensure_ascii=False) + "\n")


def _csv(privacy: Privacy, source: IO[str], out: IO[str]) -> None:
    reader = csv.DictReader(source)
    writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or ()))
    writer.writeheader()
    for row in reader:
        writer.writerow(privacy.row(row))


def _parquet(privacy: Privacy, source: str, out: Any) -> None:
    """Parquet batch by batch, in the same schema; only text and rater columns change."""
    import pyarrow as pa  # here: a text export needs no pyarrow
    import pyarrow.parquet as pq

    data = pq.ParquetFile(source)
    schema = data.schema_arrow
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in data.iter_batches():
            columns = [_column(privacy, field.name, column) if pa.types.is_string(field.type)
                       else column for field, column in zip(schema, batch.columns, strict=True)]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
        if data.metadata.num_rows == 0:
            writer.write_table(schema.empty_table())


def _column(privacy: Privacy, name: str, column: pa.Array) -> pa.Array:
    import pyarrow as pa

    if name not in TEXT and name not in RATERS:
        return column
    return pa.array([privacy.value(name, v) for v in column.to_pylist()], type=column.type)
