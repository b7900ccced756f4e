"""Redaction: each kind found and its look-alikes kept; ``export --redact`` and
``--hash-raters`` on a real SQLite database, through every export format."""

from __future__ import annotations

import ast
import hashlib
import hmac
import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from chatfeedback.cli import main
from chatfeedback.export.registry import FORMATS
from chatfeedback.redact import iban_valid, luhn, redact

SRC = Path(__file__).resolve().parents[1] / "src" / "chatfeedback"


@pytest.mark.parametrize(("text", "want", "kind"), [
    ("write to ana.lopez+ml@example.org today", "write to [EMAIL] today", "EMAIL"),
    ("Mail: BOB@mail.example.co.uk.", "Mail: [EMAIL].", "EMAIL"),
    ("call +49 30 1234 5678 now", "call [PHONE] now", "PHONE"),
    ("call +1 (555) 123-4567", "call [PHONE]", "PHONE"),
    ("office (030) 1234 5678", "office [PHONE]", "PHONE"),
    ("cell 555-123-4567.", "cell [PHONE].", "PHONE"),
    ("card 4111 1111 1111 1111 exp", "card [CARD] exp", "CARD"),
    ("card 5555-5555-5555-4444", "card [CARD]", "CARD"),
    ("card 4012888888881881", "card [CARD]", "CARD"),
    ("IBAN DE89 3704 0044 0532 0130 00 AND more", "IBAN [IBAN] AND more", "IBAN"),
    ("to GB82WEST12345698765432", "to [IBAN]", "IBAN"),
    ("from 192.168.1.20:8080", "from [IP]:8080", "IP"),
    ("it came from 10.0.0.7.", "it came from [IP].", "IP"),           # ends a sentence
    ("host 2001:db8::8a2e:370:7334 down", "host [IP] down", "IP"),
    ("loopback ::1 or fe80::1%eth0", "loopback [IP] or [IP]", "IP"),
    ("key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx12", "key [KEY]", "KEY"),
    ("token ghp_" + "a1B2" * 9, "token [KEY]", "KEY"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws [KEY]", "KEY"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123", "Authorization: Bearer [KEY]",
     "KEY"),
])
def test_each_kind_is_replaced(text, want, kind):
    got, counts = redact(text)
    assert got == want
    assert sum(counts.values()) == counts[kind] == want.count(f"[{kind}]")


@pytest.mark.parametrize("text", [
    "on 2026-11-02 at 10:30:45, or 02/11/2026, or 2026-11-02 10:30",  # dates and times
    "order 2026-000123, order #123456789, invoice 20261102",          # order numbers
    "pip install chatfeedback==2.10.1, v1.2.3, python 3.12.7",        # versions
    "card 4111 1111 1111 1112 and 4111111111111112",                  # 16 digits, not Luhn
    "IBAN DE89 3704 0044 0532 0130 01 and DE00123",                   # wrong check digits
    "not an address: 999.1.1.1 or 1.2.3 or 256.256.256.256",          # no IPv4
    "mac 00:1a:2b:3c:4d:5e, std::vector, 12:30",                      # no IPv6
    "sk-learn, task-1234, user@localhost, @mention",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "id 01JD2Z3F8Q9XKJ7W6M5N4P3R2S, uuid 123e4567-e89b-12d3-a456-426614174000",
    "pi is 3.14159265358979, the total is 1,234,567.89",
])
def test_look_alikes_are_kept(text):
    got, counts = redact(text)
    assert (got, dict(counts)) == (text, {})


def test_checks_against_worked_examples():
    assert luhn("79927398713") and not luhn("79927398710")  # Luhn's example on Wikipedia
    assert iban_valid("GB82 WEST 1234 5698 7654 32")      # ISO 13616's own example
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")


def test_redact_is_pure():
    """No database, no UI, no third-party package: only the standard library."""
    tree = ast.parse((SRC / "redact.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    assert names <= set(sys.stdlib_module_names)


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RATER = "rater.one@example.com"


@pytest.fixture
def personal(store) -> None:
    """One conversation full of personal data: e-mails in the system prompt, prompt, answers,
    comment and rater; two versions of the answer rated apart (a dpo pair)."""
    conv = store.create_conversation(model="m", training_consent=True, created_at=T0).id
    ask = store.add_message(conv, "user", "I am ana@example.org, +49 30 1234 5678; "
                            "my card 4111 1111 1111 1111 was charged twice",
                            created_at=T0 + timedelta(minutes=1)).id
    answers = []
    for i, text in enumerate(("Write to billing@example.net from 10.0.0.1",
                              "Refund goes to DE89 3704 0044 0532 0130 00, key "
                              + "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx12")):
        answers.append(store.add_message(
            conv, "assistant", text, parent_id=ask, model="m", backend="echo",
            system_prompt="Support bot; escalate to lead@example.com",
            created_at=T0 + timedelta(minutes=2 + i)).id)
    store.rate(answers[0], 0, scale="thumbs", actor=RATER)
    store.rate(answers[1], 1, scale="thumbs", actor=RATER)
    store.annotate(answers[0], comment="leaks ana@example.org")


def _export(db_url: str, tmp_path: Path, fmt: str, *extra: str) -> tuple[bytes, str]:
    out = tmp_path / f"out-{fmt}.{FORMATS[fmt].extension}"
    result = CliRunner().invoke(main, ["export", "--format", fmt, "-o", str(out), "--db",
                                       db_url, *extra])
    assert result.exit_code == 0, result.output
    return out.read_bytes(), result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "dpo", "kto", "sft", "events"])
