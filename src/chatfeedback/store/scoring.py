"""The rating scales' rules (chatfeedback/scales.py) as SQL over a table with ``scale`` and
``value`` columns: polarity and the 0-1 score, built from ``RANGES`` and ``POLARITY`` and
never typed again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from .. import scales


def _polar(t: Any, side: int) -> ColumnElement[bool]:
    return or_(*(and_(t.c.scale == scale, t.c.value.in_(values[side]))
                 for scale, values in scales.POLARITY.items()))


def positive(t: Any) -> ColumnElement[bool]:
    """True where the rating is positive, as scales.polarity says."""
    return _polar(t, 0)


def negative(t: Any) -> ColumnElement[bool]:
    """True where the rating is negative, as scales.polarity says."""
    return _polar(t, 1)


def neutral(t: Any) -> ColumnElement[bool]:
    """True where there is a rating and it is neither positive nor negative."""
    return and_(t.c.value.is_not(None), not_(or_(positive(t), negative(t))))


def one_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """1 where ``condition`` holds, else 0 (to be summed)."""
    return case((condition, 1), else_=0)


def score(t: Any) -> ColumnElement[Any]:
    """The 0-1 score of a (scale, value), as in scales.score."""
    return case(*((t.c.scale == scale, (t.c.value - low) * 1.0 / (high - low))
                  for scale, (low, high) in scales.RANGES.items()))
