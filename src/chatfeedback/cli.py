"""The ``chatfeedback`` command: run the app, export ratings, manage the database."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from .chat import ChatService
from .config import Settings, load_settings
from .errors import ChatfeedbackError, StoreError
from .export.private import Privacy
from .export.registry import FORMATS as EXPORTS
from .export.registry import write as write_export
from .ids import new_id
from .importer import import_lines
from .progress import Report
from .store import Store
from .store.engine import make_engine
from .store.errors import database_error, is_driver_error
from .store.filters import Filters

UI_ENTRY = Path(__file__).with_name("ui") / "app.py"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Fail(click.ClickException):
    """A one-line error and exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class Commands(click.Group):
    """The command group that turns every ChatfeedbackError, wherever a command raises it
    (or a generator it iterates), into the one-line failure and exit code 2; a database
    error names the database the command opened. A driver error that escaped the Store's
    wrapper (a bug) is that one line too, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise Fail(_naming_database(ctx, str(exc))) from None
        except ChatfeedbackError as exc:
            raise Fail(str(exc)) from None
        except Exception as exc:
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
    return open_database(load_settings(config, db).database_url, upgrade=upgrade)


def open_database(url: str, *, upgrade: bool = True) -> Store:
    """:meth:`Store.open` for a command: a database error it raises names the database."""
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


@main.command(context_settings=CONTEXT)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for all).")
@click.option("--secrets", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Streamlit secrets file; an [auth] section in it turns sign-in on "
                   "(default: .streamlit/secrets.toml in the current folder, then next to "
                   "the config file).")
@config_option
@db_option
def run(port: int, host: str, secrets: str | None, config: str | None, db: str | None) -> None:
    """Start the web app (headless; prints the URL).

    \b
    Example:
        chatfeedback run --port 8501 --db sqlite:///feedback.db
        chatfeedback run --secrets /etc/chatfeedback/secrets.toml
    """
    settings = load_settings(config, db)
    secret_files = secrets_files(secrets, settings)
    sign_in = check_sign_in(secret_files)
    service = ChatService.open(settings)  # checks models and the database first
    service.store.close()
    _check_port(host, port)
    from .ui.internals import check  # here only: the other commands need no Streamlit
    warning = check()
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    env = dict(os.environ, CHATFEEDBACK_DATABASE_URL=settings.database_url)
    if settings.source:
        env["CHATFEEDBACK_CONFIG"] = settings.source
    command = [sys.executable, "-m", "streamlit", "run", str(UI_ENTRY),
               "--server.headless", "true", "--server.port", str(port),
               "--server.address", host, "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
               # no full collection after every run: its cost grows with the sessions
               # connected (see ui/heap.py); Python's own collections keep memory bounded
               "--runner.postScriptGC", "false"]
    for path in secret_files:
        command += ["--secrets.files", str(path)]
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo(f"chatfeedback is running at http://{shown}:{port}/ (database: "
               f"{service.store.url}; {sign_in})")
    sys.stdout.flush()
    os.execve(sys.executable, command, env) if os.name == "posix" else \
        sys.exit(subprocess.call(command, env=env))


def secrets_files(explicit: str | None, settings: Settings) -> list[Path]:
    """The Streamlit secrets files the app reads: ``--secrets``, or those that exist of
    ~/.streamlit/secrets.toml, ./.streamlit/secrets.toml and <config folder>/.streamlit/
    secrets.toml (later ones win)."""
    if explicit:
        return [Path(explicit).resolve()]
    candidates = [Path.home() / ".streamlit" / "secrets.toml",
                  Path.cwd() / ".streamlit" / "secrets.toml"]
    if settings.source:
        candidates.append(Path(settings.source).parent / ".streamlit" / "secrets.toml")
    found: list[Path] = []
    for path in candidates:
        if path.is_file() and path.resolve() not in found:
            found.append(path.resolve())
    return found


def check_sign_in(files: list[Path]) -> str:
    """Check an ``[auth]`` section before the server starts; one line says what is on."""
    auth: dict[str, Any] = {}
    source = None
    for path in files:
        try:
            with path.open("rb") as fh:
                section = tomllib.load(fh).get("auth")
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise Fail(f"{path}: cannot read secrets file ({exc})") from None
        if isinstance(section, dict):
            auth, source = section, path
    if not auth:
        return "sign-in off: one anonymous user"
    missing = [k for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
    if missing:
        raise Fail(f"{source}: [auth] needs {' and '.join(missing)} for sign-in")
    try:
        import authlib  # noqa: F401 - st.login needs it
    except ImportError:
        raise Fail(f"{source} turns sign-in on, which needs Authlib: "
                   "pip install 'chatfeedback[auth]'") from None
    return f"sign-in on: {source}"


def _check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise Fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _date(value: str | None, *, through: bool = False) -> datetime | None:
    """A --since/--until value as an instant (local time unless it says otherwise).
    ``through``: a plain date means the end of that day, so that it is included."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (use YYYY-MM-DD)") from None
    if through and _is_day(value):
        parsed += timedelta(days=1)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@main.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(list(EXPORTS)), default="jsonl",
              show_default=True,
              help="jsonl, csv, parquet: one row per rated answer. kto, dpo, sft: training "
                   "data (conversations with training consent only). events: the audit "
                   "trail. votes: arena votes in LMArena's JSON Lines shape. reviews: one row per "
                   "review judgement. gold: adjudicated or unanimous review values.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: standard output).")
