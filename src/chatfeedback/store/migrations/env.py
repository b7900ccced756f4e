"""Alembic environment: runs on the connection the Store hands over (never reads an ini file)."""

from __future__ import annotations

from alembic import context

from chatfeedback.store.schema import metadata

connection = context.config.attributes["connection"]
# Called after each migration with alembic's (ctx, step, heads, run_args), for progress.
applied = context.config.attributes.get("on_version_apply")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True, on_version_apply=[applied] if applied else [])
with context.begin_transaction():
    context.run_migrations()
