"""Cheap garbage collections: the start-up heap is frozen once per server process.

A full collection walks every container object the process holds. Streamlit runs one after
every script and fragment run (``runner.postScriptGC``), and this process holds Streamlit,
SQLAlchemy, Alembic, pandas, pyarrow and Altair: ~165,000 objects, 80-170 ms of CPU per
collection, most of a rating click's cost. Those objects live as long as the process, so
:func:`freeze_once` moves them out of the collector's sight (``gc.freeze()``) once the
pages' modules are imported. What the sessions hold is still walked by a full collection:
at 50 sessions that was again two thirds of the server's CPU, so ``chatfeedback run`` also
turns Streamlit's collection after each run off (``--runner.postScriptGC false``). Python's
own generational collections still free every cycle: a full one runs once the objects
that survived since the last grew by a quarter, so memory stays bounded.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_once() -> bool:
    """Collect, then freeze everything alive now; only the first call in a process does
    anything (True then). Call it after importing every page's modules."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.collect()  # garbage made while importing is freed, not frozen
        gc.freeze()
        _frozen = True
        return True