@click.option("--since", help="Only ratings given on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only ratings given on or before this date (YYYY-MM-DD; a "
              "date and time, e.g. 2026-11-02T12:00, is a bound that is not included).")
@click.option("--model", help="Only answers from this model.")
@click.option("--experiment", help="Only conversations of this experiment.")
@click.option("--arm", help="Only conversations assigned to this arm.")
@click.option("--redact", is_flag=True, help="Replace e-mail addresses, phone numbers, card "
              "numbers, IBANs, IP addresses and API keys in every text field by [EMAIL], "
              "[PHONE], [CARD], [IBAN], [IP], [KEY]; counts go to standard error.")
@click.option("--hash-raters", is_flag=True, help="Replace rater identities (e-mails, session "
              "ids) by an HMAC-SHA256 pseudonym.")
@click.option("--hash-salt", metavar="SECRET", help="The key of --hash-raters: the same key "
              "gives the same pseudonyms in every export (default: a random one per export).")
@config_option
@db_option
@quiet_option
def export(fmt: str, output: str, since: str | None, until: str | None, model: str | None,
           experiment: str | None, arm: str | None, redact: bool, hash_raters: bool,
           hash_salt: str | None, config: str | None, db: str | None, quiet: bool) -> None:
    """Export ratings, one row per rated answer, as training data, or every rating event.

    Streamed in constant memory; a summary goes to standard error.

    \b
    Example:
        chatfeedback export --format csv -o ratings.csv
        chatfeedback export --format parquet -o ratings.parquet --since 2026-11-01
        chatfeedback export --format kto -o kto.jsonl --model gpt-4o-mini
        chatfeedback export --format csv --experiment prompt-v2 -o prompt-v2.csv
        chatfeedback export --format events | head
        chatfeedback export --format dpo --redact --hash-raters -o dpo.jsonl
    """
    if hash_salt is not None and not hash_raters:
        raise Fail("--hash-salt is the key of --hash-raters: add --hash-raters")
    privacy = Privacy(redact=redact, hash_raters=hash_raters, salt=hash_salt)
    store = open_store(config, db)
    window = Filters(since=_date(since), until=_date(until, through=True), model=model,
                     experiment=experiment, arm=arm)
    report = Report(quiet)
    spec = EXPORTS[fmt]
    if spec.binary and output == "-" and sys.stdout.isatty():
        raise Fail(f"{spec.name.capitalize()} is binary: write it to a file with -o FILE")
    with report.bar("exporting", unit=f" {spec.unit}") as progress:
        if not spec.binary:
            with _open_output(output) as out:
                lines = write_export(spec, store, out, window, progress, privacy)
        elif output == "-":
            lines = write_export(spec, store, sys.stdout.buffer, window, progress, privacy)
        else:
            with _replacing(output) as path:
                try:
                    lines = write_export(spec, store, path, window, progress, privacy)
                except OSError as exc:
                    raise Fail(f"cannot write {output}: {exc.strerror or exc}") from None
    for line in lines:
        report.summary(line)


@main.command(context_settings=CONTEXT)
@click.option("--responses", "-n", type=click.IntRange(1), default=10_000, show_default=True,
              help="How many answers to create.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed: the same seed (and day) gives the same data.")
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True,
              help="Spread the conversations over this many weeks, ending today.")
