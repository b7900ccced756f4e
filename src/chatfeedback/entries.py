"""The ``[[tables]]`` of the settings file ([[models]], [[criteria]], [[experiments]] and
their arms): each entry's name and keys checked the same way, with one-line errors."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .errors import ConfigError


def tables(raw: Any, where: str, table: str) -> list[dict[str, Any]]:
    """``raw`` as one or more ``[[table]]`` tables; ConfigError otherwise."""
    if not isinstance(raw, list) or not raw or not all(isinstance(e, dict) for e in raw):
        raise ConfigError(f"{where}: '{table}' must be one or more [[{table}]] tables")
    return raw


def entry_name(entry: dict[str, Any], where: str, table: str, index: int, noun: str,
               taken: Collection[str]) -> str:
    """The ``name`` of the ``index``-th entry of ``table``: a non-empty string that no
    earlier entry has; ConfigError otherwise."""
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: {table}[{index}].name is required (a non-empty string)")
    if name in taken:
        raise ConfigError(f"{where}: {noun} '{name}' is defined twice")
    return name


def only_keys(entry: dict[str, Any], allowed: Collection[str], label: str) -> None:
    """ConfigError naming the first key of ``entry`` (alphabetically) not ``allowed``."""
    unknown = set(entry) - set(allowed)
    if unknown:
        raise ConfigError(f"{label}: unknown key '{min(unknown)}'")
