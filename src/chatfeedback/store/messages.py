"""The Store's messages: prompts and answers, versions, exposure and interrupted answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from .. import history
from ..errors import NotFound
from ..ids import new_id
from . import context, queries, stats
from .conversations import ANYONE, title_for
from .engine import Connected, day_of, now
from .errors import db_errors
from .records import ANSWER_FIELDS, Conversation, Message, to_conversation, to_message
from .schema import conversations, messages, ratings


class Messages(Connected):
    @db_errors
    def add_message(self, conversation_id: str, role: str, content: str, *,
                    parent_id: str | None = None, turn: int | None = None,
                    status: str = "complete", created_at: datetime | None = None,
                    **answer: Any) -> Message:
        """Append a message. A user message opens a new turn (and titles an untitled
        conversation); an assistant message answers ``parent_id`` as its newest version,
        which becomes the selected one."""
        with self._write() as conn:
            return append(conn, conversation_id, role, content, parent_id=parent_id, turn=turn,
                          status=status, created_at=created_at, **answer)

    @db_errors
    def open_turns(self, turns: Sequence[tuple[str, str, dict[str, Any]]], *,
                   owner: Any = ANYONE) -> list[tuple[Conversation, Message, Message]]:
        """Several conversations' next turns in one transaction: for each (conversation id,
        prompt, the answer's fields), the prompt and its empty answer row marked streaming,
        with the conversation as it is then (an arena round's two sides, whose requests wait
        for these writes). NotFound if a conversation is not ``owner``'s."""
        with self._write() as conn:
            return [open_turn(conn, *turn, owner=owner) for turn in turns]

    @db_errors
    def context(self, answer_id: str) -> list[Message]:
        """What the answer's request contained, besides its system prompt: the messages
        stored as its context when it was started (see history.py), in order."""
        found = self.contexts([answer_id])
        if answer_id not in found:
            raise NotFound("Message not found")
        return found[answer_id]

    @db_errors
    def contexts(self, answer_ids: Iterable[str]) -> dict[str, list[Message]]:
        """:meth:`context` of many answers at once, by answer id (an id that is not an
        answer is missing from the result): the stored chains of their conversations,
        then the messages they name."""
        with self.engine.connect() as conn:
            found = _resolved(conn, list(answer_ids))
            by_id = {r["id"]: to_message(r) for r in _named(conn, found, select(messages))}
        return {i: [by_id[m] for m in sent] for i, sent in found.items()}

    @db_errors
    def sent(self, answer_id: str) -> list[tuple[str, str]]:
        """``(role, content)`` of each message of the answer's stored context: what its
        request contained besides the system prompt (:meth:`context`, lighter)."""
        with self.engine.connect() as conn:
            found = _resolved(conn, [answer_id])
            if answer_id not in found:
                raise NotFound("Message not found")
            text = {r["id"]: (r["role"], r["content"]) for r in _named(
                conn, found, select(messages.c.id, messages.c.role, messages.c.content))}
        return [text[m] for m in found[answer_id]]

    @db_errors
    def update_answer(self, message_id: str, *, content: str | None = None,
                      status: str | None = None, **answer: Any) -> None:
        """Save streamed text, its final status and its generation metadata."""
        unknown = set(answer) - ANSWER_FIELDS
        if unknown:
            raise TypeError(f"unknown message fields: {sorted(unknown)}")
        values: dict[str, Any] = {"updated_at": now(), **answer}
        if content is not None:
            values["content"] = content
        if status is not None:
            values["status"] = status
        with self._write() as conn:
            conn.execute(update(messages).where(messages.c.id == message_id).values(values))

    @db_errors
    def message(self, message_id: str) -> Message:
        row = self._first(select(messages).where(messages.c.id == message_id))
        if row is None:
            raise NotFound("Message not found")
        return to_message(row)

    @db_errors
    def turn_count(self, conversation_id: str) -> int:
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(messages.c.turn)).where(
                messages.c.conversation_id == conversation_id)).scalar()
        return 0 if last is None else last + 1

    @db_errors
    def messages(self, conversation_id: str, *, from_turn: int = 0) -> list[Message]:
        """The conversation as shown: each prompt followed by its selected answer, from
        ``from_turn`` on. Each answer knows how many versions (siblings) it has."""
        where = (messages.c.conversation_id == conversation_id) & (messages.c.turn >= from_turn)
        query = (select(messages).where(where & ((messages.c.role != "assistant")
                                                 | messages.c.selected))
                 .order_by(messages.c.turn, queries.ROLE_ORDER, messages.c.id))
        counts = (select(messages.c.parent_id, func.count()).where(
            where & (messages.c.role == "assistant")).group_by(messages.c.parent_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            siblings = {parent: count for parent, count in conn.execute(counts)}
        return [to_message(r, siblings.get(r["parent_id"], 1)) for r in rows]

    @db_errors
    def versions(self, parent_id: str) -> list[Message]:
        """Every answer to one prompt, oldest version first."""
        query = select(messages).where(messages.c.parent_id == parent_id) \
            .order_by(messages.c.version)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [to_message(r, len(rows)) for r in rows]

    @db_errors
    def select_version(self, message_id: str) -> None:
        """Show ``message_id`` instead of its siblings."""
        with self._write() as conn:
            parent = conn.execute(select(messages.c.parent_id).where(
                messages.c.id == message_id)).scalar()
            if parent is None:
                raise NotFound("Message not found")
            conn.execute(update(messages).where(messages.c.parent_id == parent)
                         .values(selected=messages.c.id == message_id))

    @db_errors
    def mark_shown(self, message_ids: Iterable[str]) -> None:
        """Record the first time each answer was shown to a person (exposure)."""
        ids = list(message_ids)
        if not ids:
            return
        unseen = messages.c.id.in_(ids) & messages.c.shown_at.is_(None)
        with self._write() as conn:
            # RETURNING: exactly the rows this statement marked, also when two sessions
            # mark the same answer at once, feed the exposure counter.
            first = conn.execute(update(messages).where(unseen).values(shown_at=now())
                                 .returning(messages.c.id, messages.c.role,
                                            messages.c.created_at, messages.c.model,
                                            messages.c.shown_at)).all()
            # Counters in key order: two sessions showing answers at once lock them in the
            # same order (PostgreSQL), so neither waits for the other in a deadlock.
            answers = {r.id: r for r in sorted((r for r in first if r.role == "assistant"),
                                               key=_counter_key)}
            for answer in answers.values():
                stats.count_answers(conn, answer.created_at, answer.model, shown=1)
            if answers:  # rated before being shown (an API client can): rated among shown now
                rated = conn.execute(select(ratings.c.message_id, ratings.c.scale).where(
                    ratings.c.message_id.in_(list(answers)), ratings.c.value.is_not(None)))
                for message_id, scale in sorted(rated, key=lambda r: (
                        _counter_key(answers[r.message_id]), r.scale)):
                    stats.move_shown_rating(conn, answers[message_id], None, scale)

    @db_errors
    def recover_interrupted(self, stale_after: float = 30.0,
                            message_ids: Iterable[str] | None = None) -> int:
        """Mark answers whose stream stopped saving ``stale_after`` seconds ago (the server
        died mid-answer) as errors, keeping their partial text; only ``message_ids`` if
        given. Returns how many."""
        cutoff = now() - timedelta(seconds=stale_after)
        where = (messages.c.status == "streaming") & (messages.c.updated_at < cutoff)
        if message_ids is not None:
            where &= messages.c.id.in_(list(message_ids))
        with self._write() as conn:
            result = conn.execute(update(messages).where(where).values(
                status="error", error="interrupted: the server stopped mid-answer"))
        return result.rowcount or 0


def append(conn: Connection, conversation_id: str, role: str, content: str, *,
           parent_id: str | None = None, turn: int | None = None, status: str = "complete",
           created_at: datetime | None = None, **answer: Any) -> Message:
    """:meth:`Messages.add_message` inside the transaction ``conn`` (the arena opens both
    sides' turns in one)."""
    unknown = set(answer) - ANSWER_FIELDS
    if unknown:
        raise TypeError(f"unknown message fields: {sorted(unknown)}")
    when = created_at or now()
    conv = conn.execute(select(conversations.c.title)
                        .where(conversations.c.id == conversation_id)).first()
    if conv is None:
        raise NotFound("Conversation not found")
    version = 1
    if role == "assistant" and parent_id is not None:
        parent = conn.execute(select(messages.c.turn).where(
            messages.c.id == parent_id)).first()
        if parent is None:
            raise NotFound("The prompt this answer belongs to was not found")
        turn = parent.turn
        version = 1 + (conn.execute(select(func.max(messages.c.version)).where(
            messages.c.parent_id == parent_id)).scalar() or 0)
        conn.execute(update(messages).where(messages.c.parent_id == parent_id)
                     .values(selected=False))
    elif turn is None:
        last = conn.execute(select(func.max(messages.c.turn)).where(
            messages.c.conversation_id == conversation_id)).scalar()
        turn = 0 if last is None else last + 1
    row = dict(id=new_id(), conversation_id=conversation_id, parent_id=parent_id,
               turn=turn, role=role, content=content, version=version, selected=True,
               status=status, created_at=when, updated_at=when, **answer)
    stored = dict(row)
    if role == "assistant":  # its context, in the transaction that adds it
        stored["context_from"], stored["context"] = _new_context(conn, Message(**row))
    conn.execute(insert(messages).values(stored))
    if role == "assistant":
        stats.count_answers(conn, when, answer.get("model"), answers=1)
    touch: dict[str, Any] = {"updated_at": when}
    if role == "user" and not conv.title:
        touch["title"] = title_for(content)
    conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                 .values(touch))
    return Message(**row)


def open_turn(conn: Connection, conversation_id: str, prompt: str, answer: dict[str, Any], *,
              owner: Any = ANYONE) -> tuple[Conversation, Message, Message]:
    """The prompt and its answer row (``answer``: the answer's fields), in ``conn``'s
    transaction; with the conversation as it is after them."""
    found = conn.execute(select(conversations.c.owner)
                         .where(conversations.c.id == conversation_id)).first()
    if found is None or (owner is not ANYONE and found.owner != owner):
        raise NotFound("Conversation not found")
    user = append(conn, conversation_id, "user", prompt)
    reply = append(conn, conversation_id, "assistant", "", parent_id=user.id,
                   status="streaming", **answer)
    row = conn.execute(select(conversations).where(conversations.c.id == conversation_id))
    return to_conversation(row.mappings().one()), user, reply


def _new_context(conn: Connection, answer: Message) -> tuple[str | None, str]:
    """The stored form of what ``answer`` (about to be added) is sent: the rule
    (history.contexts) applied to its conversation as shown now, in the same transaction."""
    rows = context.rule_rows(conn, answer.conversation_id, answer.turn)
    shown = [r for r in rows if r.role != "assistant" or r.selected]
    chains = {r.id: (r.context_from, r.context) for r in rows if r.role == "assistant"}
    return context.encode(history.context(answer, shown),
                          lambda base: context.resolve(base, chains))


def _resolved(conn: Connection, answer_ids: list[str]) -> dict[str, list[str]]:
    """The ids of each answer's stored context (answers only), from one read of the
    stored chains of their conversations."""
    if not answer_ids:
        return {}
    owners = select(messages.c.conversation_id).where(messages.c.id.in_(answer_ids))
    chains = {r.id: (r.context_from, r.context) for r in conn.execute(
        select(messages.c.id, messages.c.context_from, messages.c.context)
        .where(messages.c.conversation_id.in_(owners), messages.c.role == "assistant"))}
    return {i: context.resolve(i, chains) for i in answer_ids if i in chains}


def _named(conn: Connection, found: dict[str, list[str]], query: Any) -> list[Any]:
    """``query``'s rows for the messages the contexts in ``found`` name, a few thousand
    ids per statement (a database bounds the parameters of one)."""
    wanted = sorted({m for sent in found.values() for m in sent})
    rows: list[Any] = []
    for start in range(0, len(wanted), 5000):
        part = wanted[start:start + 5000]
        rows += conn.execute(query.where(messages.c.id.in_(part))).mappings().all()
    return rows


def _counter_key(answer: Any) -> tuple[Any, str]:
    """The running-total key of an answer: its day and model."""
    return day_of(answer.created_at), answer.model or ""
