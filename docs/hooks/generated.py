"""MkDocs hook: the reference pages that are generated, never copied by hand.

A page holds a marker line; the hook replaces it while the site is built:

* ``<!-- generated: cli -->``: every ``chatfeedback`` command's ``--help``, walked from the
  click group itself (lazily loaded groups included), so the reference is what the installed
  code prints;
* ``<!-- generated: config -->``: every settings section and key with its type, default and
  one line of help, read from config.py's dataclasses, then the backends' option tables and
  the commented file ``chatfeedback init`` writes (scaffold.py).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from typing import Any

import click

CLI_MARKER = "<!-- generated: cli -->"
CLI_SUMMARY_MARKER = "<!-- generated: cli-summary -->"
CONFIG_MARKER = "<!-- generated: config -->"
WIDTH = 100


def commands(group: click.Command, name: str = "chatfeedback",
             parent: click.Context | None = None) -> Iterator[tuple[str, click.Context]]:
    """Every command under ``group`` (itself first), depth first, with its context."""
    settings = {**group.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    ctx = click.Context(group, info_name=name, parent=parent, **settings)
    yield ctx.command_path, ctx
    if isinstance(group, click.Group):
        for sub in group.list_commands(ctx):
            command = group.get_command(ctx, sub)
            if command is not None and not command.hidden:
                yield from commands(command, sub, ctx)


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def _found() -> list[tuple[str, click.Context]]:
    from chatfeedback.cli import main

    return list(commands(main))


def cli_summary(page: str = "reference/cli.md") -> str:
    """A table of every command (groups left out: their commands are listed) linking to its
    help on ``page`` (relative to the page the table is on; empty: the same page)."""
    out = ["| command | what it does |", "| --- | --- |"]
    for path, ctx in _found()[1:]:
        if isinstance(ctx.command, click.Group):
            continue
        summary = _cell(ctx.command.get_short_help_str(limit=300))
        out.append(f"| [`{path}`]({page}#{_anchor(path)}) | {summary} |")
    return "\n".join(out)


def cli_reference() -> str:
    found = _found()
    out = [cli_summary("")]
    for path, ctx in found:
        out += ["", f"## {path} {{#{_anchor(path)}}}", "", "```text",
                ctx.command.get_help(ctx).rstrip(), "```"]
    return "\n".join(out)


def _type(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        return f"list of {_type(typing.get_args(hint)[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in typing.get_args(hint) if a is not type(None))
    return {str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def config_reference() -> str:
    from chatfeedback.backends.registry import available_backends, backend_class
    from chatfeedback.config import SECTIONS
    from chatfeedback.scaffold import DATABASE_HELP, template

    out = ["## `[database]`", "", "| key | type | default | what it does |",
           "| --- | --- | --- | --- |",
           f"| `url` | string | `{toml_value(_default_url())}` | {_cell(DATABASE_HELP)} |"]
    for name, section in SECTIONS.items():
        hints = typing.get_type_hints(section)
        out += ["", f"## `[{name}]`", "", "| key | type | default | what it does |",
                "| --- | --- | --- | --- |"]
        for f in dataclasses.fields(section):
            out.append(f"| `{f.name}` | {_type(hints[f.name])} | `{toml_value(f.default)}` "
                       f"| {_cell(f.metadata['help'])} |")
    out += ["", "## `[[models]]`", "",
            ("Every entry has `name` (shown in the app, stored with each answer), `backend` "
             "and optionally `system_prompt`; the other keys belong to the backend:")]
    for backend in available_backends():
        cls = backend_class(backend)
        required = set(getattr(cls, "required", ()))
        out += ["", f"### backend `{backend}`", "", "| key | type | required |",
                "| --- | --- | --- |"]
        for key, kind in cls.options.items():
            given = kind if isinstance(kind, tuple) else (kind,)
            kinds = [k for k in given if not (k is int and float in given)]  # int is a number
            out.append(f"| `{key}` | {' or '.join(_type(k) for k in kinds)} "
                       f"| {'yes' if key in required else 'no'} |")
    out += _sinks()
    out += ["", "## The file `chatfeedback init` writes", "",
            ("Every section and key above, commented out at its default, with model, review "
             "and experiment entries to uncomment:"), "", "```toml", template().rstrip(), "```"]
    return "\n".join(out)


def _sinks() -> list[str]:
    """``[[sinks]]``: the keys every sink has (SinkSettings' fields); the other keys of an
    entry belong to its kind."""
    try:
        from chatfeedback.outbox.base import KINDS, SinkSettings
    except ImportError:  # a version without the outbox
        return []
    hints = typing.get_type_hints(SinkSettings)
    out = ["", "## `[[sinks]]`", "",
           (f"Where rating events are delivered (kinds: {', '.join(f'`{k}`' for k in KINDS)})."
            " Every entry has these keys; any other key belongs to its kind:"), "",
           "| key | type | default | what it does |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(SinkSettings):
        if f.name == "options":
            continue
        default = ("required" if f.default is dataclasses.MISSING else
                   "none" if f.default is None else f"`{toml_value(f.default)}`")
        out.append(f"| `{f.name}` | {_type(hints[f.name])} | {default} "
                   f"| {_cell(f.metadata.get('help', ''))} |")
    return out + _sink_kinds()


def _sink_kinds() -> list[str]:
    """Each sink kind's own keys (its class's ``options``: key -> type, ``required``)."""
    from importlib import import_module

    from chatfeedback.outbox.registry import KINDS

    out: list[str] = []
    for kind, (module, name) in KINDS.items():
        try:
            cls = getattr(import_module(module), name)
        except ImportError:  # the 'sinks' extra is not installed where the site is built
            continue
        options = getattr(cls, "options", {})
        if not options:
            out += ["", f"### kind `{kind}`", "", "No keys of its own."]
            continue
        required = set(getattr(cls, "required", ()))
        out += ["", f"### kind `{kind}`", "", "| key | type | required |", "| --- | --- | --- |"]
        out += [f"| `{key}` | {_type(kind_of)} | {'yes' if key in required else 'no'} |"
                for key, kind_of in options.items()]
    return out


def _default_url() -> str:
    from chatfeedback.config import DEFAULT_DATABASE_URL

    return DEFAULT_DATABASE_URL


def toml_value(value: Any) -> str:
    from chatfeedback.scaffold import toml_value as written

    return written(value)


GENERATORS = {CLI_MARKER: cli_reference, CLI_SUMMARY_MARKER: cli_summary,
              CONFIG_MARKER: config_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in GENERATORS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
