"""The arena: blind rounds in which two models answer the same prompts side by side, votes on
them under the ``[feedback] mode``, and the leaderboard computed from every vote.

A round is two conversations (``source = "arena"``, one per model, hidden from the chat's list)
that receive the same prompts. Both answers stream at the same time (each Reply reads its model
in a thread of its own; :func:`interleave` hands their pieces to one reader). A round whose side
failed is marked failed and cannot be voted. A side is a ``[[models]]`` entry, or an experiment's
arm named ``"experiment/arm"``: its model entry with its system prompt and settings. The
leaderboard reads the votes' running totals (store/arena_totals.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .chat import ChatService, Reply, Turn, check_prompt
from .errors import FeedbackError
from .experiments import Arm, arm_by_path
from .history import USABLE
from .stats import bradley_terry as bt
from .stats import style_control
from .store import ArenaRound, ArenaVote, Message, Store

SIDES = ("a", "b")
ACTIVE_REFRESH = 30.0   # seconds an active-sampling snapshot of the intervals is reused
START = 0.001           # seconds the first read of each side waits (see interleave)


@dataclass(frozen=True)
class ArenaTurn:
    round: ArenaRound
    a: Turn
    b: Turn


@dataclass(frozen=True)
class RoundView:
    """A round as the page shows it: both sides' messages in order, and the vote if any."""

    round: ArenaRound
    a: list[Message]
    b: list[Message]
    vote: ArenaVote | None

    def last_answers(self) -> tuple[Message | None, Message | None]:
        return _last_answer(self.a), _last_answer(self.b)

    @property
    def failed(self) -> bool:
        return self.round.status == "failed" or any(
            m is not None and m.status == "error" for m in self.last_answers())

    @property
    def streaming(self) -> bool:
        return any(m is not None and m.status == "streaming" for m in self.last_answers())

    @property
    def votable(self) -> bool:
        a, b = self.last_answers()
        return (not self.failed and a is not None and b is not None
                and all(m.status in USABLE and m.content.strip() for m in (a, b)))


def _last_answer(messages: list[Message]) -> Message | None:
    answers = [m for m in messages if m.role == "assistant" and m.selected]
    return answers[-1] if answers else None


def interleave(replies: dict[str, Reply], idle: float = 0.02) -> Iterator[tuple[str, str]]:
    """Stream several replies at once: yields (side, text) as pieces arrive on either side,
    and (side, "") every ``idle`` seconds a side is silent (the reader's chance to look for a
    Stop). Every reply's model is asked at once: each stream is first read with a wait of
    1 ms (which starts its reader), and only then with ``idle``."""
    streams = {side: reply.pieces(START) for side, reply in replies.items()}
    started = False
    while streams:
        for side in list(streams):
            try:
                piece = next(streams[side])
            except StopIteration:
                del streams[side]
                continue
            if not started:  # the same stream, now looked at every ``idle`` seconds
                replies[side].pieces(idle)
            yield side, piece
        started = True


