"""Each answer keeps its context (what its request contained); existing answers get theirs.

New columns ``messages.context_from`` and ``messages.context`` (see store/context.py).
Answers written before them get the context that the rule of this revision gives them on
the conversation as it is now: the rule and its stored form are copied below as they were
in chatfeedback.history and chatfeedback.store.context at this revision (a migration never
imports the application's code, which will change).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

USABLE = ("complete", "stopped")
CONVERSATIONS_AT_ONCE = 500

messages = sa.table(
    "messages", sa.column("id"), sa.column("conversation_id"), sa.column("parent_id"),
    sa.column("turn"), sa.column("role"), sa.column("content"), sa.column("version"),
    sa.column("selected"), sa.column("status"), sa.column("context_from"),
    sa.column("context"))
conversations = sa.table("conversations", sa.column("id"))


def upgrade() -> None:
    op.add_column("messages", sa.Column("context_from", sa.String(26), nullable=True))
    op.add_column("messages", sa.Column("context", sa.Text(), nullable=True))
    conn = op.get_bind()
    update = (messages.update().where(messages.c.id == sa.bindparam("answer"))
              .values(context_from=sa.bindparam("base"), context=sa.bindparam("ids")))
    last = ""
    while True:  # a few hundred conversations at a time: memory stays flat
        chunk = conn.execute(sa.select(conversations.c.id).where(conversations.c.id > last)
                             .order_by(conversations.c.id)
                             .limit(CONVERSATIONS_AT_ONCE)).scalars().all()
        if not chunk:
            return
        last = chunk[-1]
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.conversation_id, messages.c.parent_id,
                      messages.c.turn, messages.c.role, messages.c.content,
                      messages.c.selected, messages.c.status)
            .where(messages.c.conversation_id.in_(chunk))
            .order_by(messages.c.conversation_id, messages.c.turn,
                      sa.case((messages.c.role == "system", 0),
                              (messages.c.role == "user", 1), else_=2),
                      messages.c.version, messages.c.id)).all()
        found = [{"answer": answer.id, **dict(zip(("base", "ids"), _encode(sent)))}
                 for conversation in _by_conversation(rows)
                 for answer, sent in _contexts(conversation)]
        if found:
            conn.execute(update, found)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode's copy of the table: on
    # SQLite dropping the old messages table would cascade to every rating.
    op.drop_column("messages", "context")
    op.drop_column("messages", "context_from")


def _by_conversation(rows: list[Any]) -> Iterator[list[Any]]:
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or rows[end].conversation_id != rows[start].conversation_id:
            yield rows[start:end]
            start = end


def _contexts(conversation: Iterable[Any]) -> Iterator[tuple[Any, list[Any]]]:
    """chatfeedback.history.contexts as of this revision: each answer with the messages
    its request contains (besides its system prompt). Earlier turns go only when their
    selected answer is complete or stopped with some text, prompt and answer together;
    system messages stay where they stand; an answer without a prompt is not sent;
    versions of one turn never see each other."""
    sent: list[Any] = []
    prompts: dict[str, Any] = {}
    turn = None
    accepted: list[Any] = []
    for message in conversation:
        if message.turn != turn:
            sent += accepted
            accepted, turn = [], message.turn
        if message.role == "system":
            sent.append(message)
        elif message.role == "user":
            prompts[message.id] = message
        else:
            prompt = prompts.get(message.parent_id) if message.parent_id else None
            yield message, (sent + [prompt] if prompt else list(sent))
            if prompt and message.selected and message.status in USABLE \
                    and (message.content or "").strip():
                accepted = [prompt, message]


def _encode(sent: list[Any]) -> tuple[str | None, str]:
    """chatfeedback.store.context.encode as of this revision, for contexts from one pass:
    the last answer in the context, and the ids after it (space-separated)."""
    for k in range(len(sent) - 1, -1, -1):
        if sent[k].role == "assistant":
            return sent[k].id, " ".join(m.id for m in sent[k + 1:])
    return None, " ".join(m.id for m in sent)
