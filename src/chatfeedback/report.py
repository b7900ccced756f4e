"""An experiment's report: each arm's figure, the difference with its fixed-horizon and
anytime-valid intervals, the sample-ratio check and a verdict in plain words.

The database sums ratings per unit and arm (store/experiments.py); the statistics are
:mod:`chatfeedback.stats`. The CLI (``chatfeedback report --experiment``) and the dashboard's
Experiments page both show this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .config import Settings
from .errors import ConfigError
from .experiments import Arm, Experiment
from .stats import cluster, power, sequential, srm
from .store import Store
from .store import experiments as log
from .store.experiments import METRICS

DETECT = 0.03  # the difference the verdict says how many more units would show (3 points)
NOUNS = {"user": "people", "conversation": "conversations"}


@dataclass(frozen=True)
class ArmFigures:
    name: str
    model: str
    weight: float
    assigned: int            # units assigned (with or without ratings)
    units: int               # units with ratings
    ratings: int
    estimate: float | None
    ci: tuple[float, float] | None
    unit_variance: float | None = None


@dataclass(frozen=True)
class Comparison:
    """``arms[0]`` minus ``arms[1]`` (an arm against the first arm, the control)."""

    arms: tuple[str, str]
    estimate: float | None
    ci: tuple[float, float] | None
    anytime_ci: tuple[float, float] | None
    p_value: float | None


@dataclass(frozen=True)
class Point:
    """The comparison as it stood at the end of ``day`` (for the curve over time)."""

    day: date
    units: int
    estimate: float
    ci: tuple[float, float]
    anytime_ci: tuple[float, float]


@dataclass(frozen=True)
class Report:
    experiment: str
    metric: str
    unit: str
    running: bool
    arms: tuple[ArmFigures, ...]
    differences: tuple[Comparison, ...]
    srm_p_value: float | None
    srm_warning: bool
    verdict: str
    over_time: tuple[Point, ...] = field(default_factory=tuple)

    @property
    def difference(self) -> Comparison | None:
        return self.differences[0] if self.differences else None

    def as_json(self) -> dict[str, Any]:
        """The report as ``chatfeedback report --json`` prints it."""
        out: dict[str, Any] = {
            "experiment": self.experiment, "metric": self.metric, "unit": self.unit,
            "running": self.running,
            "arms": [{"name": a.name, "model": a.model, "weight": a.weight,
                      "assigned": a.assigned, "units": a.units, "ratings": a.ratings,
                      "estimate": _r(a.estimate), "ci": _pair(a.ci)} for a in self.arms],
            "difference": None if self.difference is None else _comparison(self.difference),
            "srm_p_value": _r(self.srm_p_value), "verdict": self.verdict}
        if len(self.differences) > 1:
            out["differences"] = [_comparison(d) for d in self.differences]
        return out


def experiment(settings: Settings, store: Store, name: str) -> tuple[Experiment, bool, bool]:
    """The experiment called ``name`` as it was started (else as configured, else as
    imported: its arms from the data, ``control`` first, weights unknown), whether it runs
    now and whether its weights are known; ConfigError when nothing knows it."""
    run = log.runs(store).get(name)
    if run is not None and run.definition:
        return Experiment.from_definition(name, run.definition), run.running, True
    if any(e.name == name for e in settings.experiments) or run is not None:
        return settings.experiment(name), bool(run and run.running), True
    arms = sorted(log.assigned_units(store, name), key=lambda a: (a != "control", a))
    if len(arms) < 2:
        settings.experiment(name)  # the one-line error naming the known ones
    return Experiment(name, tuple(Arm(a, "?") for a in arms)), False, False


def build(settings: Settings, store: Store, name: str, metric: str = "positive_share", *,
          over_time: bool = False, detect: float = DETECT) -> Report:
    """The report of experiment ``name`` on ``metric`` (positive_share or mean_score)."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}' (use {' or '.join(METRICS)})")
    exp, running, weighted = experiment(settings, store, name)
    sums = log.unit_sums(store, name, metric)
    assigned = log.assigned_units(store, name)
    arms = tuple(_arm(a.name, a.model, a.weight, assigned.get(a.name, 0),
                      sums.get(a.name, cluster.UnitSums(0, 0, 0, 0, 0, 0, 0)))
                 for a in exp.arms)
    control = exp.arms[0].name
    comparisons = tuple(_compare(sums, arm.name, control) for arm in exp.arms[1:])
    check = srm.sample_ratio([a.assigned for a in arms], [a.weight for a in arms])
    if not weighted:  # imported: the weights it was run with are not known
        check = srm.SampleRatio(check.observed, check.expected, 0.0, 1.0)
    srm_p = check.p_value if weighted and sum(a.assigned for a in arms) else None
    points = tuple(_over_time(store, name, metric, exp.arms[1].name, control)) \
        if over_time else ()
    return Report(name, metric, exp.unit, running, arms, comparisons, srm_p, check.mismatch,
                  _verdict(exp, arms, comparisons[0], check, metric, detect), points)


def _arm(name: str, model: str, weight: float, assigned: int,
         s: cluster.UnitSums) -> ArmFigures:
    e = cluster.ratio(s)
    return ArmFigures(name, model, weight, assigned, s.units, int(s.ratings), e.estimate,
                      e.ci, cluster.unit_variance(s))