class Arena:
    """Rounds, votes and the leaderboard, over a ChatService's models and store."""

    def __init__(self, service: ChatService, rng: random.Random | None = None) -> None:
        self.service = service
        self.store = service.store
        self.settings = service.settings
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._intervals: tuple[float, dict[str, tuple[float, float]]] | None = None
        self._refreshing = False

    @property
    def models(self) -> tuple[str, ...]:
        return self.settings.arena.models

    @property
    def enabled(self) -> bool:
        return len(self.models) >= 2

    def arm(self, name: str) -> Arm | None:
        """The experiment arm an arena name ("experiment/arm") plays, None for a model (a
        round of a model no longer in the settings goes on as the chat's conversations do,
        with the first model; of an arm no longer in them, it stops with a one-line error)."""
        if "/" not in name or any(m.name == name for m in self.settings.models):
            return None
        return arm_by_path(name, self.settings.experiments)

    def model_of(self, name: str) -> str:
        """The [[models]] entry that answers for an arena name (a model, or an arm's)."""
        arm = self.arm(name)
        return name if arm is None else arm.model

    # ------------------------------------------------------------------ rounds
    def pair_probabilities(self) -> np.ndarray:
        """The probability of each pair of ``models`` (np.triu_indices order) under the
        configured sampling."""
        active = self.settings.arena.sampling == "active"
        k = len(self.models)
        lo, hi = np.full(k, np.nan), np.full(k, np.nan)
        if active:
            intervals = self._current_intervals()
            for m, name in enumerate(self.models):
                lo[m], hi[m] = intervals.get(name, (np.nan, np.nan))
        return bt.pair_probabilities(lo, hi, active=active)

    def _current_intervals(self) -> dict[str, tuple[float, float]]:
        """The models' intervals for active sampling: computed on the first draw, then
        refreshed every ACTIVE_REFRESH seconds in the background (a draw never waits for a
        bootstrap over a large arena; it uses the snapshot it has)."""
        with self._lock:
            snapshot = self._intervals
            stale = snapshot is not None and time.monotonic() - snapshot[0] > ACTIVE_REFRESH
            if stale and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh_intervals, name="arena-intervals",
                                 daemon=True).start()
        if snapshot is None:
            self._refresh_intervals()
            assert self._intervals is not None
            return self._intervals[1]
        return snapshot[1]

    def _refresh_intervals(self) -> None:
        try:
            votes = bt.Votes.from_totals(*self.store.arena_total_columns())
            board = bt.leaderboard(votes, bootstrap=200)
            with self._lock:
                self._intervals = (time.monotonic(), {r.model: r.ci for r in board.ratings})
        finally:
            self._refreshing = False

    def draw(self) -> tuple[str, str, float, float]:
        """(model A, model B, probability of the pair, weight = 1 / (pairs x probability))."""
        if not self.enabled:
            raise FeedbackError("the arena needs [arena] models = [...] with two or more "
                                "[[models]] names")
        probs = self.pair_probabilities()
        i, j = np.triu_indices(len(self.models), 1)
        pick = self._rng.choices(range(len(probs)), weights=probs.tolist())[0]
        first, second = self.models[i[pick]], self.models[j[pick]]
        if self._rng.random() < 0.5:
            first, second = second, first
        return first, second, float(probs[pick]), float(1.0 / (len(probs) * probs[pick]))

    def start(self, prompt: str, *, voter: str, owner: str | None = None) -> ArenaTurn:
        """A new round for ``voter`` (a user email or session id) with its first prompt."""
        check_prompt(prompt)
        model_a, model_b, probability, weight = self.draw()
        consent = self.settings.feedback.training_consent_default
        sides = [({"owner": owner, "model": self.model_of(name), "source": "arena",
                   "training_consent": consent},
                  self._answer_fields(name))
                 for name in (model_a, model_b)]
        rnd, (a, b) = self.store.start_round(
            prompt, sides, voter=voter, model_a=model_a, model_b=model_b,
            sampling=self.settings.arena.sampling, probability=probability, weight=weight)
        return ArenaTurn(rnd, Turn(*a), Turn(*b))

    def log(self, prompt: str, a: tuple[str, str], b: tuple[str, str], *, voter: str,
            owner: str | None = None) -> ArenaRound:
        """A round played elsewhere (an app's own side-by-side, see api.py): ``prompt``
        answered by model ``a[0]`` with the text ``a[1]`` and by ``b[0]`` with ``b[1]``,
        open for :meth:`vote`. The app chose the pair, so its sampling is "app" and its
        weight 1, as imported votes have."""
        if a[0] == b[0]:
            raise FeedbackError("the two sides of a round are two different models")
        consent = self.settings.feedback.training_consent_default
        sides = [self.store.create_conversation(owner=owner, model=model, source="arena",
                                                training_consent=consent)
                 for model, _ in (a, b)]
        for conversation, (model, text) in zip(sides, (a, b), strict=True):
            self.service.log(conversation.id, prompt, text, model=model)
        return self.store.create_round(
            voter=voter, model_a=a[0], model_b=b[0], conversation_a=sides[0].id,
            conversation_b=sides[1].id, sampling="app", probability=1.0, weight=1.0)

    def send(self, rnd: ArenaRound, prompt: str, *, owner: str | None = None) -> ArenaTurn:
        """The next prompt of a round, to both sides (the round goes on, as in LMArena)."""
        view = self.view(rnd.id)
        if view.vote is not None:
            raise FeedbackError("this round is voted; start a new round")
        if view.failed:
            raise FeedbackError("one side of this round failed; start a new round")
        check_prompt(prompt)
        a, b = self.store.open_turns(
            [(conversation, prompt, self._answer_fields(name))
             for conversation, name in ((rnd.conversation_a, rnd.model_a),
                                        (rnd.conversation_b, rnd.model_b))], owner=owner)
        return ArenaTurn(rnd, Turn(*a), Turn(*b))

    def _answer_fields(self, name: str) -> dict[str, Any]:
        """What an answer of the arena name ``name`` records (its model's or arm's)."""
        return self.service.answer_fields(self.model_of(name), self.arm(name))

    def replies(self, turn: ArenaTurn) -> dict[str, Reply]:
        return {"a": self.service.reply(turn.a.answer, self.arm(turn.round.model_a)),
                "b": self.service.reply(turn.b.answer, self.arm(turn.round.model_b))}

    def finish(self, round_id: str) -> RoundView:
        """After both replies ended: a round with a failed side is marked failed."""
        view = self.view(round_id)
        if view.failed and view.round.status == "open":
            self.store.fail_round(round_id)
            view = self.view(round_id)
        return view

    def view(self, round_id: str) -> RoundView:
        rnd = self.store.arena_round(round_id)
        return RoundView(rnd, self.store.messages(rnd.conversation_a),
                         self.store.messages(rnd.conversation_b), self.store.arena_vote(round_id))

    # ------------------------------------------------------------------- votes
    def vote(self, round_id: str, winner: str, *, actor: str | None = None) -> ArenaVote:
        """Vote on a round's last answers, following ``[feedback] mode``: locked (one vote),
        changeable, or latest (only the voter's newest round)."""
        view = self.finish(round_id)
        if view.failed:
            raise FeedbackError("a round in which one side failed cannot be voted")
        if not view.votable:
            raise FeedbackError("both answers must be finished before a vote")
        policy = self.settings.feedback.policy
        if policy.newest_only:
            latest = self.store.latest_round(view.round.voter)
            if not policy.open_for(newest=latest is None or latest.id == round_id):
                raise FeedbackError("only the newest round can be voted")
        a, b = view.last_answers()
        assert a is not None and b is not None
        return self.store.vote(round_id, winner, message_a=a.id, message_b=b.id,
                               features_a=_features(view.a), features_b=_features(view.b),
                               actor=actor, allow_change=policy.changeable)

    # ------------------------------------------------------------- leaderboard
    def leaderboard(self, *, bootstrap: int = 1000, seed: int = 0,
                    style: bool = True) -> dict[str, Any]:
        return leaderboard(self.store, bootstrap=bootstrap, seed=seed, style=style)

    def matrices(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        return matrices(self.store)


def leaderboard(store: Store, *, bootstrap: int = 1000, seed: int = 0,
                style: bool = True) -> dict[str, Any]:
    """The JSON of ``chatfeedback arena --json``: the ratings from the running totals (a
    bootstrap over clusters of voters, see store/arena_totals.py), the style-controlled
    ratings (``style``; null without), and the rounds by status."""
    votes = bt.Votes.from_totals(*store.arena_total_columns())
    plain = bt.leaderboard(votes, bootstrap=bootstrap, seed=seed)
    rounds = store.arena_round_counts()
    return {**plain.to_dict(), "voters": store.arena_voter_count(),
            "style_control": style_leaderboard(store, votes.models, bootstrap=bootstrap,
                                               seed=seed) if style else None,
            "rounds": {s: rounds.get(s, 0) for s in ("open", "voted", "failed")}}


def style_leaderboard(store: Store, models: tuple[str, ...], *, bootstrap: int = 1000,
                      seed: int = 0) -> dict[str, Any]:
    """The style-controlled ratings: from one row per vote (the answers' lengths and
    Markdown counts are covariates of each vote, which no running total can stand for), so
    this reads every vote with style counts: seconds at a million votes."""
    style = store.arena_style_columns()
    styled_votes = bt.Votes.from_columns(*style[:4], [1] * len(style[0]), style[4],
                                         models=models, features=style[5:])
    return style_control.style_leaderboard(styled_votes, bootstrap=bootstrap, seed=seed).to_dict()


def matrices(store: Store) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(models, win rate of row over column, votes between them) for the heatmaps."""
    votes = bt.Votes.from_totals(*store.arena_total_columns())
    rate, n = bt.pair_matrices(votes)
    return votes.models, rate, n


def _features(messages: list[Message]) -> tuple[int, ...]:
    """A side's style counts over all its selected answers."""
    total = np.zeros(len(bt.STYLE_FEATURES), dtype=np.int64)
    for m in messages:
        if m.role == "assistant" and m.selected:
            total += np.array(style_control.style_features(m.content))
    return tuple(int(x) for x in total)
