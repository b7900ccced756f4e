"""Experiments in the database: the start/stop log, and each arm's per-unit sums.

The report's figures are computed by the database from ``unit_counts``, the running totals
per unit and day the Store keeps as ratings change (store/stats.py): summed per (arm, unit)
with ``GROUP BY``, and those per-unit sums summed again per arm into the six sufficient
statistics of :class:`chatfeedback.stats.cluster.UnitSums`; Python receives one row per arm
(per arm and day for the curve over time), however many ratings and people there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, insert, select

from ..errors import ConfigError
from ..ids import new_id
from ..stats.cluster import UnitSums
from .engine import as_day
from .errors import db_errors
from .filters import Filters
from .schema import conversations, experiment_events, rater_counts, unit_counts
from .store import Store, as_utc, now

METRICS = ("positive_share", "mean_score")


@dataclass(frozen=True)
class Run:
    """An experiment as the log has it: running or not, since when, with which arms."""

    name: str
    running: bool
    started_at: datetime | None
    stopped_at: datetime | None
    definition: dict[str, Any] | None  # the arms as they were at the latest start


@db_errors
def runs(store: Store) -> dict[str, Run]:
    """Every experiment ever started, by name (the log is small: two rows per run)."""
    query = select(experiment_events).order_by(experiment_events.c.at, experiment_events.c.id)
    found: dict[str, Run] = {}
    with store.engine.connect() as conn:
        for e in conn.execute(query).mappings():
            old = found.get(e["experiment"])
            if e["action"] == "start":
                found[e["experiment"]] = Run(e["experiment"], True, as_utc(e["at"]), None,
                                             e["definition"])
            elif old is not None:
                found[e["experiment"]] = Run(old.name, False, old.started_at, as_utc(e["at"]),
                                             old.definition)
    return found


@db_errors
def record(store: Store, name: str, action: str, *, definition: dict[str, Any] | None = None,
           actor: str | None = None, at: datetime | None = None) -> Run:
    """Start or stop ``name``; ConfigError when it already runs / does not run."""
    if action not in ("start", "stop"):
        raise ValueError(f"unknown action {action!r}")
    with store._write() as conn:  # one writer at a time: two starts cannot both pass
        last = conn.execute(select(experiment_events.c.action)
                            .where(experiment_events.c.experiment == name)
                            .order_by(experiment_events.c.at.desc(),
                                      experiment_events.c.id.desc()).limit(1)).scalar()
        if action == "start" and last == "start":
            raise ConfigError(f"experiment '{name}' is already running")
        if action == "stop" and last != "start":
            raise ConfigError(f"experiment '{name}' is not running")
        conn.execute(insert(experiment_events).values(
            id=new_id(), experiment=name, action=action, definition=definition, actor=actor,
            at=at or now()))
    return runs(store)[name]


def _counted(name: str, metric: str) -> tuple[Any, Any]:
    """The experiment's unit_counts rows, and their value sum and sum of squares under
    ``metric`` (a positive is 1, so its square is itself)."""
    t = unit_counts
    if metric == "positive_share":
        return t, (t.c.positive, t.c.positive)
    if metric == "mean_score":
        return t, (t.c.score, t.c.score_sq)
    raise ConfigError(f"unknown metric '{metric}' (use {' or '.join(METRICS)})")


@db_errors
def unit_sums(store: Store, name: str, metric: str) -> dict[str, UnitSums]:
    """Each arm's per-unit sums (arms without ratings are absent), from the running totals
    per unit and day: GROUP BY unit, then per arm."""
    t, (value, square) = _counted(name, metric)
    u = (select(t.c.arm, func.sum(t.c.n).label("n"), func.sum(value).label("y"),
                func.sum(square).label("sq"))
         .where(t.c.experiment == name).group_by(t.c.arm, t.c.unit)
         .having(func.sum(t.c.n) > 0).subquery())
    query = (select(u.c.arm, func.count(), func.sum(u.c.n), func.sum(u.c.y),
                    func.sum(u.c.y * u.c.y), func.sum(u.c.n * u.c.n), func.sum(u.c.n * u.c.y),
                    func.sum(u.c.sq))
             .group_by(u.c.arm))
    with store.engine.connect() as conn:
        return {r[0]: UnitSums(int(r[1]), *(float(v) for v in r[2:]))
                for r in conn.execute(query)}


@db_errors
def assigned_units(store: Store, name: str) -> dict[str, int]:
    """Units assigned to each arm (with or without ratings): the sample-ratio check's input."""
    query = (select(conversations.c.arm, func.count(func.distinct(conversations.c.unit)))
             .where(conversations.c.experiment == name).group_by(conversations.c.arm))
    with store.engine.connect() as conn:
        return {arm: int(n) for arm, n in conn.execute(query)}


