"""Review rubrics: the ``[[criteria]]`` a reviewer judges an answer by, their stored values and
their level of measurement (which decides how agreement on them is computed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .entries import entry_name, only_keys, tables
from .errors import ChatfeedbackError, ConfigError

KINDS = ("thumbs", "scale", "boolean", "choice")
# The levels a kind may be analysed at; the first is the default.
LEVELS = {"thumbs": ("nominal",), "boolean": ("nominal",), "scale": ("ordinal", "interval"),
          "choice": ("nominal", "ordinal")}
SCALE = (1, 2, 3, 4, 5)
DEFAULT_CRITERIA = ({"name": "good", "kind": "thumbs",
                     "description": "Is this a good answer to the prompt?"},)


@dataclass(frozen=True)
class Criterion:
    """One criterion. Values: thumbs and boolean 0/1, scale 1-5, choice one of ``options``."""

    name: str
    kind: str
    description: str = ""
    options: tuple[str, ...] = field(default_factory=tuple)
    level: str = ""

    @property
    def domain(self) -> tuple[Any, ...]:
        """Every value a judgement may hold, in order."""
        if self.kind == "scale":
            return SCALE
        if self.kind == "choice":
            return self.options
        return (0, 1)

    def check(self, value: Any) -> Any:
        """``value`` as stored (an int, or the option's text; "3" reads as 3, True as 1 for
        a boolean); ValueError with a one-line message if the criterion does not allow it."""
        if self.kind == "choice":
            if isinstance(value, str) and value in self.options:
                return value
        else:
            if (isinstance(value, bool) and self.kind == "boolean") or (
                    isinstance(value, str) and value.strip().isdigit()):
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value in self.domain:
                return value
        raise ValueError(f"criterion '{self.name}': {value!r} is not one of "
                         f"{', '.join(map(str, self.domain))}")

    def label(self, value: Any) -> str:
        """How a value reads for a person."""
        if value is None:
            return "–"
        if self.kind == "thumbs":
            return "👍" if value == 1 else "👎"
        if self.kind == "boolean":
            return "yes" if value == 1 else "no"
        return str(value)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "level": self.level}
        if self.description:
            data["description"] = self.description
        if self.options:
            data["options"] = list(self.options)
        return data


def criterion_from_dict(data: dict[str, Any]) -> Criterion:
    """A criterion stored with a queue (already validated when the queue was made)."""
    return Criterion(name=data["name"], kind=data["kind"],
                     description=data.get("description", ""),
                     options=tuple(data.get("options", ())), level=data["level"])


def by_name(criteria: Iterable[Criterion], name: str,
            missing: Callable[[str], Exception]) -> Criterion:
    """The criterion called ``name`` among ``criteria``; else the error ``missing(known)``
    is raised, ``known`` naming the criteria there are."""
    criteria = tuple(criteria)
    found = next((c for c in criteria if c.name == name), None)
    if found is None:
        raise missing(", ".join(c.name for c in criteria))
    return found


def configured(criteria: Iterable[Criterion], name: str,
               error: type[ChatfeedbackError] = ConfigError) -> Criterion:
    """The ``[[criteria]]`` entry called ``name``; ``error`` names the ones the settings
    define."""
    return by_name(criteria, name, lambda known: error(
        f"unknown criterion '{name}'; the settings define {known}"))


def parse_criteria(raw: Any, where: str) -> tuple[Criterion, ...]:
    """``[[criteria]]`` tables as criteria; a ConfigError names the entry and key."""
    if raw is None:
        raw = [dict(c) for c in DEFAULT_CRITERIA]
    out: list[Criterion] = []
    for index, entry in enumerate(tables(raw, where, "criteria"), start=1):
        name = entry_name(entry, where, "criteria", index, "criterion", [c.name for c in out])
        label = f"criterion '{name}'"
        only_keys(entry, {"name", "kind", "description", "options", "level"},
                  f"{where}: {label}")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: {label}: 'kind' must be one of {', '.join(KINDS)}; "
                              f"got {kind!r}")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}: {label}: 'description' must be a string")
        options = entry.get("options")
        if kind == "choice":
            if (not isinstance(options, list) or len(options) < 2
                    or not all(isinstance(o, str) and o.strip() for o in options)):
                raise ConfigError(f"{where}: {label}: a choice needs 'options', a list of two "
                                  "or more non-empty strings")
            if len(set(options)) != len(options):
                raise ConfigError(f"{where}: {label}: 'options' has the same option twice")
        elif options is not None:
            raise ConfigError(f"{where}: {label}: 'options' is only for kind = \"choice\"")
        level = entry.get("level", LEVELS[kind][0])
        if level not in LEVELS[kind]:
            raise ConfigError(f"{where}: {label}: 'level' for a {kind} criterion must be "
                              f"{' or '.join(LEVELS[kind])}; got {level!r}")
        out.append(Criterion(name=name, kind=kind, description=description,
                             options=tuple(options or ()), level=level))
    return tuple(out)
