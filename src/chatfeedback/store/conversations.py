"""The Store's conversations: create, read, list, consent and bulk import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .. import history
from ..errors import NotFound
from ..ids import new_id
from . import context, stats
from .engine import Connected, now
from .errors import db_errors
from .records import Conversation, Message, to_conversation
from .schema import conversations, messages

ANYONE = object()  # owner filter meaning "do not filter by owner"


class Conversations(Connected):
    @db_errors
    def create_conversation(self, **fields: Any) -> Conversation:
        """A new conversation (``fields``: :func:`insert_conversation`'s)."""
        with self._write() as conn:
            return insert_conversation(conn, **fields)

    @db_errors
    def conversation(self, conversation_id: str, owner: Any = ANYONE) -> Conversation:
        """The conversation, or NotFound (also when it belongs to another owner)."""
        query = select(conversations).where(conversations.c.id == conversation_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or (owner is not ANYONE and row["owner"] != owner):
            raise NotFound("Conversation not found")
        return to_conversation(row)

    @db_errors
    def list_conversations(self, owner: Any = ANYONE, limit: int = 50) -> list[Conversation]:
        """Newest (most recently active) first; arena rounds' conversations are not listed
        (their model names would unblind the arena)."""
        query = (select(conversations).where(conversations.c.source != "arena")
                 .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
                 .limit(limit))
        if owner is not ANYONE:
            query = query.where(conversations.c.owner == owner)
        with self.engine.connect() as conn:
            return [to_conversation(r) for r in conn.execute(query).mappings()]

    @db_errors
    def set_training_consent(self, conversation_id: str, allowed: bool) -> None:
        with self._write() as conn:
            conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                         .values(training_consent=allowed))

    @db_errors
    def import_conversation(self, messages_in: Sequence[tuple[str, str]], *,
                            model: str | None = None, meta: dict[str, Any] | None = None,
                            owner: str | None = None, title: str | None = None,
                            source: str = "import",
                            import_batch: str | None = None, experiment: str | None = None,
                            arm: str | None = None, unit: str | None = None,
                            trace_ids: Sequence[str | None] = ()) -> Conversation:
        """Create a conversation with all its ``(role, content)`` messages in one transaction
        and one bulk insert. Each user message opens a turn; an assistant message answers
        the user message before it (a leading assistant greeting answers nothing); system
        messages belong to the turn that follows them. ``trace_ids``, one per message if
        given, are the answers' external trace ids. Raises ValueError on two assistant
        messages in a row (the importer reports that per line before calling)."""
        when = now()
        conv_id = new_id()
        rows: list[dict[str, Any]] = []
        turn, parent, answered, busy = 0, None, False, False  # busy: turn has a prompt/answer
        for index, (role, content) in enumerate(messages_in):
            if role not in ("system", "user", "assistant"):
                raise ValueError(f"message {index + 1}: unknown role {role!r}")
            row = dict(id=new_id(), conversation_id=conv_id, parent_id=None, role=role,
                       content=content, version=1, selected=True, status="complete",
                       created_at=when, updated_at=when, model=None,
                       trace_id=trace_ids[index] if index < len(trace_ids) else None)
            if role == "assistant":
                if answered:
                    raise ValueError(f"message {index + 1}: two assistant messages in a row")
                row.update(parent_id=parent, model=model)
                answered = busy = True
            else:  # a prompt, or a system message, opens the next turn
                if busy:
                    turn, busy = turn + 1, False
                parent, answered = (None if role == "system" else row["id"]), False
                if role == "user":
                    busy = True
            row["turn"] = turn
            rows.append(row)
        # What each answer would have been sent (one pass of the rule over the whole log).
        found = history.contexts([Message(**row) for row in rows])
        stored = {answer.id: context.encode(sent) for answer, sent in found}
        for row in rows:
            row["context_from"], row["context"] = stored.get(row["id"], (None, None))
        first_prompt = next((c for r, c in messages_in if r == "user"), "")
        conv = dict(id=conv_id, owner=owner, title=title or title_for(first_prompt),
                    model=model, source=source, training_consent=False, meta=meta,
                    import_batch=import_batch, created_at=when, updated_at=when,
                    experiment=experiment, arm=arm,
                    unit=(unit or conv_id) if experiment else None)
        answers = sum(1 for r in rows if r["role"] == "assistant")
        with self._write() as conn:
            conn.execute(insert(conversations).values(conv))
            if rows:
                conn.execute(insert(messages), rows)
            if answers:
                stats.count_answers(conn, when, model, answers=answers)
        return Conversation(**conv)


def title_for(prompt: str, limit: int = 80) -> str:
    line = " ".join(prompt.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def insert_conversation(conn: Connection, *, owner: str | None = None, title: str = "",
                        model: str | None = None, source: str = "chat",
                        training_consent: bool = False, meta: dict[str, Any] | None = None,
                        created_at: datetime | None = None, id: str | None = None,
                        experiment: str | None = None, arm: str | None = None,
                        unit: str | None = None,
                        assignment_p: float | None = None) -> Conversation:
    """A new conversation, in the transaction ``conn``; an experiment's one with its arm,
    unit and the chance of that arm (``id`` given: the unit of ``unit = "conversation"``
    is known before)."""
    when = created_at or now()
    row = dict(id=id or new_id(), owner=owner, title=title, model=model, source=source,
               training_consent=training_consent, meta=meta, created_at=when,
               updated_at=when, experiment=experiment, arm=arm, unit=unit,
               assignment_p=assignment_p)
    conn.execute(insert(conversations).values(row))
    return Conversation(**row)
