"""``chatfeedback init`` and ``chatfeedback config check``: a commented settings file to start
from, and what a settings file resolves to (both drawn by scaffold.py)."""

from __future__ import annotations

import click

from .cli import CONTEXT, config_option, db_option


@click.command(context_settings=CONTEXT)
def init() -> None:
    """Write a commented chatfeedback.toml into the current folder: every setting with its
    default and what it does, and model entries for Ollama, vLLM and OpenAI to uncomment.
    An existing file is never overwritten.

    \b
    Example:
        chatfeedback init && chatfeedback config check && chatfeedback run
    """
    from .scaffold import write_template

    path = write_template()
    click.echo(f"wrote {path}: uncomment a [[models]] entry for a real model, then "
               "`chatfeedback config check` and `chatfeedback run`")


@click.group("config", context_settings=CONTEXT)
def config_group() -> None:
    """Settings files: check one and see what it resolves to.

    \b
    Example:
        chatfeedback config check --config /etc/chatfeedback/chatfeedback.toml
    """


@config_group.command("check", context_settings=CONTEXT)
@config_option
@db_option
def config_check(config: str | None, db: str | None) -> None:
    """Validate a settings file (every key, value and model entry) and print the settings it
    resolves to as TOML, defaults included. Secrets show only as the names of their
    environment variables (api_key_env) or as ***. The database is not opened.

    \b
    Example:
        chatfeedback config check
        chatfeedback config check --config staging.toml --db postgresql+psycopg://db/feedback
    """
    from .scaffold import check

    click.echo(check(config, db), nl=False)
