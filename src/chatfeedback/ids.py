"""Time-sortable ids for every row: 48-bit milliseconds + 80 random bits, Crockford base32.

Written here rather than taken from a ULID package because it is twelve lines, needs
monotonic ordering inside one millisecond (several rows per click), and lowercase output
that reads well in a URL (``?c=01jd...``).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = (0, 0)


def new_id() -> str:
    """Return a 26-character id; ids made later in this process sort after earlier ones."""
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_rand = _last
        if ms <= last_ms:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last = (ms, rand)
    value = (ms << 80) | (rand & ((1 << 80) - 1))
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_id(text: str) -> bool:
    """True when ``text`` has the shape of an id made by :func:`new_id`."""
    return len(text) == 26 and all(ch in _ALPHABET for ch in text)
