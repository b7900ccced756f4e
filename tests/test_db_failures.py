"""A database that fails while a command runs: one line naming the database, exit code 2,
and no output file left looking complete. PostgreSQL is stopped for real (a cluster of this
module's own, started again after each test); a SQLite file is cut short under the command.

Each command is a real ``chatfeedback`` process. To fail it at a known point without racing
it, the test waits for an event: the command blocked on a lock the test holds (its first
query), or its partial output holding bytes, at which moment the process is paused
(SIGSTOP) while the database goes away, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatfeedback import demo
from chatfeedback.store import Store

from .pgcluster import PostgresCluster
from .support import VENV_BIN, wait_until

APP = "cf-under-test"  # the application_name of the command's connections
CEILING = 120.0        # seconds: generous, for a loaded machine
PROGRESSIVE = ["jsonl", "csv", "kto", "dpo", "sft"]  # write rows as they read them


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def filled(cluster: PostgresCluster) -> str:
    """A database with 30,000 demo answers (enough that no export finishes at once)."""
    admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE filled")
    admin.dispose()
    store = Store.open(cluster.url("filled"))
    demo.fill(store, 30_000, seed=7)
    store.close()
    return cluster.url("filled")


@pytest.fixture
def up(cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    """The cluster, running at the start of the test and again after it."""
    if not cluster.running():
        cluster.start()
    yield cluster
    if not cluster.running():
        cluster.start()


def command(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(VENV_BIN / "chatfeedback"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(event: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """``event`` while ``proc`` still runs (it ending first fails at once)."""
    def seen() -> bool:
        if event():
            return True
        if proc.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {proc.communicate()}")
        return False

    wait_until(seen, timeout=CEILING, every=0.005, what=what)


def tagged(url: str) -> str:
    return f"{url}?application_name={APP}"


def one_line(proc: subprocess.Popen[str], database: str) -> str:
    out, err = proc.communicate(timeout=CEILING)
    assert proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and database in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def blocked_on_lock(cluster: PostgresCluster, database: str) -> Callable[[], bool]:
    watcher = sa.create_engine(cluster.url(), poolclass=sa.pool.NullPool)

    def check() -> bool:
        with watcher.connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                "AND datname = :db AND wait_event_type = 'Lock'"),
                {"app": APP, "db": database}).scalar())
    return check


def holding_the_schema(url: str) -> sa.Connection:
    """A transaction that holds alembic_version, which every command reads first."""
    conn = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()
    conn.exec_driver_sql("BEGIN")
    conn.exec_driver_sql("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
    return conn


def stop_while_blocked(cluster: PostgresCluster, url: str, database: str,
                       *args: str) -> subprocess.Popen[str]:
    holder = holding_the_schema(url)
    proc = command(*args)
    wait_for(blocked_on_lock(cluster, database), proc, "the command waiting on the lock")
    cluster.stop()
    holder.invalidate()
    return proc


@pytest.mark.parametrize("fmt", PROGRESSIVE)
def test_stopping_postgresql_mid_export(up, filled, tmp_path, fmt):
    """The export has written part of its rows when the server stops: one line naming the
    database, exit 2, and neither the file nor its partial copy is left."""
    out = tmp_path / f"out.{fmt}"
    proc = command("export", "--format", fmt, "-o", str(out), "--db", tagged(filled))

    def partial_has_rows() -> bool:
        return any(p.stat().st_size > 0 for p in tmp_path.glob("*.partial"))

    wait_for(partial_has_rows, proc, "rows in the partial output")
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        up.stop()
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    line = one_line(proc, f"127.0.0.1:{up.port}/filled")
    assert line.startswith("Error: database error on postgresql+psycopg://")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["parquet", "events", "votes", "reviews", "gold"])
def test_stopping_postgresql_before_an_export_reads(up, filled, tmp_path, fmt):
    """Every format, also those written at the end (parquet) or empty here: the server
    stops while the export waits for its first query."""
    out = tmp_path / f"out.{fmt}"
    proc = stop_while_blocked(up, filled, "filled", "export", "--format", fmt, "-o",
                              str(out), "--db", tagged(filled))
    one_line(proc, f"127.0.0.1:{up.port}/filled")
    assert leftovers(tmp_path) == []


def _database(cluster: PostgresCluster, name: str) -> str:
    admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    Store.open(cluster.url(name)).close()
    return cluster.url(name)


@pytest.mark.parametrize("args", [("demo", "--responses", "2000"), ("db", "upgrade"),
                                  ("db", "revision"), ("db", "rebuild-stats"),
                                  ("import", "{file}")], ids=lambda a: " ".join(a[:2]))
def test_stopping_postgresql_while_a_command_runs(up, tmp_path, args):
    url = _database(up, "other")
    file = tmp_path / "logs.jsonl"
    file.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]})
                    + "\n")
    argv = [a.replace("{file}", str(file)) for a in args]
    proc = stop_while_blocked(up, url, "other", *argv, "--db", tagged(url))
    one_line(proc, f"127.0.0.1:{up.port}/other")


def test_a_sqlite_file_cut_short_mid_export(tmp_path):
    """SQLite: the file is truncated while the export streams (the disk failed under it):
    one line naming the database, exit 2, no output file."""
    path = tmp_path / "data" / "feedback.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    store = Store.open(url)
    demo.fill(store, 30_000, seed=7)
    store.close()
    out = tmp_path / "out" / "ratings.jsonl"
    out.parent.mkdir()
    proc = command("export", "--format", "jsonl", "-o", str(out), "--db", url)
    wait_for(lambda: any(p.stat().st_size > 0 for p in out.parent.glob("*.partial")), proc,
             "rows in the partial output")
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        for file in path.parent.iterdir():  # not -shm: it is mapped into the process
            if not file.name.endswith("-shm"):
                os.truncate(file, 0)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    line = one_line(proc, str(path))
    assert line.startswith(f"Error: database error on {url}: ")
    assert leftovers(out.parent) == []
