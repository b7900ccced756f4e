"""Isolation by default: every test gets its own SQLite file and settings file."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from chatfeedback.config import load_settings
from chatfeedback.chat import ChatService
from chatfeedback.store import Store

from .support import write_config

APP = str(Path(__file__).resolve().parents[1] / "src" / "chatfeedback" / "ui" / "app.py")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
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
