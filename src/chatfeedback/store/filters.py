"""Which ratings a query reads: the one filter of the exports, the Parquet reader and the
dashboard (dates, model, scale, an experiment and its arm)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from .engine import day_of, instant, starts_day
from .schema import conversations, ratings


@dataclass(frozen=True)
class Filters:
    """Ratings given in [since, until), of ``model``, on ``scale``; None: no limit.

    A ``date`` stands for that day's midnight UTC; a ``datetime`` is used as it is (the
    CLI's --since and --until, in local time unless they say otherwise). The running
    totals count by UTC day: the dashboard's figures take dates."""

    since: date | None = None
    until: date | None = None
    model: str | None = None
    scale: str | None = None
    experiment: str | None = None  # conversations of this experiment
    arm: str | None = None         # ... assigned to this arm

    def rated(self, table: Any = ratings) -> list[ColumnElement[Any]]:
        """Conditions on ``ratings`` (or a selectable with its columns): the rating holds a
        value and passes the filter, by the time it was given."""
        where = [table.c.value.is_not(None),
                 *self._window(table.c.rated_at, instant, table.c.model, table.c.scale)]
        assigned = self._assigned()
        if assigned:
            where.append(table.c.conversation_id.in_(
                select(conversations.c.id).where(*assigned)))
        return where

    def counted(self, table: Any, *, scale: bool = True) -> list[ColumnElement[Any]]:
        """Conditions on a running-totals table (a ``day`` and ``model`` column, and a
        ``scale`` one unless ``scale`` is False)."""
        if self.experiment is not None or self.arm is not None:
            raise ValueError("the running totals are not kept per experiment")
        return self._window(table.c.day, _day, table.c.model,
                            table.c.scale if scale else None)

    def started(self) -> list[ColumnElement[Any]]:
        """Conditions on ``conversations``, by the time each one started (no scale)."""
        return [*self._window(conversations.c.created_at, instant, conversations.c.model,
                              None), *self._assigned()]

    def made(self, when: Any, model: Any, conversation_id: Any) -> list[ColumnElement[Any]]:
        """Conditions on something made at ``when`` about an answer of ``model`` in the
        conversation ``conversation_id`` (a reviewer's correction): the dates, the model,
        the experiment and arm; the scale does not apply."""
        where = self._window(when, instant, model, None)
        assigned = self._assigned()
        if assigned:
            where.append(conversation_id.in_(select(conversations.c.id).where(*assigned)))
        return where

    def _assigned(self) -> list[ColumnElement[Any]]:
        where: list[ColumnElement[Any]] = []
        if self.experiment is not None:
            where.append(conversations.c.experiment == self.experiment)
        if self.arm is not None:
            where.append(conversations.c.arm == self.arm)
        return where

    def _window(self, when: Any, bound: Any, model: Any,
                scale: Any) -> list[ColumnElement[Any]]:
        where: list[ColumnElement[Any]] = []
        if self.since is not None:
            where.append(when >= bound(self.since))
        if self.until is not None:
            where.append(when < bound(self.until))
        if self.model is not None:
            where.append(model == self.model)
        if self.scale is not None and scale is not None:
            where.append(scale == self.scale)
        return where


def _day(value: date) -> date:
    """A bound as a UTC day, for the running totals (a datetime must be a UTC midnight)."""
    if not isinstance(value, datetime):
        return value
    if not starts_day(value):
        raise ValueError(f"the running totals count whole UTC days, not {value.isoformat()}")
    return day_of(value)
