"""Redaction: personal data and secrets in free text replaced by typed placeholders.

Pure functions over strings (no database, no Streamlit). A :class:`Redactor` replaces, in
this order, and counts per kind:

* ``[KEY]``: API-key-shaped strings. Only shapes with a known prefix, to stay conservative:
  OpenAI/Anthropic ``sk-``/``sk-ant-``/``sk-proj-`` (20+ more characters), GitHub
  ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_`` (20+), AWS access key ids
  ``AKIA``/``ASIA`` + 16 upper-case letters or digits, Slack ``xox[abprs]-`` tokens, Google
  ``AIza`` + 35, Stripe ``sk_live_``/``rk_live_``/``pk_live_`` (16+), Hugging Face ``hf_``
  (30+), JWTs (three base64url parts starting ``eyJ``), and ``Bearer <token>`` (20+). Other
  long random-looking tokens are left alone (they are too often ids and hashes).
* ``[EMAIL]``: ``local@domain.tld``.
* ``[IBAN]``: two letters, two check digits, 11-30 letters and digits (spaces allowed in groups
  of four) whose ISO 13616 mod-97 check gives 1.
* ``[CARD]``: 13-19 digits (single spaces or hyphens between groups allowed) that pass the Luhn
  check and do not start with 0.
* ``[IP]``: IPv4 and IPv6 addresses that :mod:`ipaddress` accepts (``999.1.1.1`` is none).
* ``[PHONE]``: an international number (``+`` and 8-15 digits) or a national one written with
  separators (``(030) 1234 5678``, ``555-123-4567``): 8-15 digits in all, not a date (an ISO
  ``2026-11-02`` has 8 digits but the shape of a date and is kept), not a version string.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable

KINDS = ("KEY", "EMAIL", "IBAN", "CARD", "IP", "PHONE")

_KEY = re.compile(r"""
    (?<![\w-])(?:
        sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}
      | (?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,} | github_pat_[A-Za-z0-9_]{20,}
      | (?:AKIA|ASIA)[A-Z0-9]{16}
      | xox[abprs]-[A-Za-z0-9-]{10,}
      | AIza[A-Za-z0-9_-]{35}
      | (?:sk|rk|pk)_live_[A-Za-z0-9]{16,}
      | hf_[A-Za-z0-9]{30,}
      | eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}
    )(?![\w-])
    | (?<=Bearer\ )[A-Za-z0-9._~+/-]{20,}=*
""", re.VERBOSE)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_CARD = re.compile(r"(?<![\d.,+-])[1-9](?:[ -]?\d){12,18}(?![\d]|[.,-]\d)")
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)")  # "at 10.0.0.7."
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:%\w+)?(?![\w:])")
_PHONE = re.compile(r"(?<![\w+.-])(?:\+\d[\d ()./-]{6,20}\d|\(?\d[\d ()./-]{6,18}\d)"
                    r"(?![\w]|[.-]\d)")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def luhn(digits: str) -> bool:
    """The Luhn check of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: the country code and check digits moved to the end, letters as 10-35,
    the number mod 97 is 1."""
    iban = text.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _ipv6(candidate: str) -> bool:
    return any(c.isalnum() for c in candidate) and _ip(candidate.split("%")[0])


def _iban(candidate: str) -> int:
    """How much of ``candidate`` is a valid IBAN: all of it, or all but trailing groups (the
    pattern may run on into the next word, as in ``DE89 3704 0044 0532 0130 00 AND``)."""
    while candidate:
        if iban_valid(candidate):
            return len(candidate)
        candidate = candidate.rpartition(" ")[0]
    return 0


def _card(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    return 13 <= len(digits) <= 19 and luhn(digits)


def _phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 8 <= len(digits) <= 15 or _DATE.match(candidate):
        return False
    if candidate.startswith("+"):
        return True
    # A national number needs parentheses or three groups of digits: a bare run of digits
    # or two groups (``2026-000123``) is more often an order number or an id.
    groups = re.findall(r"\d+", candidate)
    return "." not in candidate and ("(" in candidate or len(groups) >= 3)


def _whole(check: Callable[[str], bool]) -> Callable[[str], int]:
    return lambda candidate: len(candidate) if check(candidate) else 0


# Each kind: its pattern and how many leading characters of a match are that kind (0: none).
_RULES: tuple[tuple[str, re.Pattern[str], Callable[[str], int]], ...] = (
    ("KEY", _KEY, len),
    ("EMAIL", _EMAIL, len),
    ("IBAN", _IBAN, _iban),
    ("CARD", _CARD, _whole(_card)),
    ("IP", _IPV4, _whole(_ip)),
    ("IP", _IPV6, _whole(_ipv6)),
    ("PHONE", _PHONE, _whole(_phone)),
)


class Redactor:
    """Replaces what :data:`KINDS` names in strings and counts the replacements."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        for kind, pattern, valid in _RULES:
            text = pattern.sub(lambda m, kind=kind, valid=valid: self._replace(m, kind, valid),
                               text)
        return text

    def _replace(self, match: re.Match[str], kind: str, valid: Callable[[str], int]) -> str:
        text = match.group(0)
        length = valid(text)
        if not length:
            return text
        self.counts[kind] += 1
        return f"[{kind}]" + text[length:]

    def summary(self) -> str:
        """``redacted 3 EMAIL, 1 CARD`` (or that nothing was found), for standard error."""
        found = [f"{self.counts[k]} {k}" for k in KINDS if self.counts[k]]
        return "redacted " + (", ".join(found) if found else "nothing")


def redact(text: str) -> tuple[str, Counter[str]]:
    """``text`` redacted, and how many of each kind were replaced."""
    redactor = Redactor()
    return redactor(text), redactor.counts
