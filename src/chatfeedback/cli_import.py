"""``chatfeedback import``: conversations in the OpenAI chat format, or arena votes, from
JSON Lines; bad lines reported with their number, the others imported."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

import click

from .cli import CONTEXT, Fail, config_option, db_option, open_store, quiet_option

if TYPE_CHECKING:
    from .progress import Report
    from .store import Store


@click.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--owner", metavar="EMAIL",
              help="With sign-in on: the user whose sidebar lists them (default: nobody's, "
                   "seen only without sign-in).")
@click.option("--votes", is_flag=True,
              help="FILE holds arena votes in LMArena's JSON Lines shape: model_a, model_b, "
                   "winner (model_a, model_b, tie, tie (bothbad)), judge, tstamp, optional "
                   "conversation_a and conversation_b.")
@config_option
@db_option
@quiet_option
def import_(file: str, owner: str | None, votes: bool, config: str | None,
            db: str | None, quiet: bool) -> None:
    """Import conversations from JSON Lines in the OpenAI chat format, one a line:
    {"messages": [{"role": "user", "content": "..."}, ...], "model": "...", "metadata": {}}
    (model and metadata optional). Prints each new conversation id, one a line: open it
    for rating at ?c=<id>. With --votes, FILE holds arena votes instead (docs/arena.md);
    they count in the leaderboard. Bad lines are reported on standard error
    with their number and reason, the others are imported, and the exit code is 1.

    \b
    Example:
        chatfeedback import logs.jsonl --db sqlite:///chatfeedback.db
        cat logs.jsonl | chatfeedback import - --owner rater@example.org
        chatfeedback import --votes arena_votes.jsonl
    """
    from .ids import new_id
    from .importer import import_lines
    from .progress import Report

    store = open_store(config, db)
    report = Report(quiet)
    if votes:
        _import_votes(store, file, report)
        return
    imported = failed = 0
    batch = new_id()
    try:
        with click.open_file(file, "rb") as lines, \
                report.bar("importing", _size(lines), bytes_=True) as progress:
            read = _Measured(lines)
            for outcome in import_lines(store, read, batch=batch,
                                        owner=owner.strip().lower() if owner else None):
                if outcome.error:
                    failed += 1
                    report.line(f"{file}:{outcome.line}: {outcome.error}")
                else:
                    imported += 1
                    click.echo(outcome.conversation_id)
                progress(read.bytes, note=f"{imported:,} conversations")
    except OSError as exc:
        raise Fail(f"cannot read {file}: {exc.strerror}") from None
    report.summary(f"imported {imported} conversations"
                   + (f"; {failed} lines failed" if failed else "")
                   + (f"; import batch {batch} (review them: chatfeedback queue create NAME "
                      f"--batch {batch})" if imported else ""))
    if failed:
        sys.exit(1)


def _import_votes(store: Store, file: str, report: Report) -> None:
    """``import --votes``: one vote a line; bad lines reported, the others imported."""
    from .arena_io import import_votes

    imported = failed = 0
    try:
        with click.open_file(file, "rb") as lines, \
                report.bar("importing", _size(lines), bytes_=True) as progress:
            read = _Measured(lines)
            for outcome in import_votes(store, read):
                if outcome.error:
                    failed += 1
                    report.line(f"{file}:{outcome.line}: {outcome.error}")
                else:
                    imported += 1
                progress(read.bytes, note=f"{imported:,} votes")
    except OSError as exc:
        raise Fail(f"cannot read {file}: {exc.strerror}") from None
    report.summary(f"imported {imported} votes" + (f"; {failed} lines failed" if failed else ""))
    if failed:
        sys.exit(1)


def _size(file: BinaryIO) -> int | None:
    """The size of a regular file (the import's progress is in bytes), else None."""
    try:
        info = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class _Measured:
    """The lines of a binary file, counting the bytes read so far."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines, self.bytes = lines, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.lines:
            self.bytes += len(line)
            yield line
