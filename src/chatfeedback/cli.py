"""The ``chatfeedback`` command's frame: the group, its table of commands (each loaded only
when it is run or listed), the options they share, the one-line failure, the output files.

A command group lives in a ``cli_<group>.py`` module of its own and is one line of
``COMMANDS``. This module imports only click and the error types, and each command module
imports its heavy parts (the Store, scipy, pyarrow) inside its commands, so that ``--help``
and cheap commands such as ``db revision`` load only what they use."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from .errors import ChatfeedbackError, StoreError

if TYPE_CHECKING:
    from .store import Store

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Every command: its name and "module:object" in this package. One line a command group.
COMMANDS: dict[str, str] = {
    "run": "cli_run:run",
    "export": "cli_export:export",
    "import": "cli_import:import_",
    "demo": "cli_demo:demo",
    "db": "cli_db:db",
    "queue": "cli_review:queue",
    "experiments": "cli_experiments:experiments",
    "report": "cli_experiments:report",
    "arena": "cli_arena:arena",
    "init": "cli_setup:init",
    "config": "cli_setup:config_group",
    "sinks": "cli_sinks:sinks",
}


class Fail(click.ClickException):
    """A one-line error and exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class Commands(click.Group):
    """The top group. Its commands come from ``COMMANDS`` and are imported when they are
    asked for (click's "lazily loading subcommands" pattern). It turns every
    ChatfeedbackError, wherever a command raises it (or a generator it iterates), into the
    one-line failure and exit code 2; a database error names the database the command
    opened. A driver error that escaped the Store's wrapper (a bug) is that one line too,
    never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, name = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"COMMANDS[{cmd_name!r}] is not the command {cmd_name!r}")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise Fail(_naming_database(ctx, str(exc))) from None
        except ChatfeedbackError as exc:
            raise Fail(str(exc)) from None
        except Exception as exc:
            from .store.errors import database_error, is_driver_error

            if not is_driver_error(exc):
                raise
            raise Fail(_naming_database(ctx, str(database_error(exc)))) from None


def _naming_database(ctx: click.Context, message: str) -> str:
    """``message`` with the database it is about, when a command opened one (passwords
    hidden) and the message does not name it yet."""
    url = ctx.meta.get(_DATABASE)
    if url is None or url in message:
        return message
    if message.startswith("database error: "):
        return f"database error on {url}: {message.removeprefix('database error: ')}"
    return f"{message} (database {url})"


_DATABASE = "chatfeedback.database"  # the URL of the database a command opened


def open_store(config: str | None, db: str | None, *, upgrade: bool = True) -> Store:
    """The command's Store (migrated unless ``upgrade`` is False); its errors name it."""
    from .config import load_settings

    return open_database(load_settings(config, db).database_url, upgrade=upgrade)


def open_database(url: str, *, upgrade: bool = True) -> Store:
    """:meth:`Store.open` for a command: a database error it raises names the database."""
    from .store import Store
    from .store.engine import make_engine

    store = Store(make_engine(url))
    click.get_current_context().meta[_DATABASE] = store.url
    if upgrade:
        store.upgrade()
    return store


config_option = click.option("--config", "config", type=click.Path(dir_okay=False),
                             help="Settings file (default: ./chatfeedback.toml if present).")
db_option = click.option("--db", "db", metavar="URL",
                         help="Database URL, e.g. sqlite:///chatfeedback.db.")
quiet_option = click.option("-q", "--quiet", is_flag=True,
                            help="No progress bar and no summary line (errors still show).")


@click.group(cls=Commands, context_settings=CONTEXT)
@click.version_option(package_name="chatfeedback")
def main() -> None:
    """Chat with your LLM and rate every answer; export the ratings.

    \b
    Example:
        chatfeedback run --port 8501
        chatfeedback export --format jsonl -o ratings.jsonl
        chatfeedback import logs.jsonl
    """


def day(value: str | None) -> date | None:
    """A YYYY-MM-DD option value (None stays None); else the one-line error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Fail(f"'{value}' is not a date (use YYYY-MM-DD)") from None


def moment(value: str, zone: tzinfo | None = None, *, through: bool = False) -> datetime:
    """A date or a date and time option value as an aware time: one that names no zone is
    in ``zone`` (default: this machine's local time). ``through``: a plain date means the
    end of that day, so that a bound before it includes the day. Else the one-line error."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Fail(f"'{value}' is not a date or time (use YYYY-MM-DD or "
                   "YYYY-MM-DDTHH:MM)") from None
    if through:
        try:
            date.fromisoformat(value)
            parsed += timedelta(days=1)
        except ValueError:
            pass  # a date and time: the bound itself
    return parsed if parsed.tzinfo else parsed.replace(
        tzinfo=zone or datetime.now().astimezone().tzinfo)


@contextmanager
def open_output(path: str) -> Iterator[TextIO]:
    """Standard output for "-", else a text file written as :func:`replacing` says."""
    if path == "-":
        yield sys.stdout
        return
    with replacing(path) as partial:
        try:
            file = open(partial, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise Fail(f"cannot write {path}: {exc.strerror}") from None
        with file:
            yield file


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A name to write ``path``'s new content to: a hidden file beside it that becomes
    ``path`` only when the block ends normally and is removed when it fails, so that an
    export cut short (a database failure, Ctrl-C) never leaves a file that looks complete
    (an older file at ``path`` stays as it was). Devices and pipes are written directly."""
    target = Path(path)
    if target.exists() and not target.is_file():
        yield path
        return
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                       dir=target.parent)
    except OSError as exc:
        raise Fail(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # as open() would have made it
    try:
        yield partial
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    os.replace(partial, target)
