"""Cheap garbage collections: the start-up heap is frozen once per server process.

Streamlit runs a full collection (``gc.collect(2)``) after every script and fragment run
(``runner.postScriptGC``, on by default) to keep memory bounded. A full collection walks
every container object the process holds, and this process holds Streamlit, SQLAlchemy,
Alembic, pandas, pyarrow and Altair: about 165,000 objects, 80-170 ms of CPU per
collection, which made a rating click cost most of its CPU in the collector. Those objects
live as long as the process, so :func:`freeze_once` moves them out of the collector's sight
(``gc.freeze()``) once the pages' modules are imported. The collection after each run
still runs, over what the sessions made since, so memory stays bounded.
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
