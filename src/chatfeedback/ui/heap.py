"""Cheap garbage collections: the start-up heap is frozen once per server process, and what
a page imports on first use is frozen after it.

A full collection walks every container object the process holds. Streamlit runs one after
every script and fragment run (``runner.postScriptGC``), and a process that has imported
Streamlit, SQLAlchemy and Alembic holds ~100,000 such objects (pandas, pyarrow, Altair and
SciPy, which the admin pages need, as many again): 80-170 ms of CPU per collection, most of
a rating click's cost. Those objects live as long as the process, so :func:`freeze_once`
moves them out of the collector's sight (``gc.freeze()``) once the chat's modules are
imported, and :func:`load` imports a page's module the first time somebody opens the page
(so a replica that only chats never holds pandas or SciPy) and freezes what that import
made. What the sessions hold is still walked by a full collection: at 50 sessions that was
again two thirds of the server's CPU, so ``chatfeedback run`` also turns Streamlit's
collection after each run off (``--runner.postScriptGC false``). Python's own generational
collections still free every cycle: a full one runs once the objects that survived since
the last grew by a quarter, so memory stays bounded.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from types import ModuleType

_lock = threading.Lock()
_frozen = False


def freeze_once() -> bool:
    """Collect, then freeze everything alive now; only the first call in a process does
    anything (True then). Call it after importing the modules every run needs."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.collect()  # garbage made while importing is freed, not frozen
        gc.freeze()
        _frozen = True
        return True


def load(module: str) -> ModuleType:
    """``module`` imported; the first import in a process is followed by a collection and a
    freeze, so the new module's objects (and its libraries') stay out of later collections.
    What the sessions hold at that moment is frozen too: once per page and process, a few
    thousand objects that are then freed by reference counting only."""
    found = sys.modules.get(module)
    if found is not None:
        return found
    with _lock:
        fresh = module not in sys.modules
        loaded = importlib.import_module(module)
        if fresh and _frozen:
            gc.collect()
            gc.freeze()
    return loaded
