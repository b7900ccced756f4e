"""The rating policy, ``[feedback] mode``, in one place: which answers can be rated and
whether a given rating can change.

* ``locked``: each answer is rated once; the rating never changes.
* ``changeable``: a rating can be changed or cleared at any time.
* ``latest``: only the newest answer of a conversation can be rated (or changed); earlier
  ratings are shown read-only.

The chat service and the arena ask :class:`RatingPolicy` before they rate or vote (the store
enforces ``changeable`` as ``allow_change`` inside the transaction that would change a
rating), and the UI asks it which widgets to disable; none of them compares mode names.
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("locked", "changeable", "latest")


@dataclass(frozen=True)
class RatingPolicy:
    mode: str = "locked"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown rating mode {self.mode!r} (use {', '.join(MODES)})")

    @property
    def changeable(self) -> bool:
        """Can a rating that was given be changed or cleared?"""
        return self.mode != "locked"

    @property
    def newest_only(self) -> bool:
        """Can only the newest answer (or round) be rated?"""
        return self.mode == "latest"

    def open_for(self, *, newest: bool) -> bool:
        """Can an answer be rated (or its rating changed), being the newest of its
        conversation or not?"""
        return newest or not self.newest_only

    def holds(self, value: int | None) -> bool:
        """Is a rating with ``value`` fixed for good (a locked rating)?"""
        return value is not None and not self.changeable
