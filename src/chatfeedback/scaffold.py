"""The settings file ``chatfeedback init`` writes, and what a settings file resolves to.

Both are drawn from config.py's dataclasses (every key, its default and its one line of
help) and from the backends' own option tables, so neither can drift from what
:func:`chatfeedback.config.load_settings` accepts.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import fields
from importlib.metadata import version
from typing import Any

from .backends.registry import backend_class, validate_models
from .config import DEFAULT_CONFIG_FILE, DEFAULT_DATABASE_URL, SECTIONS, Settings, load_settings
from .errors import ConfigError
from .experiments import UNITS
from .outbox.base import KINDS as SINK_KINDS
from .outbox.base import SinkSettings
from .outbox.registry import build_all
from .rubric import DEFAULT_CRITERIA, KINDS, LEVELS
from .store.engine import public_url

DATABASE_HELP = ("where conversations and ratings are kept: sqlite:///FILE or "
                 "postgresql+psycopg://user@host/db")
MASK = "***"
# Ready-to-uncomment model entries: (comment lines, keys).
MODEL_EXAMPLES: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("Ollama on this machine, no key needed (first: ollama pull llama3.2)",),
     {"name": "llama", "backend": "openai", "base_url": "http://localhost:11434/v1",
      "model": "llama3.2"}),
    (("vLLM (vllm serve Qwen/Qwen2.5-7B-Instruct --api-key $VLLM_KEY)",),
     {"name": "qwen", "backend": "openai", "base_url": "http://localhost:8000/v1",
      "model": "Qwen/Qwen2.5-7B-Instruct", "api_key_env": "VLLM_KEY",
      "extra_body": {"top_k": 40}}),
    (("OpenAI (export OPENAI_API_KEY=sk-... first; api_key_env is the variable's NAME,",
      "never the key)"),
     {"name": "gpt", "backend": "openai", "base_url": "https://api.openai.com/v1",
      "model": "gpt-4o-mini", "api_key_env": "OPENAI_API_KEY",
      "system_prompt": "You are a helpful assistant.", "max_completion_tokens": 1024}),
)


SINK_EXAMPLE: dict[str, Any] = {
    "name": "hooks", "kind": "webhook", "url": "https://hooks.example.org/feedback",
    "secret_env": "FEEDBACK_WEBHOOK_SECRET", "timeout": 10.0, "max_tries": 12,
    "redact": False}


EXPERIMENT_EXAMPLE: dict[str, Any] = {
    "name": "concise", "unit": "user", "blind": False,
    "arms": [{"name": "control", "model": "echo", "weight": 1},
             {"name": "concise", "model": "echo", "weight": 1,
              "system_prompt": "Answer in at most three sentences.",
              "settings": {"delay": 0.01}}]}


def toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def toml_value(value: Any) -> str:
    """``value`` (str, bool, int, float, list, tuple or dict) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _entry(keys: dict[str, Any], prefix: str = "", table: str = "models") -> list[str]:
    return [f"{prefix}[[{table}]]"] + [f"{prefix}{toml_key(k)} = {toml_value(v)}"
                                       for k, v in keys.items()]


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 88, initial_indent="# ", subsequent_indent="# ")


def template() -> str:
    """A commented settings file: every section and key with its default (commented out)
    and one line of help, and model entries to uncomment."""
    lines = [
        *_comment(f"chatfeedback settings, written by `chatfeedback init` (chatfeedback "
                  f"{version('chatfeedback')}). Every key is optional: a commented-out key "
                  "shows its default; uncomment it to change it. Check this file with "
                  "`chatfeedback config check`, then start the app with `chatfeedback run`."),
        "",
        "[database]",
        *_comment(f"{DATABASE_HELP} (CHATFEEDBACK_DATABASE_URL and --db override it)"),
        f"# url = {toml_value(DEFAULT_DATABASE_URL)}",
    ]
    for name, section in SECTIONS.items():
        lines += ["", f"[{name}]"]
        for f in fields(section):
            lines += [f"# {f.metadata['help']}", f"# {f.name} = {toml_value(f.default)}"]
    echo = Settings().models[0]
    lines += [
        "",
        *_comment("Models: each [[models]] entry is one model. The first one answers by "
                  "default; with several, the sidebar has a picker. Without any entry, the "
                  "built-in echo model answers (it repeats the prompt), as if this entry "
                  "were uncommented:"),
        *_entry({"name": echo.name, "backend": echo.backend, **echo.options}, "# "),
        "#",
        *_comment("To chat with a real model, uncomment one of these (every line of it) and "
                  "adjust it. Any server that speaks OpenAI's chat-completions protocol works "
                  'with backend = "openai". Every entry may also have system_prompt (sent '
                  "first, stored with each answer)."),
        *_comment("The openai backend's other keys (docs/models.md): " + ", ".join(
            k for k in backend_class("openai").options
            if k not in ("base_url", "model", "api_key_env")) + "."),
    ]
    for comments, keys in MODEL_EXAMPLES:
        lines += ["", *(f"# {c}" for c in comments), *_entry(keys, "# ")]
    levels = sorted({level for kind in LEVELS.values() for level in kind})
    lines += ["", *_comment(
        "Review: the criteria reviewers judge an answer by, one [[criteria]] entry each, with "
        f"name, kind ({' | '.join(KINDS)}; a scale is 1-5), description, options (the list "
        f"a choice offers) and level ({' | '.join(levels)}: how agreement between "
        "reviewers is measured). Without any entry, this one criterion:")]
    for criterion in DEFAULT_CRITERIA:
        lines += _entry(criterion, "# ", "criteria")
    lines += ["", *_comment(
        "Experiments (none by default): an [[experiments]] entry splits new conversations "
        "between arms while it runs (`chatfeedback experiments start NAME`). Keys: name; "
        f"unit ({' | '.join(UNITS)}: who keeps the same arm); blind (hide the model's name); "
        "arms, each with name, model (a [[models]] name), weight, and optionally "
        "system_prompt and settings (over the model entry's own). For example:"),
        *_entry(EXPERIMENT_EXAMPLE, "# ", "experiments")]
    lines += ["", *_comment(
        "Sinks (none by default): each [[sinks]] entry receives every rating, vote and "
        f"judgement as it happens ({' | '.join(SINK_KINDS)}; docs: Sinks). Keys: "
        f"{', '.join(f.name for f in fields(SinkSettings) if f.name != 'options')}, and "
        "the kind's own. secret_env is the NAME of the variable holding the secret. "
        "For example:"),
        *_entry(SINK_EXAMPLE, "# ", "sinks")]
    return "\n".join(lines) + "\n"


