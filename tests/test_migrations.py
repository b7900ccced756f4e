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


def test_replicas_starting_together_migrate_once(db_url):
    """Several processes opening a blank database at once: one migrates, the others wait
    (an advisory lock on PostgreSQL, the write lock on SQLite) and none fails."""
    code = "import sys; from chatfeedback.store import Store; Store.open(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    errors = [err for p, err in zip(procs, errs) if p.returncode != 0]
    assert errors == []
    assert Store.open(db_url, upgrade=False).revision() == Store.head()


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
