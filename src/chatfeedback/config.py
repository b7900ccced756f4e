"""Settings from a TOML file, environment variables and flags, validated with one-line errors.

Precedence, lowest first: built-in defaults, the TOML file (``./chatfeedback.toml`` when it
exists, or the file named by ``CHATFEEDBACK_CONFIG`` or ``--config``), then
``CHATFEEDBACK_DATABASE_URL``, then ``--db``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .display import normal_host
from .entries import entry_name, tables
from .errors import ConfigError
from .experiments import Experiment, arm_by_path, parse_experiments
from .outbox.base import SinkSettings
from .outbox.settings import parse_sinks
from .policy import MODES, RatingPolicy
from .rubric import Criterion, configured, parse_criteria
from .scales import RANGES

DEFAULT_CONFIG_FILE = "chatfeedback.toml"
DEFAULT_DATABASE_URL = "sqlite:///chatfeedback.db"
SCALES = tuple(RANGES)
SAMPLINGS = ("uniform", "active")
DEFAULT_REASONS_POSITIVE = ("Accurate", "Clear", "Helpful", "Well written")
DEFAULT_REASONS_NEGATIVE = ("Wrong", "Unhelpful", "Too long", "Refused", "Unsafe")


@dataclass(frozen=True)
class ModelConfig:
    """One ``[[models]]`` entry. ``options`` holds the backend's own keys (checked by it)."""

    name: str
    backend: str
    system_prompt: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def key(default: Any, help: str) -> Any:
    """A settings key: its default and the one line that explains it (``chatfeedback init``
    writes both into the settings file it makes, see scaffold.py)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class FeedbackConfig:
    scale: str = key("thumbs", "the rating widget: thumbs | faces | stars")
    mode: str = key("locked", "locked: rate once | changeable: change or clear any time | "
                              "latest: only the newest answer")
    comment: bool = key(True, "offer a comment box after a rating")
    max_comment_length: int = key(2000, "longer comments are refused (characters)")
    reasons_positive: tuple[str, ...] = key(DEFAULT_REASONS_POSITIVE,
                                            "reason tags offered after a positive rating")
    reasons_negative: tuple[str, ...] = key(DEFAULT_REASONS_NEGATIVE,
                                            "reason tags offered after a negative rating")
    training_consent_default: bool = key(False, "new conversations allow training use "
                                                "until their owner says otherwise")

    @property
    def policy(self) -> RatingPolicy:
        return RatingPolicy(self.mode)


@dataclass(frozen=True)
class ChatConfig:
    # Turns rendered before "Show earlier" (which loads as many again). Every element on
    # the page is redrawn by the browser on each rerun, even a fragment's, so this window,
    # not the conversation's length, sets what a click costs (docs/performance.md).
    window: int = key(10, "turns shown at first; \"Show earlier\" loads as many again")
    # Hosts whose Markdown images are shown; every other image is a link (display.py).
    allowed_image_hosts: tuple[str, ...] = key((), "hosts whose Markdown images are shown "
                                                   "in answers; other images are links")


@dataclass(frozen=True)
class AccessConfig:
    admins: tuple[str, ...] = key((), "with sign-in on: the emails that may open the "
                                      "Dashboard, Export and Review pages")
    reviewers: tuple[str, ...] = key((), "with sign-in on: the emails that may review "
                                         "answers (admins review too)")

    def may_review(self, user: str | None) -> bool:
        """A signed-in user listed as a reviewer or an admin."""
        return user is not None and (user in self.reviewers or user in self.admins)


@dataclass(frozen=True)
class ArenaConfig:
    models: tuple[str, ...] = key((), "names of the [[models]] (or experiment arms, "
                                      "'experiment/arm') that meet in the Arena; it is off "
                                      "with fewer than two")
    sampling: str = key("uniform", "how pairs are drawn: uniform | active")


@dataclass(frozen=True)
class OutboxConfig:
    poll: float = key(1.0, "seconds the delivery worker waits between looks at the outbox "
                           "when it is idle")
    backoff: float = key(2.0, "seconds before a failed delivery's first retry; doubled for "
                              "each further try (with jitter), at most an hour")
    batch: int = key(500, "outbox rows read or updated per database round trip")
    threads: int = key(8, "deliveries in flight at once, per sink")
    lease: float = key(30.0, "seconds without a sign of life before another replica's "
                             "worker takes over delivery")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    models: tuple[ModelConfig, ...] = (ModelConfig("echo", "echo", options={"delay": 0.02}),)
    criteria: tuple[Criterion, ...] = parse_criteria(None, "defaults")
    arena: ArenaConfig = field(default_factory=ArenaConfig)
    experiments: tuple[Experiment, ...] = ()
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    sinks: tuple[SinkSettings, ...] = ()
    source: str | None = None  # the file the settings came from, if any

    def model(self, name: str | None) -> ModelConfig:
        """The model entry called ``name``, or the first one when ``name`` is unknown/None."""
        for model in self.models:
            if model.name == name:
                return model
        return self.models[0]

    def criterion(self, name: str) -> Criterion:
        """The ``[[criteria]]`` entry called ``name``; ConfigError names the known ones."""
        return configured(self.criteria, name)

    def experiment(self, name: str) -> Experiment:
        """The ``[[experiments]]`` entry called ``name``; ConfigError names the known ones."""
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        known = ", ".join(e.name for e in self.experiments) or "none"
        raise ConfigError(f"unknown experiment '{name}'; the settings define {known}")


def load_settings(config_file: str | os.PathLike[str] | None = None,
                  database_url: str | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from file, environment and flags; raise ConfigError on bad input."""
    env = os.environ if environ is None else environ
    path: Path | None = None
    if config_file:
        path = Path(config_file)
    elif env.get("CHATFEEDBACK_CONFIG"):
        path = Path(env["CHATFEEDBACK_CONFIG"])
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
    settings = _parse(data, str(path) if path else "settings")
    url = database_url or env.get("CHATFEEDBACK_DATABASE_URL") or settings.database_url
    return replace(settings, database_url=_check_url(url),
                   source=str(path.resolve()) if path else None)


