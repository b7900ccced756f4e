"""A randomized experiment with a known true difference: ``chatfeedback demo --experiment``.

People are assigned to two arms by the experiment's own sticky hash (as the chat does), then
rate answers on thumbs. People differ a lot: a third are lenient (85 % positive), a third
harsh (35 %), the rest in between, and some rate many more answers than others (log-normal
activity). The ``concise`` arm adds ``effect`` to every person's chance of a positive
rating, so the true difference in positive share (concise - control) is ``effect`` exactly:
the report's intervals should cover it, and an interval that treats ratings as independent
is far too narrow. Written with the bulk loader, like :mod:`chatfeedback.demo`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from .demo import _SECOND, _Ids, _seconds
from .experiments import Arm, Experiment
from .progress import Progress
from .store import Store
from .store import experiments as log
from .store.bulk import Loaded, bulk_load

NAME = "demo-concise"
MODEL = "gpt-4o-mini"
CONCISE = "Answer concisely: at most three short sentences."
EXPERIMENT = Experiment(NAME, (Arm("control", MODEL, 1.0), Arm("concise", MODEL, 1.0, CONCISE)),
                        unit="user", blind=True)
# (share of people, chance of a positive rating in the control arm, spread)
RATERS = ((0.3, 0.85, 0.03), (0.3, 0.35, 0.05), (0.4, 0.60, 0.08))
TURNS = 4  # answers per conversation at most


@dataclass(frozen=True)
class ExperimentDemo:
    name: str
    people: int
    conversations: int
    ratings: int
    true_difference: float
    timing: Loaded


def fill_experiment(store: Store, ratings: int, *, people: int | None = None,
                    effect: float = 0.04, seed: int = 0, weeks: int = 4,
                    end: datetime | None = None, batch: int = 200_000,
                    progress: Progress | None = None) -> ExperimentDemo:
    """Write ``ratings`` rated answers of experiment ``demo-concise`` from ``people`` people
    (default: one per ten ratings), started ``weeks`` before ``end``; ``progress`` hears
    how many ratings are written, then the indexes and totals stages."""
    if ratings < 1:
        raise ValueError("ratings must be at least 1")
    if not -0.1 <= effect <= 0.1:
        raise ValueError("the demo's effect must be between -0.1 and 0.1")
    people = people or max(2, ratings // 10)
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(weeks=weeks)
    emails = np.array([f"person{i}@demo.example" for i in range(people)], dtype=object)
    arm = np.array([EXPERIMENT.assign(e).name == "concise" for e in emails])
    kind = rng.choice(len(RATERS), people, p=[r[0] for r in RATERS])
    base = np.array([r[1] for r in RATERS])[kind] + \
        np.array([r[2] for r in RATERS])[kind] * rng.standard_normal(people)
    share = np.clip(base, 0.15, 0.9) + effect * arm
    activity = rng.lognormal(0, 1, people)
    count = rng.multinomial(ratings, activity / activity.sum())
    if not log.runs(store).get(NAME, log.Run(NAME, False, None, None, None)).running:
        log.record(store, NAME, "start", definition=EXPERIMENT.definition(), at=start)
    ids = _Ids(rng)
    counts = {"conversations": 0}

    def batches() -> Iterator[dict]:
        first = 0
        while first < people:
            total, last = 0, first
            while last < people and (total == 0 or total + count[last] <= batch):
                total += count[last]
                last += 1
            tables = _batch(rng, ids, emails[first:last], arm[first:last],
                            share[first:last], count[first:last], start, weeks)
            counts["conversations"] += len(tables["conversations"]["id"])
            done = int(count[:last].sum())
            first = last
            yield tables
            if progress:
                progress(done, ratings)

    def stage(name: str) -> None:
        if progress:
            progress(ratings, ratings, name)

    loaded = bulk_load(store, batches(), defer_indexes=store.is_empty(),
                       check_foreign_keys=False, stage=stage)
    return ExperimentDemo(NAME, int((count > 0).sum()), counts["conversations"], ratings,
                          effect, loaded)


def _batch(rng: np.random.Generator, ids: _Ids, emails: np.ndarray, arm: np.ndarray,
           share: np.ndarray, count: np.ndarray, start: datetime, weeks: int) -> dict:
    span = weeks * 7 * 86400.0
    convs = -(-count // TURNS)  # conversations per person
    person = np.repeat(np.arange(len(emails)), convs)
    began = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us") + \
        _seconds(rng.random(len(person)) * span * 0.98)
    order = np.argsort(began, kind="stable")  # ids arrive in time order
    person, began = person[order], began[order]
    # answers per conversation: TURNS, the person's last one the rest
    turns = np.full(len(person), TURNS)
    last = np.zeros(len(person), dtype=bool)  # the latest conversation of each person
    _, from_end = np.unique(person[::-1], return_index=True)
    last[len(person) - 1 - from_end] = True
    turns[last] = count[person[last]] - TURNS * (convs[person[last]] - 1)
    conv_ids = ids.at(began)
    turn_conv = np.repeat(np.arange(len(person)), turns)
    turn = np.arange(len(turn_conv)) - np.repeat(np.cumsum(turns) - turns, turns)
    asked = began[turn_conv] + _seconds(turn * 90.0)
    answered = asked + 5 * _SECOND
    rated_at = answered + 20 * _SECOND
    who = person[turn_conv]
    concise = arm[who]
    positive = (rng.random(len(turn_conv)) < share[who]).astype(np.int64)
    user_ids, answer_ids = ids.at(asked), ids.at(answered)
    prompt = np.where(concise, CONCISE, None)
    arm_names = np.where(arm[person], "concise", "control").astype(object)
    updated = began + _seconds(turns * 90.0)
    return {
        "conversations": dict(
            id=conv_ids, owner=emails[person], title="Demo experiment conversation",
            model=MODEL, source="demo", training_consent=False, created_at=began,
            updated_at=updated, experiment=NAME, arm=arm_names, unit=emails[person],
            assignment_p=0.5),
        "messages": [
            dict(id=user_ids, conversation_id=conv_ids[turn_conv], turn=turn, role="user",
                 content="Tell me something useful.", version=1, selected=True,
                 status="complete", created_at=asked, updated_at=asked),
            dict(id=answer_ids, conversation_id=conv_ids[turn_conv], parent_id=user_ids,
                 turn=turn, role="assistant", content="Here is something useful.", version=1,
                 selected=True, status="complete", model=MODEL, backend="openai",
                 system_prompt=prompt, shown_at=answered + _SECOND,
                 created_at=answered, updated_at=answered)],
        "ratings": dict(
            message_id=answer_ids, conversation_id=conv_ids[turn_conv], model=MODEL,
            system_prompt=prompt, scale="thumbs", value=positive,
            score=positive.astype(float), rater=emails[who], created_at=rated_at,
            rated_at=rated_at),
    }