def _compare(sums: dict[str, cluster.UnitSums], arm: str, control: str) -> Comparison:
    empty = cluster.UnitSums(0, 0, 0, 0, 0, 0, 0)
    a, b = sums.get(arm, empty), sums.get(control, empty)
    d = cluster.difference(a, b)
    anytime = None
    if d.estimate is not None and d.se is not None:
        anytime = sequential.confidence_sequence(d.estimate, d.se, a.units + b.units)
    return Comparison((arm, control), d.estimate, d.ci, anytime, d.p_value)


def _over_time(store: Store, name: str, metric: str, arm: str, control: str) -> list[Point]:
    latest: dict[str, cluster.UnitSums] = {}
    points: list[Point] = []
    rows = log.daily_unit_sums(store, name, metric)
    for i, (day, arm_name, sums) in enumerate(rows):
        latest[arm_name] = sums
        if i + 1 < len(rows) and rows[i + 1][0] == day:
            continue  # the day's other arm comes next
        c = _compare(latest, arm, control)
        if c.estimate is None or c.ci is None or c.anytime_ci is None:
            continue
        units = sum(latest[k].units for k in (arm, control) if k in latest)
        points.append(Point(day, units, c.estimate, c.ci, c.anytime_ci))
    return points


def _verdict(exp: Experiment, arms: tuple[ArmFigures, ...], c: Comparison,
             check: srm.SampleRatio, metric: str, detect: float) -> str:
    noun = NOUNS[exp.unit]
    if check.mismatch:
        split = " / ".join(f"{a.name} {a.assigned:,}" for a in arms)
        return (f"Warning: the {noun} per arm ({split}) do not match the weights "
                f"(sample-ratio mismatch, p = {check.p_value:.2g}). Something other than "
                f"chance decided who got which arm; do not trust the difference until the "
                f"cause is found.")
    arm, control = c.arms
    if c.estimate is None or c.anytime_ci is None or c.ci is None:
        return f"Too few {noun} have rated yet to compare {arm} with {control}."
    low, high = c.anytime_ci
    what = "rated positive more often" if metric == "positive_share" else \
        "given a higher mean score"
    figures = (f"{_points(c.estimate)} points, anytime-valid 95 % interval "
               f"{_points(low)} to {_points(high)}")
    if low > 0 or high < 0:
        better, worse = (arm, control) if low > 0 else (control, arm)
        diff = c.estimate if low > 0 else -c.estimate
        lo, hi = (low, high) if low > 0 else (-high, -low)
        return (f"{better} is {what} than {worse}: {_points(diff)} points, anytime-valid "
                f"95 % interval {_points(lo)} to {_points(hi)}; it is safe to stop.")
    a = next(x for x in arms if x.name == arm)
    b = next(x for x in arms if x.name == control)
    more = ""
    if a.unit_variance is not None and b.unit_variance is not None:
        need = power.units_per_arm(detect, a.unit_variance, b.unit_variance,
                                   have=min(a.units, b.units))
        more = f"; {need.words(noun)}"
    return f"No difference can be claimed yet ({arm} vs {control}: {figures}){more}."


def _points(x: float) -> str:
    return f"{x * 100:+.1f}".replace("-", "−")


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _pair(p: tuple[float, float] | None) -> list[float] | None:
    return None if p is None else [round(p[0], 4), round(p[1], 4)]


def _comparison(c: Comparison) -> dict[str, Any]:
    return {"arms": list(c.arms), "estimate": _r(c.estimate), "ci": _pair(c.ci),
            "anytime_ci": _pair(c.anytime_ci), "p_value": _r(c.p_value, 6)}


def table(report: Report) -> str:
    """The report as a readable table."""
    noun = NOUNS[report.unit]
    lines = [(f"Experiment {report.experiment} ({'running' if report.running else 'stopped'};"
             f" randomized by {report.unit}; metric {report.metric})"), ""]
    head = f"{'arm':<16} {'model':<14} {noun:>9} {'ratings':>9} {'estimate':>9}  95 % interval"
    lines.append(head)
    for a in report.arms:
        ci = "-" if a.ci is None else f"{a.ci[0]:.3f} to {a.ci[1]:.3f}"
        est = "-" if a.estimate is None else f"{a.estimate:.3f}"
        lines.append(f"{a.name:<16} {a.model:<14} {a.units:>9,} {a.ratings:>9,} {est:>9}  {ci}")
    lines.append("")
    for c in report.differences:
        if c.estimate is None or c.ci is None or c.anytime_ci is None:
            lines.append(f"{c.arms[0]} − {c.arms[1]}: too few {noun} to compare")
            continue
        lines.append(f"{c.arms[0]} − {c.arms[1]}: {c.estimate:+.3f}   fixed-horizon 95 %: "
                     f"{c.ci[0]:+.3f} to {c.ci[1]:+.3f} (p = {c.p_value:.3g})   "
                     f"anytime-valid 95 %: {c.anytime_ci[0]:+.3f} to {c.anytime_ci[1]:+.3f}")
    srm_text = "-" if report.srm_p_value is None else f"{report.srm_p_value:.3g}"
    lines.append(f"sample-ratio check: p = {srm_text}"
                 + ("  WARNING: mismatch" if report.srm_warning else ""))
    lines += ["", report.verdict]
    return "\n".join(lines)
