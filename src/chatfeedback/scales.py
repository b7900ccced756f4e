"""Rating scales: how a widget's choice becomes a stored value, a 0-1 score and a polarity.

Stored values: thumbs 0 (👎) or 1 (👍); faces and stars 1 (worst) to 5 (best). (The
widget, ``st.feedback``, counts from 0: the UI translates, see ui/rating.py.)
Polarity, used by the KTO export and the dashboard: thumbs map directly; for faces and
stars 4 and 5 are positive, 1 and 2 negative and 3 is neutral (left out of KTO).
"""

from __future__ import annotations

from .errors import FeedbackError

RANGES = {"thumbs": (0, 1), "faces": (1, 5), "stars": (1, 5)}
# The values that are positive and those that are negative on each scale; the rest are
# neutral. The store's SQL (store/aggregates.py) and the demo data are built from these.
POLARITY = {"thumbs": ((1,), (0,)), "faces": ((4, 5), (1, 2)), "stars": ((4, 5), (1, 2))}
LABELS = {
    # words, not emoji: a table cell cannot show Streamlit's icons, and emoji are boxes
    # where no emoji font is installed
    "thumbs": {0: "thumbs down", 1: "thumbs up"},
    "faces": {v: f"face {v}/5" for v in range(1, 6)},
    "stars": {v: f"{v}/5 stars" for v in range(1, 6)},
}


def check(scale: str, value: int | None) -> None:
    """Raise FeedbackError unless ``value`` is None or on ``scale``."""
    if scale not in RANGES:
        *first, last = RANGES
        raise FeedbackError(f"unknown rating scale '{scale}' (use {', '.join(first)} or "
                            f"{last})")
    low, high = RANGES[scale]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not low <= value <= high):
        raise FeedbackError(f"a {scale} rating must be a whole number from {low} to {high}, "
                            f"got {value!r}")


def values(scale: str) -> range:
    """The stored values of ``scale``, lowest first."""
    low, high = RANGES[scale]
    return range(low, high + 1)


def score(scale: str, value: int | None) -> float | None:
    """``value`` normalised to 0 (worst) .. 1 (best)."""
    if value is None:
        return None
    low, high = RANGES[scale]
    return (value - low) / (high - low)


def polarity(scale: str, value: int | None) -> bool | None:
    """True for positive, False for negative, None for neutral or unrated."""
    if value is None:
        return None
    positive, negative = POLARITY[scale]
    return True if value in positive else False if value in negative else None


def label(scale: str, value: int | None) -> str:
    return "" if value is None else LABELS[scale].get(value, str(value))