def with_feedback(settings: Settings, where: str, *, scale: str | None = None,
                  mode: str | None = None, comment: bool | None = None) -> Settings:
    """``settings`` with ``[feedback]`` keys given in code (the Python API, the drop-in
    chat), checked as the settings file's are; None keeps the key as it is. ``where`` names
    the caller in the error."""
    given = {k: v for k, v in {"scale": scale, "mode": mode, "comment": comment}.items()
             if v is not None}
    fb = settings.feedback
    return replace(settings, feedback=replace(
        fb, scale=_choice(given, "scale", SCALES, where, fb.scale),
        mode=_choice(given, "mode", MODES, where, fb.mode),
        comment=_typed(given, "comment", bool, where, "feedback.", fb.comment)))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None


# The tables of a settings file besides [database] and the arrays of tables ([[models]],
# [[criteria]], [[experiments]]): each key is a field of the table's dataclass, with its
# default and help (one source for parsing and the template ``chatfeedback init`` writes).
SECTIONS: dict[str, type] = {"feedback": FeedbackConfig, "chat": ChatConfig,
                             "access": AccessConfig, "arena": ArenaConfig,
                             "outbox": OutboxConfig}


def keys(section: type) -> dict[str, Any]:
    """A section's keys and their defaults, in the order they are declared."""
    return {f.name: f.default for f in fields(section)}


def _parse(data: dict[str, Any], where: str) -> Settings:
    _only(data, {"database", *SECTIONS, "models", "criteria", "experiments", "sinks"},
          where, "")
    database = _table(data, "database", where)
    _only(database, {"url"}, where, "database.")
    url = _typed(database, "url", str, where, "database.", DEFAULT_DATABASE_URL)
    tables = {name: _table(data, name, where) for name in SECTIONS}
    for name, section in SECTIONS.items():
        _only(tables[name], set(keys(section)), where, f"{name}.")

    fb, default = tables["feedback"], FeedbackConfig()
    feedback = FeedbackConfig(
        scale=_choice(fb, "scale", SCALES, where, default.scale),
        mode=_choice(fb, "mode", MODES, where, default.mode),
        comment=_typed(fb, "comment", bool, where, "feedback.", default.comment),
        max_comment_length=_positive_int(fb, "max_comment_length", where, "feedback.",
                                         default.max_comment_length),
        reasons_positive=_str_list(fb, "reasons_positive", where, default.reasons_positive),
        reasons_negative=_str_list(fb, "reasons_negative", where, default.reasons_negative),
        training_consent_default=_typed(fb, "training_consent_default", bool, where,
                                        "feedback.", default.training_consent_default),
    )
    chat_t = tables["chat"]
    chat = ChatConfig(window=_positive_int(chat_t, "window", where, "chat.",
                                          ChatConfig.window),
                      allowed_image_hosts=_hosts(chat_t, where))
    access_t = tables["access"]
    access = AccessConfig(
        admins=tuple(a.lower() for a in _str_list(access_t, "admins", where, (), "access.")),
        reviewers=tuple(a.lower() for a in _str_list(access_t, "reviewers", where, (),
                                                     "access.")))
    models = _parse_models(data.get("models"), where)
    out_t = tables["outbox"]
    outbox = OutboxConfig(
        poll=_positive_number(out_t, "poll", where, OutboxConfig.poll),
        backoff=_positive_number(out_t, "backoff", where, OutboxConfig.backoff),
        batch=_positive_int(out_t, "batch", where, "outbox.", OutboxConfig.batch),
        threads=_positive_int(out_t, "threads", where, "outbox.", OutboxConfig.threads),
        lease=_positive_number(out_t, "lease", where, OutboxConfig.lease))
    experiments = parse_experiments(data.get("experiments"), where, [m.name for m in models])
    return Settings(database_url=url, feedback=feedback, chat=chat, access=access, models=models,
                    criteria=parse_criteria(data.get("criteria"), where),
                    arena=_parse_arena(tables["arena"], models, experiments, where),
                    experiments=experiments, outbox=outbox,
                    sinks=parse_sinks(data.get("sinks"), where))