@click.option("--rated-share", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Share of shown answers that get a rating.")
@click.option("--experiment", is_flag=True,
              help="Instead: a randomized experiment 'demo-concise' (two arms, lenient and "
                   "harsh raters) with a known true difference; --responses rated answers.")
@click.option("--people", type=click.IntRange(2), default=None,
              help="With --experiment: how many people (default: one per ten ratings).")
@click.option("--effect", type=click.FloatRange(-10, 10), default=4.0, show_default=True,
              help="With --experiment: the true difference in points (concise - control).")
@config_option
@db_option
@quiet_option
def demo(responses: int, seed: int, weeks: int, rated_share: float, experiment: bool,
         people: int | None, effect: float, config: str | None, db: str | None,
         quiet: bool) -> None:
    """Fill the database with realistic synthetic conversations and ratings.

    Several models and system prompts over several weeks; thumbs, faces and stars ratings
    with comments and reason tags; regenerated answers; a mix of training consent.
    With --experiment, a randomized experiment whose true difference is known instead.

    \b
    Example:
        chatfeedback demo --responses 100000 --db sqlite:///demo.db
        chatfeedback demo --experiment --responses 50000 --db sqlite:///demo.db
        chatfeedback run --db sqlite:///demo.db    # then open the Dashboard
    """
    from . import demo as demo_data

    store = open_store(config, db)
    report = Report(quiet)
    started = time.perf_counter()
    if experiment:
        from .demo_experiment import fill_experiment

        with report.bar("creating", responses, unit=" ratings") as progress:
            made = fill_experiment(store, responses, people=people, effect=effect / 100,
                                   seed=seed, weeks=weeks, progress=progress)
        report.summary(f"created experiment {made.name}: {made.ratings:,} ratings from "
                       f"{made.people:,} people in {made.conversations:,} conversations in "
                       f"{time.perf_counter() - started:.1f} s; true difference "
                       f"{made.true_difference * 100:+.1f} points (concise - control). See: "
                       f"chatfeedback report --experiment {made.name}")
        return
    with report.bar("creating", responses, unit=" answers") as progress:
        result = demo_data.fill(store, responses, seed=seed, weeks=weeks,
                                rated_share=rated_share, progress=progress)
    report.summary(f"created {result.answers:,} answers in {result.conversations:,} conversations, "
               f"{result.rated:,} ratings ({result.rows:,} rows) in "
               f"{time.perf_counter() - started:.1f} s (generate and insert "
               f"{result.timing.load_seconds:.1f} s, indexes {result.timing.index_seconds:.1f} s, "
               f"running totals {result.timing.totals_seconds:.1f} s); database: {store.url}")


@main.command("import", context_settings=CONTEXT)
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


@contextmanager
def _open_output(path: str) -> Iterator[TextIO]:
    """Standard output for "-", else a text file written as :func:`_replacing` says."""
    if path == "-":
        yield sys.stdout
        return
    with _replacing(path) as partial:
        try:
            file = open(partial, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise Fail(f"cannot write {path}: {exc.strerror}") from None
        with file:
            yield file


@contextmanager
def _replacing(path: str) -> Iterator[str]:
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


@main.group(context_settings=CONTEXT)
def db() -> None:
    """Database schema: upgrade and inspect.

    \b
    Example:
        chatfeedback db upgrade --db postgresql+psycopg://user@host/feedback
    """


@db.command(context_settings=CONTEXT)
@config_option
@db_option
@quiet_option
def upgrade(config: str | None, db: str | None, quiet: bool) -> None:
    """Apply all migrations (run at start-up too).

    \b
    Example:
        chatfeedback db upgrade --db sqlite:///chatfeedback.db
    """
    store = Store.open(load_settings(config, db).database_url, upgrade=False)
    report = Report(quiet)
    with report.bar("migrating", unit=" migrations") as progress:
        store.upgrade(progress=progress)
    report.summary(f"{store.url} is at revision {store.revision()}", err=False)


@db.command(context_settings=CONTEXT)
@config_option
@db_option
def revision(config: str | None, db: str | None) -> None:
    """Show the schema revision of the database and of this version of chatfeedback.

    \b
    Example:
        chatfeedback db revision
    """
    store = open_store(config, db, upgrade=False)
    click.echo(f"database: {store.revision() or 'empty'}; latest: {Store.head()}")


@db.command("rebuild-stats", context_settings=CONTEXT)
@config_option
@db_option
@quiet_option
def rebuild_stats(config: str | None, db: str | None, quiet: bool) -> None:
    """Recompute the dashboard's running totals from the ratings and answers.

    Only needed after rows were written by other means than chatfeedback.

    \b
    Example:
        chatfeedback db rebuild-stats --db sqlite:///chatfeedback.db
    """
    store = open_store(config, db)
    report = Report(quiet)
    with report.bar("rebuilding", unit=" steps") as progress:
        store.rebuild_stats(progress=progress)
    report.summary(f"rebuilt the running totals of {store.url}", err=False)


def _add_commands() -> None:
    # they build on this module's options and helpers
    from .cli_arena import arena
    from .cli_experiments import experiments, report
    from .cli_review import queue
    from .cli_setup import config_group, init

    main.add_command(queue)
    main.add_command(experiments)
    main.add_command(report)
    main.add_command(arena)
    main.add_command(init)
    main.add_command(config_group)


_add_commands()
