"""``chatfeedback run``: check the settings, the sign-in secrets and the port, then become
``streamlit run`` on the app (with ``[[sinks]]``, in a process that runs the delivery
worker too: ui/serve.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import CONTEXT, Fail, config_option, db_option

if TYPE_CHECKING:
    from .config import Settings

UI_ENTRY = Path(__file__).with_name("ui") / "app.py"


@click.command(context_settings=CONTEXT)
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
    from .chat import ChatService
    from .config import load_settings

    settings = load_settings(config, db)
    secret_files = secrets_files(secrets, settings)
    sign_in = check_sign_in(secret_files)
    service = ChatService.open(settings)  # checks models and the database first
    service.store.close()
    if settings.sinks:  # each sink built once: a bad entry or unset secret stops here
        from .outbox.registry import build_all

        for sink in build_all(settings.sinks):
            sink.close()
    _check_port(host, port)
    from .ui.internals import check  # here only: the other commands need no Streamlit
    warning = check()
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    env = dict(os.environ, CHATFEEDBACK_DATABASE_URL=settings.database_url)
    if settings.source:
        env["CHATFEEDBACK_CONFIG"] = settings.source
    # with sinks, the same Streamlit command in a process that delivers too (ui/serve.py)
    launcher = "chatfeedback.ui.serve" if settings.sinks else "streamlit"
    command = [sys.executable, "-m", launcher, "run", str(UI_ENTRY),
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
