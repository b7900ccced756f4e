"""Isolation by default: every test gets its own database (a SQLite file, or a fresh
PostgreSQL database for modules marked ``all_databases``) and settings file."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatfeedback.chat import ChatService
from chatfeedback.config import load_settings
from chatfeedback.store import Store

from .pgcluster import PostgresServer
from .support import write_config

APP = str(Path(__file__).resolve().parents[1] / "src" / "chatfeedback" / "ui" / "app.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``pytestmark = pytest.mark.all_databases`` runs a module's tests that use ``db_url``
    on SQLite and on PostgreSQL (``db_url[sqlite]``, ``db_url[postgresql]``)."""
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
            "all_databases"):
        metafunc.parametrize("db_url", ["sqlite", pytest.param(
            "postgresql", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session: started from the local binaries (fails when
    they are missing), or the one named by $CHATFEEDBACK_TEST_POSTGRES_URL."""
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'feedback.db'}"


@pytest.fixture
def store(db_url: str) -> Store:
    store = Store.open(db_url)
    yield store
    store.close()


@pytest.fixture
def make_service(tmp_path: Path, db_url: str) -> Callable[..., ChatService]:
    def make(config: str = "") -> ChatService:
        path = write_config(tmp_path / "chatfeedback.toml", config)
        return ChatService.open(load_settings(path, db_url, environ={}))
    return make


@pytest.fixture
def make_app(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """An AppTest of the real entry point on this test's database and settings."""
    from streamlit.testing.v1 import AppTest

    def make(config: str = "", query: dict[str, str] | None = None, run: bool = True):
        path = write_config(tmp_path / "chatfeedback.toml", config)
        monkeypatch.setenv("CHATFEEDBACK_CONFIG", str(path))
        monkeypatch.setenv("CHATFEEDBACK_DATABASE_URL", db_url)
        at = AppTest.from_file(APP, default_timeout=30)
        at.user = {"is_logged_in": False}
        for key, value in (query or {}).items():
            at.query_params[key] = value
        return at.run() if run else at
    return make


@pytest.fixture
def openai_server():
    """A real OpenAI-protocol HTTP server on 127.0.0.1 (see tests/openai_server.py)."""
    from .openai_server import OpenAIServer

    with OpenAIServer() as server:
        yield server


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every address a socket of this process connects to during the test (a sink's SDK
    must reach its configured URL only)."""
    seen: list[object] = []
    connect = socket.socket.connect

    def recording(self: socket.socket, address: object) -> None:
        seen.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    yield seen
