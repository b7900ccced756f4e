"""Synthetic but realistic feedback data for demos and benchmarks: ``chatfeedback demo``.

Conversations over several models and system prompts spread across weeks, each with one to
several turns; some answers regenerated (the first version more often disliked, which is
what makes DPO pairs), ratings on thumbs, faces or stars with comments and reason tags,
answers shown or not, a mix of training consent. The same seed and end date give the same
data. Rows are written with :func:`chatfeedback.store.bulk.bulk_load` in large batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from . import scales
from .config import DEFAULT_REASONS_NEGATIVE, DEFAULT_REASONS_POSITIVE
from .store import Store
from .store.bulk import Loaded, bulk_load


@dataclass(frozen=True)
class Profile:
    """A demo model: how often its answers please, and how that drifts per week."""

    name: str
    backend: str
    weight: float       # share of conversations
    positive: float     # base probability of a positive rating
    trend: float        # change of that probability per week
    ttft_ms: float
    tokens_per_s: float


MODELS = (
    Profile("gpt-4o-mini", "openai", 0.35, 0.74, 0.000, 350, 90),
    Profile("llama-3.1-8b", "openai", 0.25, 0.61, 0.010, 180, 140),
    Profile("mistral-small", "openai", 0.20, 0.66, -0.004, 240, 110),
    Profile("qwen2.5-7b", "openai", 0.15, 0.69, 0.000, 200, 120),
    Profile("echo", "echo", 0.05, 0.40, 0.000, 5, 1000),
)
# (system prompt, effect on the positive probability, first week it is used: 0 = always)
SYSTEM_PROMPTS = (
    (None, -0.03, 0),
    ("You are a helpful assistant.", 0.00, 0),
    ("You are a helpful assistant. Answer concisely: at most three short paragraphs, "
     "and say so when you are not sure.", 0.05, 3),
    ("You are the support assistant of Acme Cloud. Be friendly, cite the docs, and never "
     "promise refunds.", -0.01, 5),
)
SCALES = (("thumbs", 0.7), ("faces", 0.15), ("stars", 0.15))
TOPICS = ("Python decorators", "a sourdough starter", "the French Revolution",
          "PostgreSQL indexes", "a cover letter", "photosynthesis", "Kubernetes pods",
          "compound interest", "a birthday poem", "the Rust borrow checker", "jet lag",
          "SQL window functions", "a marathon plan", "quantum entanglement",
          "a polite complaint email", "CSS grid", "the causes of inflation", "git rebase",
          "a vegetarian lasagne", "black holes", "unit testing", "a job interview",
          "the Pythagorean theorem", "climate change", "a bedtime story", "TCP vs UDP")
ASKS = ("Explain {t} in simple terms.", "Can you give me an example of {t}?",
        "What are common mistakes with {t}?", "Write a short guide to {t}.",
        "How would you teach {t} to a beginner?", "Summarise the key facts about {t}.",
        "I'm stuck with {t}. Where do I start?", "Compare two approaches to {t}.")
FOLLOW_UPS = ("Can you make it shorter?", "Give me another example.", "Why is that?",
              "What about edge cases?", "Thanks! And how do I test it?",
              "That's not what I meant, try again.", "Can you put it in a table?")
OPENINGS = ("Sure! ", "Good question. ", "Here is an overview. ", "", "Of course. ")
BODIES = ("{T} comes down to a few ideas. First, start from the basics and build up. "
          "Second, practise with small examples. Third, check your understanding by "
          "explaining it to someone else.",
          "The short answer: {t} is easier than it looks. The long answer involves a few "
          "steps, which I list below.\n\n1. Understand the goal.\n2. Try a minimal "
          "version.\n3. Iterate and measure.",
          "Many people find {t} confusing at first. The key is to separate what changes "
          "from what stays the same, and to look at a concrete case before the general rule.")
COMMENTS_NEGATIVE = ("Too long, I asked for a short answer.", "This is wrong.",
                     "It ignored my question.", "Made up a source.", "Not helpful at all.",
                     "The code does not run.", "Refused for no reason.",
                     "Repeats itself.", "Outdated information.")
COMMENTS_POSITIVE = ("Exactly what I needed, thanks!", "Clear and correct.",
                     "Great example.", "Short and to the point.", "Helpful, saved me time.")
COMMENTS_NEUTRAL = ("OK but a bit generic.", "Partly right.")
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
SETTINGS = {"temperature": 0.7}  # one object: the bulk loader converts it once


@dataclass(frozen=True)
class DemoResult:
    conversations: int
    answers: int
    rated: int
    rows: int
    timing: Loaded


class _Ids:
    """Ids shaped like :func:`chatfeedback.ids.new_id` (26 characters, the first ten the
    time) whose last sixteen are a salt drawn from the seed plus a counter: unique, and
    the same for the same seed (cheaper than random bits, which matters at a million)."""

    def __init__(self, rng: random.Random) -> None:
        self._salt = rng.getrandbits(28) << 36
        self._count = 0

    def at(self, when: datetime) -> str:
        ms = int(when.timestamp() * 1000)
        self._count += 1
        return (_ALPHABET[ms >> 45] + _ALPHABET[(ms >> 40) & 31] + _ALPHABET[(ms >> 35) & 31]
                + _ALPHABET[(ms >> 30) & 31] + _ALPHABET[(ms >> 25) & 31]
                + _ALPHABET[(ms >> 20) & 31] + _ALPHABET[(ms >> 15) & 31]
                + _ALPHABET[(ms >> 10) & 31] + _ALPHABET[(ms >> 5) & 31] + _ALPHABET[ms & 31]
                + format(self._salt | self._count, "016x"))


def generate(responses: int, *, seed: int = 0, weeks: int = 8, rated_share: float = 0.6,
             end: datetime | None = None, batch: int = 50_000
             ) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Batches of rows (table -> rows) holding ``responses`` answers in total."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(weeks=weeks)
    span = (end - start).total_seconds()
    owners = [f"user{i}@example.com" for i in range(200)] + [None] * 50
    model_weights = [m.weight for m in MODELS]
    scale_names = [s for s, _ in SCALES]
    scale_weights = [w for _, w in SCALES]
    tables: dict[str, list[dict[str, Any]]] = _empty()
    answers = 0
    while answers < responses:
        # Time moves forward with the answers (ids then arrive nearly sorted, which keeps
        # index inserts cheap); the jitter spreads conversations within each stretch.
        began = start + timedelta(seconds=span * 0.995 * (answers + rng.random() * 50)
                                  / (responses + 50))
        week = int((began - start).total_seconds() // (7 * 86400))
        model = rng.choices(MODELS, model_weights)[0]
        prompts = [p for p in SYSTEM_PROMPTS if p[2] <= week]
        system_prompt, prompt_effect, _ = rng.choice(prompts)
        scale = rng.choices(scale_names, scale_weights)[0]
        conv_id = ids.at(began)
        topic = rng.choice(TOPICS)
        first = rng.choice(ASKS).format(t=topic)
        clock = began
        turns = min(1 + int(rng.expovariate(0.7)), 8)
        conv_rows = tables["messages"]
        for turn in range(turns):
            if answers >= responses:
                break
            text = first if turn == 0 else rng.choice(FOLLOW_UPS)
            user_id = ids.at(clock)
            conv_rows.append(_message(user_id, conv_id, None, turn, "user", text, clock))
            versions = 1
            if rng.random() < 0.08:
                versions = 2 if rng.random() < 0.7 else 3
            versions = min(versions, responses - answers)
            for version in range(1, versions + 1):
                clock += timedelta(seconds=2 + rng.random() * 20)
                p_positive = (model.positive + prompt_effect + model.trend * week
                              - (0.25 if version < versions else 0.0))
                answers += 1
                _answer(tables, ids, rng, conv_id, user_id, turn, version, version == versions,
                        topic, model, system_prompt, scale, p_positive, rated_share, clock)
            clock += timedelta(seconds=20 + rng.random() * 300)
        title = first if len(first) <= 80 else first[:79] + "…"
        tables["conversations"].append(dict(
            id=conv_id, owner=rng.choice(owners), title=title, model=model.name,
            source="demo", training_consent=rng.random() < 0.6, meta=None,
            created_at=began, updated_at=clock))
        if len(tables["messages"]) >= batch:
            yield tables
            tables = _empty()
    if tables["messages"]:
        yield tables


def _empty() -> dict[str, list[dict[str, Any]]]:
    return {"conversations": [], "messages": [], "ratings": [], "rating_tags": []}


def _message(id_: str, conv_id: str, parent_id: str | None, turn: int, role: str, text: str,
             when: datetime, **extra: Any) -> dict[str, Any]:
    row = dict(id=id_, conversation_id=conv_id, parent_id=parent_id, turn=turn, role=role,
               content=text, version=1, selected=True, status="complete", error=None,
               model=None, backend=None, settings=None, system_prompt=None, ttft_ms=None,
               latency_ms=None, prompt_tokens=None, completion_tokens=None,
               total_tokens=None, finish_reason=None, shown_at=None, created_at=when,
               updated_at=when)
    row.update(extra)
    return row


def _answer(tables: dict[str, list[dict[str, Any]]], ids: _Ids, rng: random.Random,
            conv_id: str, user_id: str, turn: int, version: int, selected: bool, topic: str,
            model: Profile, system_prompt: str | None, scale: str, p_positive: float,
            rated_share: float, when: datetime) -> None:
    roll = rng.random()
    status = "complete" if roll < 0.97 else "stopped" if roll < 0.99 else "error"
    text = "" if status == "error" else rng.choice(OPENINGS) + rng.choice(BODIES).format(
        t=topic, T=topic[0].upper() + topic[1:])
    if status == "stopped":
        text = text[: len(text) // 2]
    completion = len(text) // 4
    ttft = model.ttft_ms * (0.6 + rng.random())
    answer_id = ids.at(when)
    shown = status != "error" and rng.random() < 0.96
    tables["messages"].append(_message(
        answer_id, conv_id, user_id, turn, "assistant", text, when, version=version,
        selected=selected, status=status,
        error="the model backend failed: 503 Service Unavailable" if status == "error" else None,
        model=model.name, backend=model.backend, settings=SETTINGS,
        system_prompt=system_prompt, ttft_ms=ttft,
        latency_ms=ttft + completion / model.tokens_per_s * 1000,
        prompt_tokens=20 + 40 * turn, completion_tokens=completion,
        total_tokens=20 + 40 * turn + completion,
        finish_reason={"complete": "stop", "stopped": None, "error": None}[status],
        shown_at=when + timedelta(seconds=1) if shown else None))
    if not shown or rng.random() >= rated_share:
        return
    positive = rng.random() < p_positive
    if scale == "thumbs":
        value = 1 if positive else 0
    elif positive:
        value = 5 if rng.random() < 0.45 else 4
    else:
        value = rng.choices((1, 2, 3), (0.25, 0.4, 0.35))[0]
    polarity = scales.polarity(scale, value)
    comment = None
    if rng.random() < 0.12:
        pool = (COMMENTS_POSITIVE if polarity else COMMENTS_NEGATIVE if polarity is False
                else COMMENTS_NEUTRAL)
        comment = rng.choice(pool)
    tags: list[str] = []
    if polarity is not None and rng.random() < 0.35:
        pool_tags = DEFAULT_REASONS_POSITIVE if polarity else DEFAULT_REASONS_NEGATIVE
        tags = sorted(rng.sample(pool_tags, 1 if rng.random() < 0.7 else 2))
    rated_at = when + timedelta(seconds=3 + rng.random() * 120)
    tables["ratings"].append(dict(
        message_id=answer_id, conversation_id=conv_id, model=model.name,
        system_prompt=system_prompt, scale=scale, value=value,
        score=scales.score(scale, value), comment=comment, tags=tags or None,
        rater=None, created_at=rated_at, rated_at=rated_at))
    tables["rating_tags"].extend({"message_id": answer_id, "tag": t} for t in tags)


def fill(store: Store, responses: int, *, seed: int = 0, weeks: int = 8,
         rated_share: float = 0.6, end: datetime | None = None,
         progress: Callable[[int], None] | None = None) -> DemoResult:
    """Write ``responses`` demo answers (with their conversations, prompts and ratings)."""
    if responses < 1:
        raise ValueError("responses must be at least 1")
    if not 0 <= rated_share <= 1:
        raise ValueError("rated_share must be between 0 and 1")
    counts = {"conversations": 0, "answers": 0, "ratings": 0}

    def counted() -> Iterator[dict[str, list[dict[str, Any]]]]:
        for tables in generate(responses, seed=seed, weeks=weeks, rated_share=rated_share,
                               end=end):
            counts["conversations"] += len(tables["conversations"])
            counts["answers"] += sum(1 for m in tables["messages"] if m["role"] == "assistant")
            counts["ratings"] += len(tables["ratings"])
            yield tables
            if progress:
                progress(counts["answers"])

    loaded = bulk_load(store, counted(), defer_indexes=store.is_empty())
    return DemoResult(counts["conversations"], counts["answers"], counts["ratings"],
                      loaded.rows, loaded)
