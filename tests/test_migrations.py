"""Migrations: a blank database reaches head, and head matches schema.py exactly, on SQLite
and on PostgreSQL."""

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chatfeedback.store import Store
from chatfeedback.store.schema import metadata

pytestmark = pytest.mark.all_databases


def test_blank_database_to_head_matches_schema(db_url):
    store = Store.open(db_url)
    assert store.revision() == Store.head()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= set(metadata.tables)


def test_every_revision_upgrades_to_head(db_url, request, tmp_path):
    from alembic.script import ScriptDirectory

    from chatfeedback.store.store import alembic_config

    def fresh(revision: str) -> str:  # a blank database for each starting revision
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'at-{revision}.db'}"
        pg = request.getfixturevalue("pg_server")
        url = pg.create_database()
        request.addfinalizer(lambda: pg.drop_database(url))
        return url

    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    for revision in reversed(revisions):  # oldest first
        store = Store.open(fresh(revision), upgrade=False)
        store.upgrade(revision)
        assert store.revision() == revision
        store.upgrade()
        assert store.revision() == Store.head()
        store.close()


def test_upgrade_is_idempotent_and_wal_is_on(db_url):
    Store.open(db_url).close()
    store = Store.open(db_url)
    assert store.revision() == Store.head()
    if store.engine.dialect.name != "sqlite":
        return
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


# Imports first, then waits for a line on its input: the processes open the database
# within a millisecond of each other, not whenever their imports happen to finish.
TOGETHER = """
import sys
from chatfeedback.store import Store
print("ready", flush=True)
sys.stdin.readline()
Store.open(sys.argv[1]).close()
"""


def open_together(url: str, processes: int = 2) -> list[str]:
    """The last line of each failed process's error output."""
    procs = [subprocess.Popen([sys.executable, "-c", TOGETHER, url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    errs = [p.communicate(timeout=120)[1] for p in procs]
    return [err.strip().splitlines()[-1] for p, err in zip(procs, errs, strict=True)
            if p.returncode != 0]


def test_replicas_starting_together_migrate_once(db_url, tmp_path):
    """Several processes opening a blank database at once: one migrates, the others wait
    (an advisory lock on PostgreSQL, the write lock on SQLite) and none fails. On SQLite
    also the switch of a new file to WAL, which SQLite does not wait for by itself: twelve
    new files, each opened by two processes in the same millisecond."""
    urls = [db_url] if not db_url.startswith("sqlite") else \
        [f"sqlite:///{tmp_path / f'new{i}.db'}" for i in range(12)]
    for url in urls:
        assert open_together(url) == []
        assert Store.open(url, upgrade=False).revision() == Store.head()


def test_upgrade_counts_the_rated_among_shown_answers_already_there(db_url):
    """A database from before the rated-among-shown counter (revision 0006) gets it filled
    from its rows on upgrade, without `db rebuild-stats`."""
    from alembic import command

    from chatfeedback.analytics import Analytics
    from chatfeedback.store.store import alembic_config

    store = Store.open(db_url)
    conv = store.import_conversation([("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                      ("assistant", "a2")], model="m")
    a1, a2 = [m for m in store.messages(conv.id) if m.role == "assistant"]
    store.mark_shown([a1.id, a2.id])
    store.rate(a1.id, 1, scale="thumbs")
    with store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert "shown_rated_counts" not in inspect(store.engine).get_table_names()
    store.upgrade()
    totals = Analytics(store).totals()
    assert (totals.shown, totals.shown_rated, totals.rated_share) == (2, 1, 0.5)
    store.close()