def test_export_redact_leaves_no_email(personal, db_url, tmp_path, fmt):
    plain, _ = _export(db_url, tmp_path, fmt)
    assert b"@example" in plain  # the data is there without --redact
    data, err = _export(db_url, tmp_path, fmt, "--redact", "--hash-raters")
    assert b"@example" not in data
    assert "redacted " in err and "raters hashed" in err
    if fmt != "events":  # the audit trail has the comment and the rater, no other text
        assert b"[EMAIL]" in data or fmt == "parquet"


def test_jsonl_counts_and_fields(personal, db_url, tmp_path):
    data, err = _export(db_url, tmp_path, "jsonl", "--redact", "--hash-raters",
                        "--hash-salt", "s3cret")
    rows = [json.loads(line) for line in data.decode().splitlines()]
    first, second = sorted(rows, key=lambda r: r["created_at"])
    assert first["prompt"] == "I am [EMAIL], [PHONE]; my card [CARD] was charged twice"
    assert first["response"] == "Write to [EMAIL] from [IP]"
    assert first["comment"] == "leaks [EMAIL]"
    assert first["system_prompt"] == "Support bot; escalate to [EMAIL]"
    assert second["response"] == "Refund goes to [IBAN], key [KEY]"
    pseudonym = "r-" + hmac.new(b"s3cret", RATER.encode(), hashlib.sha256).hexdigest()[:16]
    assert {r["rater"] for r in rows} == {pseudonym}
    assert first["message_id"] and first["rating"] == 0  # the rest as it was
    # Per row: an e-mail, a phone and a card in the prompt, an e-mail in the system prompt;
    # first: 2 more e-mails (answer, comment) and an IP; second: an IBAN and a key.
    assert "redacted 1 KEY, 6 EMAIL, 1 IBAN, 2 CARD, 1 IP, 2 PHONE" in err
    assert "keyed by --hash-salt" in err


def test_parquet_keeps_its_schema(personal, db_url, tmp_path):
    plain, _ = _export(db_url, tmp_path, "parquet")
    _, err = _export(db_url, tmp_path, "parquet", "--redact")
    table = pq.read_table(tmp_path / "out-parquet.parquet")
    assert table.schema == pq.read_schema(io.BytesIO(plain))
    assert "leaks [EMAIL]" in table.column("comment").to_pylist()
    assert "redacted 1 KEY, 6 EMAIL, 1 IBAN, 2 CARD, 1 IP, 2 PHONE" in err
    assert set(table.column("rater").to_pylist()) == {RATER}  # not asked to hash raters


def test_dpo_pair_is_redacted(personal, db_url, tmp_path):
    data, err = _export(db_url, tmp_path, "dpo", "--redact")
    (row,) = [json.loads(line) for line in data.decode().splitlines()]
    assert row["chosen"] == [{"role": "assistant",
                              "content": "Refund goes to [IBAN], key [KEY]"}]
    assert row["rejected"][0]["content"] == "Write to [EMAIL] from [IP]"
    assert row["prompt"][0]["content"] == "Support bot; escalate to [EMAIL]"
    assert "dpo: 1 rows" in err and "redacted 1 KEY, 3 EMAIL, 1 IBAN" in err


def test_raters_hashed_without_salt_differ_between_exports(personal, db_url, tmp_path):
    one, err = _export(db_url, tmp_path, "events", "--hash-raters")
    two, _ = _export(db_url, tmp_path, "events", "--hash-raters")
    actors = [{json.loads(line)["actor"] for line in d.decode().splitlines()} - {None}
              for d in (one, two)]  # (the comment's event has no actor)
    assert len(actors[0]) == len(actors[1]) == 1 and actors[0] != actors[1]
    assert "one-off key" in err and "redacted" not in err


def test_hash_salt_needs_hash_raters(personal, db_url, tmp_path):
    result = CliRunner().invoke(main, ["export", "--format", "jsonl", "--db", db_url,
                                       "--hash-salt", "x"])
    assert result.exit_code == 2
    assert "add --hash-raters" in result.stderr