def _parse_arena(table: dict[str, Any], models: tuple[ModelConfig, ...],
                 experiments: tuple[Experiment, ...], where: str) -> ArenaConfig:
    names = _str_list(table, "models", where, ArenaConfig.models, "arena.")
    known = [m.name for m in models]
    for name in names:
        if name in known:
            continue
        if "/" not in name:
            raise ConfigError(f"{where}: 'arena.models' names '{name}', which is not a "
                              f"[[models]] entry ({', '.join(known)}) nor an experiment's "
                              "arm ('experiment/arm')")
        try:
            arm_by_path(name, experiments)
        except ConfigError as exc:
            raise ConfigError(f"{where}: 'arena.models' names '{name}', but {exc}") from None
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: 'arena.models' names a model twice")
    if len(names) == 1:
        raise ConfigError(f"{where}: 'arena.models' needs at least two models, got {names[0]!r}")
    sampling = table.get("sampling", ArenaConfig.sampling)
    if sampling not in SAMPLINGS:
        raise ConfigError(f"{where}: 'arena.sampling' must be one of {', '.join(SAMPLINGS)}; "
                          f"got {sampling!r}")
    return ArenaConfig(models=names, sampling=sampling)


def _parse_models(raw: Any, where: str) -> tuple[ModelConfig, ...]:
    if raw is None:
        return Settings().models
    models: list[ModelConfig] = []
    for index, entry in enumerate(tables(raw, where, "models"), start=1):
        name = entry_name(entry, where, "models", index, "model", [m.name for m in models])
        label = f"model '{name}'"
        backend = entry.get("backend")
        if not isinstance(backend, str) or not backend:
            raise ConfigError(f"{where}: {label}: 'backend' is required (e.g. \"echo\", \"openai\")")
        system_prompt = entry.get("system_prompt")
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ConfigError(f"{where}: {label}: 'system_prompt' must be a string")
        options = {k: v for k, v in entry.items() if k not in {"name", "backend", "system_prompt"}}
        models.append(ModelConfig(name=name, backend=backend, system_prompt=system_prompt,
                                  options=options))
    return tuple(models)


def _hosts(table: dict[str, Any], where: str) -> tuple[str, ...]:
    hosts = _str_list(table, "allowed_image_hosts", where, (), "chat.")
    for host in hosts:
        if normal_host(host) is None:
            raise ConfigError(f"{where}: 'chat.allowed_image_hosts' takes host names like "
                              f"\"images.example.org\", IPv4 addresses or bracketed IPv6 "
                              f"addresses like \"[2001:db8::1]\" (no scheme, port or path); "
                              f"got {host!r}")
    return tuple(str(normal_host(h)) for h in hosts)


def _check_url(url: str) -> str:
    if "://" not in url:
        raise ConfigError(f"database.url: '{url}' is not a database URL "
                          "(e.g. sqlite:///chatfeedback.db or postgresql+psycopg://...)")
    return url


def _only(table: dict[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{prefix}{key}'")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table ([{key}])")
    return value


def _typed(table: dict[str, Any], key: str, kind: type, where: str, prefix: str,
           default: Any) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{where}: '{prefix}{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _positive_int(table: dict[str, Any], key: str, where: str, prefix: str, default: int) -> int:
    value = _typed(table, key, int, where, prefix, default)
    if value <= 0:
        raise ConfigError(f"{where}: '{prefix}{key}' must be a positive integer, got {value}")
    return value


def _positive_number(table: dict[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: 'outbox.{key}' must be a positive number, got {value!r}")
    return float(value)


def _choice(table: dict[str, Any], key: str, choices: tuple[str, ...], where: str,
            default: str) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise ConfigError(f"{where}: 'feedback.{key}' must be one of {', '.join(choices)}; "
                          f"got {value!r}")
    return value


def _str_list(table: dict[str, Any], key: str, where: str, default: tuple[str, ...],
              prefix: str = "feedback.") -> tuple[str, ...]:
    value = table.get(key, default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip()
                                                       for v in value):
        raise ConfigError(f"{where}: '{prefix}{key}' must be a list of non-empty strings")
    return tuple(value)
