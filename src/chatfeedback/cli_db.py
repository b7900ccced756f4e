"""``chatfeedback db``: the database's schema (upgrade, revision) and running totals."""

from __future__ import annotations

import click

from .cli import CONTEXT, config_option, db_option, open_store, quiet_option


@click.group(context_settings=CONTEXT)
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
    from .config import load_settings
    from .progress import Report
    from .store import Store

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
    from .store import Store

    store = open_store(config, db, upgrade=False)
    click.echo(f"database: {store.revision() or 'empty'}; latest: {Store.head()}")


@db.command("rebuild-stats", context_settings=CONTEXT)
@config_option
@db_option
@quiet_option
def rebuild_stats(config: str | None, db: str | None, quiet: bool) -> None:
    """Recompute the running totals (the dashboard's and the arena's) from the rows.

    Only needed after rows were written by other means than chatfeedback.

    \b
    Example:
        chatfeedback db rebuild-stats --db sqlite:///chatfeedback.db
    """
    from .progress import Report

    store = open_store(config, db)
    report = Report(quiet)
    with report.bar("rebuilding", unit=" steps") as progress:
        store.rebuild_stats(progress=progress)
    report.summary(f"rebuilt the running totals of {store.url}", err=False)
