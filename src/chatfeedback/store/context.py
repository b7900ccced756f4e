"""Each answer's context (the messages its request contained), stored compactly, read back.

The rule that decides the context is :func:`chatfeedback.history.contexts`; this module
only keeps its result. An answer row stores it in two columns: ``context_from``, an
earlier answer of the same conversation (or NULL), and ``context``, message ids separated
by spaces. The context is ``context_from``'s context, then ``context_from`` itself, then
those ids. A conversation's requests grow by one exchange a turn, so each answer stores
only what is new: a 1,000-turn conversation keeps a few thousand ids rather than the
million its requests held together. When the earlier answer's stored context is not the
beginning of the new one (a version picked or regenerated in between), all ids are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, select

from .queries import ROLE_ORDER
from .schema import messages

Chains = Mapping[str, tuple[str | None, str | None]]  # answer id -> (context_from, context)


class _Sent(Protocol):
    id: str
    role: str


def encode(sent: Sequence[_Sent],
           stored: Callable[[str], list[str]] | None = None) -> tuple[str | None, str]:
    """``(context_from, context)`` for an answer whose request held ``sent``.

    ``stored`` reads an earlier answer's stored context, to check that it (and the answer)
    begin ``sent``; None when every context comes from one pass of the rule over the same
    messages (an import, a migration), where that holds by construction."""
    for k in range(len(sent) - 1, -1, -1):
        if sent[k].role != "assistant":
            continue
        base = sent[k].id
        if stored is None or stored(base) + [base] == [m.id for m in sent[: k + 1]]:
            return base, " ".join(m.id for m in sent[k + 1:])
        break
    return None, " ".join(m.id for m in sent)


def resolve(answer_id: str, chains: Chains) -> list[str]:
    """The ids of an answer's context, in order, from the stored chains of its
    conversation's answers (an answer without a stored context has an empty one)."""
    parts: list[list[str]] = []
    current: str | None = answer_id
    while current is not None:
        base, ids = chains.get(current, (None, None))
        parts.append(ids.split() if ids else [])
        if base is not None:
            parts.append([base])
        current = base
    return [message_id for part in reversed(parts) for message_id in part]


def conversation_rows(conn: Connection, conversation_ids: Iterable[str],
                      up_to_turn: int | None = None) -> list[Any]:
    """Every message of the conversations (every version), in conversation order."""
    query = (select(messages).where(messages.c.conversation_id.in_(list(conversation_ids)))
             .order_by(messages.c.conversation_id, messages.c.turn, ROLE_ORDER,
                       messages.c.version, messages.c.id))
    if up_to_turn is not None:
        query = query.where(messages.c.turn <= up_to_turn)
    return conn.execute(query).mappings().all()


RULE_COLUMNS = (messages.c.id, messages.c.turn, messages.c.role, messages.c.parent_id,
                messages.c.status, messages.c.content, messages.c.selected,
                messages.c.context_from, messages.c.context)


def rule_rows(conn: Connection, conversation_id: str, up_to_turn: int) -> list[Any]:
    """What the rule and the stored contexts need of a conversation's messages up to a
    turn (every version), in order: rows with attributes, no more columns than that."""
    return conn.execute(select(*RULE_COLUMNS)
                        .where(messages.c.conversation_id == conversation_id,
                               messages.c.turn <= up_to_turn)
                        .order_by(messages.c.turn, ROLE_ORDER, messages.c.version,
                                  messages.c.id)).all()


def chains(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """The stored contexts of the answers among ``rows``, for :func:`resolve`."""
    return {r["id"]: (r["context_from"], r["context"]) for r in rows
            if r["role"] == "assistant"}
