"""The arena's running totals: per voter cluster and pair of models, the votes and the first
model's (weighted) wins, kept in the transaction that adds or changes a vote and rebuilt from
the votes; the leaderboard reads these (at most CLUSTERS x pairs rows) instead of every vote.

A voter's cluster is the unit the leaderboard's bootstrap resamples. Voters are numbered in
the order of their first vote and take cluster ``number % CLUSTERS``: up to CLUSTERS voters
each is a cluster of its own (the bootstrap resamples voters exactly); beyond, each cluster
holds whole voters, assigned by arrival and never by their votes, so resampling clusters is
still a bootstrap over independent units. A pair's models are in code-point order
(``model_lo`` < ``model_hi``), as Python compares strings; SQL compares them the same way
(SQLite's BINARY collation, PostgreSQL's "C").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..stats.bradley_terry import SCORE_A, WINNERS
from .schema import arena_totals, arena_voters, arena_votes

CLUSTERS = 1024
SUMS = ("n", "wins", "weight", "weighted_wins")
Key = tuple[int, str, str]   # (cluster, model_lo, model_hi)


def contribution(model_a: str, model_b: str, winner: str, weight: float
                 ) -> tuple[str, str, tuple[int, float, float, float]]:
    """(model_lo, model_hi, (n, wins, weight, weighted_wins)) of one vote."""
    score_a = float(SCORE_A[WINNERS.index(winner)])
    wins = score_a if model_a < model_b else 1.0 - score_a
    lo, hi = (model_a, model_b) if model_a < model_b else (model_b, model_a)
    return lo, hi, (1, wins, weight, wins * weight)


def clusters(conn: Connection, voters: Iterable[str]) -> dict[str, int]:
    """The clusters of ``voters``, numbering the new ones after every voter already known,
    in the order they first appear in ``voters``."""
    wanted = list(dict.fromkeys(voters))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        found.update(conn.execute(select(arena_voters.c.voter, arena_voters.c.cluster)
                                  .where(arena_voters.c.voter.in_(part))).all())
    new = [v for v in wanted if v not in found]
    if new:
        known = conn.execute(select(func.count()).select_from(arena_voters)).scalar_one()
        rows = [{"voter": v, "cluster": (known + i) % CLUSTERS} for i, v in enumerate(new)]
        # two first votes of one voter at once (PostgreSQL): the other transaction's row wins
        conn.execute(_insert(conn, arena_voters).on_conflict_do_nothing(), rows)
        for start in range(0, len(new), 500):
            found.update(conn.execute(
                select(arena_voters.c.voter, arena_voters.c.cluster)
                .where(arena_voters.c.voter.in_(new[start:start + 500]))).all())
    return found


def add(conn: Connection, votes: Iterable[Mapping[str, Any]], sign: int = 1) -> None:
    """Count (``sign`` +1) or uncount (-1) ``votes`` (keys voter, model_a, model_b, winner,
    weight) in the totals."""
    votes = [v for v in votes if v["model_a"] != v["model_b"]]
    if not votes:
        return
    cluster = clusters(conn, (v["voter"] for v in votes))
    sums: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for v in votes:
        lo, hi, parts = contribution(v["model_a"], v["model_b"], v["winner"], v["weight"])
        total = sums[(cluster[v["voter"]], lo, hi)]
        for i, x in enumerate(parts):
            total[i] += sign * x
    rows = [{"cluster": k[0], "model_lo": k[1], "model_hi": k[2], **dict(zip(SUMS, s))}
            for k, s in sorted(sums.items())]   # one order for every writer: no deadlock
    stmt = _insert(conn, arena_totals)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["cluster", "model_lo", "model_hi"],
        set_={c: arena_totals.c[c] + stmt.excluded[c] for c in SUMS}), rows)


def change(conn: Connection, vote: Mapping[str, Any], winner: str) -> None:
    """A stored vote's winner becomes ``winner``."""
    add(conn, [vote], -1)
    add(conn, [{**vote, "winner": winner}])


def rebuild(conn: Connection) -> None:
    """Recompute the voters' clusters and the totals from every vote."""
    conn.execute(delete(arena_totals))
    conn.execute(delete(arena_voters))
    v = arena_votes.c
    first = func.min(v.created_at)
    number = func.row_number().over(order_by=(first, _codepoints(conn, v.voter))) - 1
    conn.execute(insert(arena_voters).from_select(
        ["voter", "cluster"],
        select(v.voter, number % literal(CLUSTERS)).group_by(v.voter)))
    a, b = _codepoints(conn, v.model_a), _codepoints(conn, v.model_b)
    a_first = a < b
    score_a = case(*[(v.winner == w, literal(float(s))) for w, s in zip(WINNERS, SCORE_A)],
                   else_=literal(0.5))
    wins = case((a_first, score_a), else_=1.0 - score_a)
    lo, hi = case((a_first, v.model_a), else_=v.model_b), case((a_first, v.model_b),
                                                              else_=v.model_a)
    c = arena_voters.c
    conn.execute(insert(arena_totals).from_select(
        ["cluster", "model_lo", "model_hi", *SUMS],
        select(c.cluster, lo, hi, func.count(), func.sum(wins), func.sum(v.weight),
               func.sum(wins * v.weight))
        .select_from(arena_votes.join(arena_voters, c.voter == v.voter))
        .where(v.model_a != v.model_b).group_by(c.cluster, lo, hi)))


def voter_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(arena_voters)).scalar_one())


def stamp(conn: Connection) -> tuple[Any, ...]:
    """What changes whenever a vote is added or changed: voters, votes, summed wins."""
    t = arena_totals.c
    row = conn.execute(select(func.count(), func.sum(t.n), func.sum(t.wins),
                              func.sum(t.weighted_wins))).one()
    return (voter_count(conn), *row)


COLUMNS: Sequence[Any] = (arena_totals.c.cluster, arena_totals.c.model_lo,
                          arena_totals.c.model_hi, *[arena_totals.c[c] for c in SUMS])


def _codepoints(conn: Connection, column: Any) -> Any:
    """``column`` compared by code points, as Python compares strings."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "sqlite":
        return sqlite_insert(table)
    if conn.dialect.name == "postgresql":
        return pg_insert(table)
    raise NotImplementedError(f"running totals are not implemented for {conn.dialect.name}")