@db_errors
def daily_unit_sums(store: Store, name: str, metric: str) -> list[tuple[date, str, UnitSums]]:
    """The per-unit sums of each arm as they stood at the end of each day with ratings,
    oldest first (for the confidence sequence drawn over time).

    Each unit's running totals change only on days it rated, so the database computes, per
    (arm, unit, day), the change that day makes to each arm-level sum (a unit's squares
    grow from (y - dy)^2 to y^2) and sums the changes per (arm, day); Python adds them up."""
    t, (value, square) = _counted(name, metric)
    d = (select(t.c.arm, t.c.unit, t.c.day, t.c.n, value.label("y"), square.label("sq"))
         .where(t.c.experiment == name, t.c.n > 0).subquery())
    # In the key's order (no sort), a ROWS frame: SQLite's default RANGE frame costs twice.
    order = {"partition_by": (d.c.arm, d.c.unit), "order_by": d.c.day, "rows": (None, 0)}
    running = select(d.c.arm, d.c.day, d.c.n, d.c.y, d.c.sq,
                     func.sum(d.c.n).over(**order).label("cn"),
                     func.sum(d.c.y).over(**order).label("cy")).subquery()
    r = running
    pn, py = r.c.cn - r.c.n, r.c.cy - r.c.y   # the unit's totals before this day
    # n > 0 on every row, so a unit's first day is the one where its total is that day's
    query = (select(r.c.day, r.c.arm, func.sum(case((pn == 0, 1), else_=0)),
                    func.sum(r.c.n), func.sum(r.c.y),
                    func.sum(r.c.cy * r.c.cy - py * py), func.sum(r.c.cn * r.c.cn - pn * pn),
                    func.sum(r.c.cn * r.c.cy - pn * py), func.sum(r.c.sq))
             .group_by(r.c.day, r.c.arm).order_by(r.c.day, r.c.arm))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    totals: dict[str, list[float]] = {}
    out: list[tuple[date, str, UnitSums]] = []
    for row in rows:
        sums = totals.setdefault(row[1], [0.0] * 7)
        for i, v in enumerate(row[2:]):
            sums[i] += float(v or 0)
        out.append((as_day(row[0]), row[1], UnitSums(int(sums[0]), *sums[1:])))
    return out


@db_errors
def rater_sums(store: Store, by: str, f: Filters) -> dict[Any, UnitSums]:
    """Per model (``by="model"``) or system prompt key (``"prompt_key"``), the per-person
    sums of positive ratings that pass ``f`` (dates, model, scale), with the rater as the
    unit (a conversation when nobody is known): the dashboard's observational comparisons.
    From the running totals per rater (rater_counts), not the ratings."""
    t = rater_counts
    key = t.c[by]
    u = (select(key.label("key"), func.sum(t.c.n).label("n"),
                func.sum(t.c.positive).label("y"))
         .where(*f.counted(t)).group_by(key, t.c.rater).having(func.sum(t.c.n) > 0)
         .subquery())
    query = (select(u.c.key, func.count(), func.sum(u.c.n), func.sum(u.c.y),
                    func.sum(u.c.y * u.c.y), func.sum(u.c.n * u.c.n), func.sum(u.c.n * u.c.y),
                    func.sum(u.c.y)).group_by(u.c.key))
    with store.engine.connect() as conn:
        return {r[0]: UnitSums(int(r[1]), *(float(v) for v in r[2:]))
                for r in conn.execute(query)}

