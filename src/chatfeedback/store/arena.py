"""The Store's arena queries: rounds, votes (each also an event in the audit trail, and counted
in the running totals of arena_totals.py in the same transaction), the totals the leaderboard
is computed from, and the votes' import and export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..errors import FeedbackError, NotFound
from ..ids import new_id
from ..stats.bradley_terry import STYLE_FEATURES, WINNERS
from . import arena_totals as totals
from . import context, outbox
from .conversations import insert_conversation
from .engine import Connected, as_utc, instant, now
from .errors import db_errors
from .filters import Filters
from .messages import open_turn
from .queries import ROLE_ORDER
from .records import Conversation, Message
from .schema import (
    arena_rounds,
    arena_voters,
    arena_votes,
    conversations,
    messages,
    rating_events,
)

FEATURE_COLUMNS = tuple(f"{f}_{side}" for side in "ab" for f in STYLE_FEATURES)


@dataclass(frozen=True)
class ArenaRound:
    id: str
    voter: str
    model_a: str
    model_b: str
    conversation_a: str
    conversation_b: str
    sampling: str
    probability: float
    weight: float
    status: str                 # open | voted | failed
    created_at: datetime


@dataclass(frozen=True)
class ArenaVote:
    id: str
    round_id: str | None
    voter: str
    model_a: str
    model_b: str
    winner: str
    message_a: str | None
    message_b: str | None
    created_at: datetime


def _round(row: Any) -> ArenaRound:
    return ArenaRound(**{k: row[k] for k in ArenaRound.__dataclass_fields__})


def _insert_round(conn: Connection, **fields: Any) -> ArenaRound:
    when = now()
    row = {"id": new_id(), **fields, "status": "open", "created_at": when, "updated_at": when}
    conn.execute(insert(arena_rounds).values(row))
    return _round(row)


def _vote(row: Any) -> ArenaVote:
    return ArenaVote(**{k: row[k] for k in ArenaVote.__dataclass_fields__})


class ArenaQueries(Connected):
    """The arena's part of the Store."""

    @db_errors
    def create_round(self, *, voter: str, model_a: str, model_b: str, conversation_a: str,
                     conversation_b: str, sampling: str, probability: float,
                     weight: float) -> ArenaRound:
        with self._write() as conn:
            return _insert_round(conn, voter=voter, model_a=model_a, model_b=model_b,
                                 conversation_a=conversation_a, conversation_b=conversation_b,
                                 sampling=sampling, probability=probability, weight=weight)

    @db_errors
    def start_round(self, prompt: str, sides: Sequence[tuple[dict[str, Any], dict[str, Any]]],
                    **round_fields: Any) -> tuple[ArenaRound, list[tuple[Conversation, Message, Message]]]:
        """A new round in one transaction, so that both requests go out after one commit:
        for each side (A, B) its conversation (``sides[i][0]``: create_conversation's
        fields) with ``prompt`` and an empty answer row (``sides[i][1]``: the answer's
        fields); the round (``round_fields``: create_round's) on the two. Returns the round
        and each side's (conversation, prompt, answer) as open_turns does."""
        with self._write() as conn:
            made = [insert_conversation(conn, **fields) for fields, _ in sides]
            rnd = _insert_round(conn, conversation_a=made[0].id, conversation_b=made[1].id,
                                **round_fields)
            turns = [open_turn(conn, conversation.id, prompt, answer)
                     for conversation, (_, answer) in zip(made, sides, strict=True)]
        return rnd, turns

    @db_errors
    def arena_round(self, round_id: str) -> ArenaRound:
        row = self._first(select(arena_rounds).where(arena_rounds.c.id == round_id))
        if row is None:
            raise NotFound("Arena round not found")
        return _round(row)

    @db_errors
    def fail_round(self, round_id: str) -> None:
        """Mark an open round failed (one side's answer failed): it can no longer be voted."""
        with self._write() as conn:
            conn.execute(update(arena_rounds).where(arena_rounds.c.id == round_id,
                                                    arena_rounds.c.status == "open")
                         .values(status="failed", updated_at=now()))

    @db_errors
    def vote(self, round_id: str, winner: str, *, message_a: str, message_b: str,
             features_a: Sequence[int], features_b: Sequence[int], actor: str | None = None,
             allow_change: bool = False) -> ArenaVote:
        """Record (or, with ``allow_change``, change) the vote of a round on its answers
        ``message_a``/``message_b``, and append it to the audit trail (``rating_events``,
        action ``vote``, scale ``arena``, value = the winner's index in WINNERS, on A's answer)."""
        if winner not in WINNERS:
            raise FeedbackError(f"unknown winner {winner!r}; expected one of {', '.join(WINNERS)}")
        when = now()
        with self._write() as conn:
            rnd = conn.execute(select(arena_rounds).where(arena_rounds.c.id == round_id)
                               .with_for_update()).mappings().first()
            if rnd is None:
                raise NotFound("Arena round not found")
            if rnd["status"] == "failed":
                raise FeedbackError("a round in which one side failed cannot be voted")
            old = conn.execute(select(arena_votes).where(arena_votes.c.round_id == round_id)) \
                .mappings().first()
            if old is not None and not allow_change:
                raise FeedbackError("this round is already voted; votes are locked")
            if old is not None and old["winner"] == winner:
                return _vote(old)
            values = {"winner": winner, "message_a": message_a, "message_b": message_b,
                      "updated_at": when,
                      **dict(zip(FEATURE_COLUMNS, [*features_a, *features_b], strict=True))}
            if old is None:
                values.update(id=new_id(), round_id=round_id, voter=rnd["voter"],
                              model_a=rnd["model_a"], model_b=rnd["model_b"],
                              conversation_a=rnd["conversation_a"],
                              conversation_b=rnd["conversation_b"],
                              probability=rnd["probability"], weight=rnd["weight"],
                              source="arena", created_at=when)
                conn.execute(insert(arena_votes).values(values))
                totals.add(conn, [values])
            else:
                conn.execute(update(arena_votes).where(arena_votes.c.id == old["id"])
                             .values(values))
                totals.change(conn, old, winner)
            conn.execute(update(arena_rounds).where(arena_rounds.c.id == round_id)
                         .values(status="voted", updated_at=when))
            event_id = new_id()
            conn.execute(insert(rating_events).values(
                id=event_id, message_id=message_a, conversation_id=rnd["conversation_a"],
                action="vote", scale="arena", value=WINNERS.index(winner), actor=actor,
                created_at=when))
            trace_id = conn.execute(select(messages.c.trace_id)
                                    .where(messages.c.id == message_a)).scalar()
            outbox.record(conn, event_id, "vote", when, actor, message_id=message_a,
                          conversation_id=rnd["conversation_a"], value=WINNERS.index(winner),
                          scale="arena", model=f"{rnd['model_a']} vs {rnd['model_b']}",
                          trace_id=trace_id, label=winner)
            row = conn.execute(select(arena_votes).where(arena_votes.c.round_id == round_id)) \
                .mappings().one()
        return _vote(row)

    @db_errors
    def arena_vote(self, round_id: str) -> ArenaVote | None:
        row = self._first(select(arena_votes).where(arena_votes.c.round_id == round_id))
        return None if row is None else _vote(row)

    @db_errors
    def latest_round(self, voter: str) -> ArenaRound | None:
        """The voter's newest round (the one ``[feedback] mode = "latest"`` lets them vote)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(arena_rounds).where(arena_rounds.c.voter == voter)
                               .order_by(arena_rounds.c.created_at.desc(),
                                         arena_rounds.c.id.desc()).limit(1)).mappings().first()
        return None if row is None else _round(row)

    @db_errors
    def arena_total_columns(self) -> list[tuple]:
        """The running totals as seven columns (cluster, model_lo, model_hi, n, wins, weight,
        weighted_wins; see arena_totals.py), in cluster order: the leaderboard's input, at
        most CLUSTERS x pairs rows however many votes there are."""
        return self._columns(select(*totals.COLUMNS).order_by(*totals.COLUMNS[:3]),
                             len(totals.COLUMNS))

    @db_errors
    def arena_voter_count(self) -> int:
        with self.engine.connect() as conn:
            return totals.voter_count(conn)

    @db_errors
    def arena_voter_clusters(self) -> dict[str, int]:
        """Each voter's cluster (the unit the leaderboard's bootstrap resamples)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(arena_voters.c.voter, arena_voters.c.cluster))
                        .all())

    @db_errors
    def rebuild_arena_totals(self) -> None:
        """Recompute the arena's running totals from the votes (Store.rebuild_stats does
        this with the dashboard's)."""
        with self._write() as conn:
            totals.rebuild(conn)

    @db_errors
    def arena_counts(self) -> list[tuple[str, str, str, str, int, float]]:
        """(voter, model_a, model_b, winner, votes, summed weight), grouped in SQL from the
        votes themselves: what the running totals summarise (the tests check one against
        the other)."""
        return list(zip(*self.arena_count_columns(), strict=True))

    @db_errors
    def arena_count_columns(self) -> list[tuple]:
        """:meth:`arena_counts` as six columns, read by the driver's own cursor (a million
        rows cost no per-row Python beyond the driver's)."""
        v = arena_votes.c
        query = (select(v.voter, v.model_a, v.model_b, v.winner, func.count(), func.sum(v.weight))
                 .group_by(v.voter, v.model_a, v.model_b, v.winner))
        return self._columns(query, 6)

    @db_errors
    def arena_style_columns(self) -> list[tuple]:
        """One row per vote that has both sides' style counts, as columns: voter, model_a,
        model_b, winner, weight, then FEATURE_COLUMNS."""
        v = arena_votes.c
        query = (select(v.voter, v.model_a, v.model_b, v.winner, v.weight,
                        *[v[c] for c in FEATURE_COLUMNS])
                 .where(*[v[c].is_not(None) for c in FEATURE_COLUMNS]))
        return self._columns(query, 5 + len(FEATURE_COLUMNS))

    def _columns(self, query: Any, width: int) -> list[tuple]:
        with self.engine.connect() as conn:
            sql = query.compile(conn, compile_kwargs={"literal_binds": True})
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute(str(sql))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        return list(zip(*rows, strict=True)) if rows else [()] * width

    @db_errors
    def arena_stamp(self) -> tuple[Any, ...]:
        """What a cached leaderboard is keyed by: the running totals' sums (a new or a
        changed vote changes them) and the rounds' count and last change."""
        with self.engine.connect() as conn:
            rounds = conn.execute(select(func.count(),
                                         func.max(arena_rounds.c.updated_at))).one()
            return (*totals.stamp(conn), *rounds)

    @db_errors
    def arena_round_counts(self) -> dict[str, int]:
        """Rounds by status: open, voted, failed."""
        query = select(arena_rounds.c.status, func.count()).group_by(arena_rounds.c.status)
        with self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}

    @db_errors
    def import_votes(self, rows: Iterable[dict[str, Any]], *, batch: int = 5000) -> int:
        """Insert votes (keys: voter, model_a, model_b, winner, created_at, optional
        conversation_a/b, message_a/b and FEATURE_COLUMNS) as source "import", weight 1,
        counted in the running totals in each batch's transaction."""
        total = 0
        chunk: list[dict[str, Any]] = []

        def flush() -> None:
            if chunk:
                with self._write() as conn:
                    conn.execute(insert(arena_votes), chunk)
                    totals.add(conn, chunk)
                chunk.clear()

        for row in rows:
            full = {c: None for c in (*FEATURE_COLUMNS, "conversation_a", "conversation_b",
                                      "message_a", "message_b")}
            full.update(row)
            full.update(id=new_id(), round_id=None, probability=None, weight=1.0,
                        source="import", updated_at=now())
            chunk.append(full)
            total += 1
            if len(chunk) >= batch:
                flush()
        flush()
        return total

    @db_errors
    def iter_votes(self, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every vote, oldest first, streamed."""
        query = select(arena_votes).order_by(arena_votes.c.created_at, arena_votes.c.id)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
            for row in result.mappings():
                item = dict(row)
                item["created_at"] = as_utc(item["created_at"])
                yield item

    @db_errors
    def iter_arena_pairs(self, filters: Filters | None = None) -> Iterator[dict[str, Any]]:
        """Votes on two stored answers (the arena's, or imported with their conversations),
        oldest first, with both conversations' training consent; ``filters``: the vote's
        time, and a model on either side."""
        filters = filters or Filters()
        v = arena_votes.c
        ca, cb = conversations.alias("ca"), conversations.alias("cb")
        query = (select(v.id, v.winner, v.model_a, v.model_b, v.message_a, v.message_b,
                        v.conversation_a, v.conversation_b,
                        ca.c.training_consent.label("consent_a"),
                        cb.c.training_consent.label("consent_b"))
                 .join(ca, ca.c.id == v.conversation_a).join(cb, cb.c.id == v.conversation_b)
                 .where(v.message_a.is_not(None), v.message_b.is_not(None))
                 .order_by(v.created_at, v.id))
        if filters.since is not None:
            query = query.where(v.created_at >= instant(filters.since))
        if filters.until is not None:
            query = query.where(v.created_at < instant(filters.until))
        if filters.model is not None:
            query = query.where((v.model_a == filters.model) | (v.model_b == filters.model))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        yield from rows

    @db_errors
    def conversation_rows(self, conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every message of the conversations (every version, with its stored context), in
        conversation order: what the training exports build prompts from."""
        with self.engine.connect() as conn:
            return [dict(r) for r in context.conversation_rows(conn, conversation_ids)]

    @db_errors
    def selected_answers(self, conversation_id: str) -> list[tuple[str, str]]:
        """(role, content) of a conversation's prompts and selected answers, in order."""
        query = (select(messages.c.role, messages.c.content)
                 .where(messages.c.conversation_id == conversation_id,
                        messages.c.selected.is_(True))
                 .order_by(messages.c.turn, ROLE_ORDER))
        with self.engine.connect() as conn:
            return [(r.role, r.content) for r in conn.execute(query)]
