"""Randomized experiments: the ``[[experiments]]`` settings and sticky assignment to arms.

An experiment compares arms (a ``[[models]]`` entry, optionally with its own system prompt
and generation settings). While it runs (``chatfeedback experiments start NAME``), every new
conversation of a unit gets an arm by a deterministic hash of (experiment, unit id) against
the arms' weights: the same person (``unit = "user"``) always gets the same arm, on every
replica and after every restart, with nothing stored to look up; with
``unit = "conversation"`` each conversation is its own draw. The arm and the probability of
being assigned to it are stored with the conversation (Store.create_conversation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .entries import entry_name, only_keys
from .errors import ConfigError

UNITS = ("user", "conversation")
_ARM_KEYS = {"name", "model", "system_prompt", "settings", "weight"}
_KEYS = {"name", "unit", "blind", "arms"}


@dataclass(frozen=True)
class Arm:
    name: str
    model: str
    weight: float = 1.0
    system_prompt: str | None = None   # None: the model entry's own
    settings: dict[str, Any] = field(default_factory=dict)  # over the model entry's options


@dataclass(frozen=True)
class Experiment:
    name: str
    arms: tuple[Arm, ...]
    unit: str = "user"
    blind: bool = False

    def arm(self, name: str | None) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(a.weight for a in self.arms)

    def probability(self, arm: Arm) -> float:
        """The chance that a unit is assigned to ``arm``."""
        return arm.weight / sum(self.weights)

    def assign(self, unit_id: str) -> Arm:
        """The arm of ``unit_id``: a uniform number from SHA-256 of (experiment, unit)
        against the cumulative weights. Deterministic: no state, the same on every process."""
        digest = hashlib.sha256(f"{self.name}\x1f{unit_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2 ** 64 * sum(self.weights)
        edge = 0.0
        for arm in self.arms:
            edge += arm.weight
            if point < edge:
                return arm
        return self.arms[-1]

    def definition(self) -> dict[str, Any]:
        """What is stored when it starts (the report reads the weights from it)."""
        return {"unit": self.unit, "blind": self.blind,
                "arms": [{"name": a.name, "model": a.model, "weight": a.weight,
                          "system_prompt": a.system_prompt, "settings": a.settings}
                         for a in self.arms]}

    @classmethod
    def from_definition(cls, name: str, data: dict[str, Any]) -> Experiment:
        return cls(name, tuple(Arm(a["name"], a["model"], float(a["weight"]),
                                   a.get("system_prompt"), dict(a.get("settings") or {}))
                               for a in data["arms"]),
                   unit=data.get("unit", "user"), blind=bool(data.get("blind", False)))


def arm_by_path(path: str, experiments: Sequence[Experiment]) -> Arm:
    """The arm that ``path`` names as ``"experiment/arm"`` (how ``[arena] models`` names
    an arm); ConfigError saying which part names nothing."""
    found = [e for e in experiments if path.startswith(f"{e.name}/")]
    if not found:
        known = ", ".join(e.name for e in experiments) or "none"
        raise ConfigError(f"no [[experiments]] entry is called '{path.split('/')[0]}' "
                          f"(experiments: {known})")
    experiment = max(found, key=lambda e: len(e.name))
    arm = experiment.arm(path[len(experiment.name) + 1:])
    if arm is None:
        raise ConfigError(f"experiment '{experiment.name}' has no arm "
                          f"'{path[len(experiment.name) + 1:]}' (its arms: "
                          f"{', '.join(a.name for a in experiment.arms)})")
    return arm


def parse_experiments(raw: Any, where: str, models: Sequence[str]) -> tuple[Experiment, ...]:
    """The ``[[experiments]]`` tables, checked against the model names; ConfigError names
    the experiment, the arm and the key."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise ConfigError(f"{where}: 'experiments' must be [[experiments]] tables")
    found: list[Experiment] = []
    for index, entry in enumerate(raw, start=1):
        name = entry_name(entry, where, "experiments", index, "experiment",
                          [e.name for e in found])
        label = f"{where}: experiment '{name}'"
        only_keys(entry, _KEYS, label)
        unit = entry.get("unit", "user")
        if unit not in UNITS:
            raise ConfigError(f"{label}: 'unit' must be one of {', '.join(UNITS)}; got {unit!r}")
        blind = entry.get("blind", False)
        if not isinstance(blind, bool):
            raise ConfigError(f"{label}: 'blind' must be true or false, got {blind!r}")
        arms_raw = entry.get("arms")
        if not isinstance(arms_raw, list) or len(arms_raw) < 2 \
                or not all(isinstance(a, dict) for a in arms_raw):
            raise ConfigError(f"{label}: 'arms' must be a list of at least two tables "
                              "like { name = \"control\", model = \"gpt\", weight = 1 }")
        arms = tuple(_arm(a, i, label, models) for i, a in enumerate(arms_raw, start=1))
        names = [a.name for a in arms]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ConfigError(f"{label}: arm '{twice}' is defined twice")
        found.append(Experiment(name, arms, unit=unit, blind=blind))
    return tuple(found)


def _arm(entry: dict[str, Any], index: int, label: str, models: Sequence[str]) -> Arm:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{label}: arms[{index}].name is required (a non-empty string)")
    where = f"{label}, arm '{name}'"
    only_keys(entry, _ARM_KEYS, where)
    model = entry.get("model")
    if model not in models:
        raise ConfigError(f"{where}: 'model' must name a [[models]] entry "
                          f"({', '.join(models)}); got {model!r}")
    weight = entry.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
        raise ConfigError(f"{where}: 'weight' must be a positive number, got {weight!r}")
    prompt = entry.get("system_prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise ConfigError(f"{where}: 'system_prompt' must be a string")
    settings = entry.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: 'settings' must be a table, e.g. {{ temperature = 0.2 }}")
    return Arm(name, model, float(weight), prompt, dict(settings))