def write_template(folder: str = ".") -> str:
    """Write :func:`template` as ``chatfeedback.toml`` in ``folder``; return its path.
    ConfigError when the file exists (it is never overwritten)."""
    from pathlib import Path

    path = Path(folder) / DEFAULT_CONFIG_FILE
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(template())
    except FileExistsError:
        raise ConfigError(f"{path} already exists: not overwritten (edit it, or move it "
                          "away and run init again)") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    return str(path)


def describe(settings: Settings, origin: str) -> str:
    """The settings as TOML, every key resolved (defaults included); secrets appear only as
    the names of their environment variables (``api_key_env``) or as ``***`` (header
    values, a database password). ``origin`` says where they came from."""
    lines = [f"# {origin}", "", "[database]",
             f"url = {toml_value(public_url(settings.database_url))}"]
    for name in SECTIONS:
        lines += ["", f"[{name}]"]
        values = getattr(settings, name)
        lines += [f"{f.name} = {toml_value(getattr(values, f.name))}"
                  for f in fields(values)]
    for model in settings.models:
        secret = backend_class(model.backend).secret_options
        keys: dict[str, Any] = {"name": model.name, "backend": model.backend}
        if model.system_prompt is not None:
            keys["system_prompt"] = model.system_prompt
        for key, value in model.options.items():
            keys[key] = _masked(value) if key in secret else value
        lines += ["", *_entry(keys)]
    for criterion in settings.criteria:
        lines += ["", *_entry(criterion.as_dict(), table="criteria")]
    for experiment in settings.experiments:
        arms = [{"name": a.name, "model": a.model, "weight": a.weight,
                 **({"system_prompt": a.system_prompt} if a.system_prompt is not None else {}),
                 **({"settings": a.settings} if a.settings else {})} for a in experiment.arms]
        lines += ["", *_entry({"name": experiment.name, "unit": experiment.unit,
                               "blind": experiment.blind, "arms": arms}, table="experiments")]
    for sink in settings.sinks:
        keys = {f.name: getattr(sink, f.name) for f in fields(sink) if f.name != "options"}
        if keys["secret_env"] is None:
            del keys["secret_env"]
        for key, value in sink.options.items():  # headers' values may be secrets
            keys[key] = _masked(value) if key == "headers" else value
        lines += ["", *_entry(keys, table="sinks")]
    return "\n".join(lines) + "\n"


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK for k in value}
    return MASK


def check(config_file: str | None = None, database_url: str | None = None,
          environ: Mapping[str, str] | None = None) -> str:
    """Load and validate the settings (as ``chatfeedback run`` would, without opening the
    database) and :func:`describe` them; ConfigError says what is wrong."""
    env = os.environ if environ is None else environ
    settings = load_settings(config_file, database_url, dict(env))
    validate_models(settings)
    for sink in build_all(settings.sinks):  # e.g. an unset secret_env variable
        sink.close()
    public_url(settings.database_url)
    origin = (f"{settings.source}: valid." if settings.source else
              f"No settings file (no ./{DEFAULT_CONFIG_FILE}, no CHATFEEDBACK_CONFIG): the "
              "built-in defaults.")
    if database_url:
        origin += " The database is the one --db names."
    elif env.get("CHATFEEDBACK_DATABASE_URL"):
        origin += " The database is the one CHATFEEDBACK_DATABASE_URL names."
    return describe(settings, origin + " The settings it resolves to:")
