"""Synthetic but realistic feedback data for demos and benchmarks: ``chatfeedback demo``.

Conversations over several models and system prompts spread across weeks, each with one to
several turns; some answers regenerated (the first version more often disliked, which is
what makes DPO pairs), ratings on thumbs, faces or stars with comments and reason tags,
answers shown or not, a mix of training consent. The same seed and end date give the same
data. The rows are drawn a column at a time with numpy and written with
:func:`chatfeedback.store.bulk.bulk_load` (how fast: docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from . import scales
from .config import DEFAULT_REASONS_NEGATIVE, DEFAULT_REASONS_POSITIVE
from .progress import Progress
from .store import Store
from .store.bulk import Columns, Loaded, bulk_load


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
    (("You are a helpful assistant. Answer concisely: at most three short paragraphs, "
      "and say so when you are not sure."), 0.05, 3),
    (("You are the support assistant of Acme Cloud. Be friendly, cite the docs, and never "
      "promise refunds."), -0.01, 5),
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
BODIES = (("{T} comes down to a few ideas. First, start from the basics and build up. "
           "Second, practise with small examples. Third, check your understanding by "
           "explaining it to someone else."),
          ("The short answer: {t} is easier than it looks. The long answer involves a few "
           "steps, which I list below.\n\n1. Understand the goal.\n2. Try a minimal "
           "version.\n3. Iterate and measure."),
          ("Many people find {t} confusing at first. The key is to separate what changes "
           "from what stays the same, and to look at a concrete case before the general rule."))
COMMENTS_NEGATIVE = ("Too long, I asked for a short answer.", "This is wrong.",
                     "It ignored my question.", "Made up a source.", "Not helpful at all.",
                     "The code does not run.", "Refused for no reason.",
                     "Repeats itself.", "Outdated information.")
COMMENTS_POSITIVE = ("Exactly what I needed, thanks!", "Clear and correct.",
                     "Great example.", "Short and to the point.", "Helpful, saved me time.")
COMMENTS_NEUTRAL = ("OK but a bit generic.", "Partly right.")
SETTINGS = {"temperature": 0.7}  # one object: the bulk loader converts it once
ERROR = "the model backend failed: 503 Service Unavailable"
OWNERS = [f"user{i}@example.com" for i in range(200)] + [None] * 50


@dataclass(frozen=True)
class DemoResult:
    conversations: int
    answers: int
    rated: int
    rows: int
    timing: Loaded


Batch = dict[str, Columns | list[Columns]]
_ALPHABET = np.frombuffer(b"0123456789abcdefghjkmnpqrstvwxyz", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SECOND = np.timedelta64(1_000_000, "us")


class _Ids:
    """Ids shaped like :func:`chatfeedback.ids.new_id` (26 characters, the first ten the
    time) whose last sixteen are a salt drawn from the seed plus a counter: unique, and
    the same for the same seed; made a whole column at a time."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._salt = np.uint64(int(rng.integers(0, 1 << 28)) << 36)
        self._count = 0

    def at(self, when: np.ndarray) -> np.ndarray:
        """An id per time in ``when`` (datetime64), as an object array of str."""
        ms = when.astype("datetime64[ms]").astype(np.int64)
        chars = np.empty((len(ms), 26), dtype=np.uint8)
        for k in range(10):
            chars[:, k] = _ALPHABET[(ms >> (45 - 5 * k)) & 31]
        counter = self._salt | np.arange(self._count + 1, self._count + len(ms) + 1,
                                         dtype=np.uint64)
        self._count += len(ms)
        for k in range(16):
            chars[:, 10 + k] = _HEX[(counter >> np.uint64(60 - 4 * k)) & np.uint64(15)]
        return chars.view("S26").ravel().astype("U26").astype(object)


def _before(counts: np.ndarray) -> np.ndarray:
    """For each group, how many items the groups before it hold (an exclusive cumsum)."""
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def _pick(rng: np.random.Generator, pool: Sequence[Any], n: int) -> np.ndarray:
    return np.asarray(pool, dtype=object)[rng.integers(0, len(pool), n)]


def _seconds(values: np.ndarray) -> np.ndarray:
    return (values * 1_000_000).astype("timedelta64[us]")


# Texts by index, built once: answers by (topic, opening, body, stopped), first prompts and
# titles by (ask, topic), reason-tag lists by (polarity, first, second).
_ANSWERS = np.empty((len(TOPICS), len(OPENINGS), len(BODIES), 2), dtype=object)
for _t, _topic in enumerate(TOPICS):
    for _o, _opening in enumerate(OPENINGS):
        for _b, _body in enumerate(BODIES):
            _text = _opening + _body.format(t=_topic, T=_topic[0].upper() + _topic[1:])
            _ANSWERS[_t, _o, _b] = (_text, _text[: len(_text) // 2])
_ANSWER_LENGTHS = np.vectorize(len)(_ANSWERS)
_FIRSTS = np.array([[ask.format(t=t) for t in TOPICS] for ask in ASKS], dtype=object)
_TITLES = np.array([[f if len(f) <= 80 else f[:79] + "…" for f in row] for row in _FIRSTS],
                   dtype=object)
_REASONS = (DEFAULT_REASONS_NEGATIVE, DEFAULT_REASONS_POSITIVE)
_TAG_LISTS = np.empty((2, 5, 6), dtype=object)  # second index 5 = no second tag
for _p, _pool in enumerate(_REASONS):
    for _a, _first in enumerate(_pool):
        _TAG_LISTS[_p, _a, 5] = [_first]
        for _s, _second in enumerate(_pool):
            _TAG_LISTS[_p, _a, _s] = sorted({_first, _second})
_TAG_FIRST = np.vectorize(lambda tags: tags and tags[0], otypes=[object])(_TAG_LISTS)
_TAG_SECOND = np.vectorize(lambda tags: tags[1] if tags and len(tags) > 1 else None,
                           otypes=[object])(_TAG_LISTS)
_MODEL_NAMES = np.array([m.name for m in MODELS], dtype=object)
_SCALE_NAMES = np.array([s for s, _ in SCALES], dtype=object)
# scales.score and scales.polarity (1 positive, 0 negative, -1 neutral) of each scale's
# values, looked up by [scale, value].
_VALUES = range(max(high for _, high in scales.RANGES.values()) + 1)
_SCORE = np.array([[scales.score(s, v) if v in scales.values(s) else np.nan for v in _VALUES]
                   for s, _ in SCALES])
_POLARITY = np.array([[{True: 1, False: 0, None: -1}[scales.polarity(s, v)] for v in _VALUES]
                      for s, _ in SCALES])
assert [p[2] for p in SYSTEM_PROMPTS] == sorted(p[2] for p in SYSTEM_PROMPTS)


def generate(responses: int, *, seed: int = 0, weeks: int = 8, rated_share: float = 0.6,
             end: datetime | None = None, batch: int = 100_000) -> Iterator[Batch]:
    """Batches (table -> columns, see :mod:`chatfeedback.store.bulk`) holding
    ``responses`` answers in total, about ``batch`` answers each."""
    rng = np.random.default_rng(seed)
    ids = _Ids(rng)
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = np.datetime64((end - timedelta(weeks=weeks)).astimezone(UTC).replace(tzinfo=None),
                          "us")
    span = weeks * 7 * 86400.0
    done = 0
    while done < responses:
        conversations = max(8, int(min(batch, responses - done) / 2.1))
        tables = _conversations(rng, ids, conversations, responses, done, rated_share, start,
                                span, weeks)
        done += len(tables["messages"][1]["id"])
        yield tables


def _conversations(rng: np.random.Generator, ids: _Ids, k: int, responses: int, done: int,
                   rated_share: float, start: np.datetime64, span: float, weeks: int
                   ) -> Batch:
    # The shape: turns per conversation, versions per turn, cut at ``responses`` answers.
    turns = np.minimum(1 + rng.exponential(1 / 0.7, k).astype(np.int64), 8)
    turn_conv = np.repeat(np.arange(k), turns)
    versions = np.ones(len(turn_conv), dtype=np.int64)
    regenerated = rng.random(len(versions)) < 0.08
    versions[regenerated] = np.where(rng.random(regenerated.sum()) < 0.7, 2, 3)
    answer_turn = np.repeat(np.arange(len(versions)), versions)
    if done + len(answer_turn) > responses:
        answer_turn = answer_turn[: responses - done]
        turn_conv = turn_conv[: answer_turn[-1] + 1]
        k = turn_conv[-1] + 1
        versions = np.bincount(answer_turn, minlength=len(turn_conv))
        turns = np.bincount(turn_conv, minlength=k)
    n_turns, n_answers = len(turn_conv), len(answer_turn)
    turn_no = np.arange(n_turns) - np.repeat(_before(turns), turns)
    version = np.arange(n_answers) - np.repeat(_before(versions), versions) + 1
    selected = version == versions[answer_turn]
    answer_conv = turn_conv[answer_turn]

    # Each conversation: when, model, system prompt, scale, topic, owner. Time moves
    # forward with the answers (ids arrive nearly sorted, which keeps index inserts cheap).
    per_conv = np.bincount(turn_conv, weights=versions, minlength=k).astype(np.int64)
    offset = (done + _before(per_conv) + rng.random(k) * 50) / (responses + 50)
    began = start + _seconds(span * 0.995 * offset)
    week = ((began - start) // np.timedelta64(7, "D")).astype(np.int64)
    weights = np.array([m.weight for m in MODELS])
    model = rng.choice(len(MODELS), k, p=weights / weights.sum())
    available = np.array([sum(1 for p in SYSTEM_PROMPTS if p[2] <= w) for w in range(weeks + 1)])
    prompt = (rng.random(k) * available[np.minimum(week, weeks)]).astype(np.int64)
    scale_weights = np.array([w for _, w in SCALES])
    scale = rng.choice(len(SCALES), k, p=scale_weights / scale_weights.sum())
    topic = rng.integers(0, len(TOPICS), k)
    ask = rng.integers(0, len(ASKS), k)

    # The clock: a user message after the previous turn's pause, each answer 2-22 s later.
    n_messages = n_turns + n_answers
    user_at = np.arange(n_turns) + _before(versions)
    answer_at = user_at[answer_turn] + version
    step = np.empty(n_messages)
    step[user_at] = np.where(turn_no == 0, 0.0, 20 + rng.random(n_turns) * 300)
    step[answer_at] = 2 + rng.random(n_answers) * 20
    elapsed = np.cumsum(step)
    first = user_at[_before(turns)]
    message_conv = np.empty(n_messages, dtype=np.int64)
    message_conv[user_at] = turn_conv
    message_conv[answer_at] = answer_conv
    clock = began[message_conv] + _seconds(elapsed - elapsed[first][message_conv])
    last = np.concatenate((first[1:], [n_messages])) - 1
    updated = clock[last] + _seconds(20 + rng.random(k) * 300)

    conv_ids = ids.at(began)
    user_time = clock[user_at]
    user_ids = ids.at(user_time)
    user_text = np.where(turn_no == 0, _FIRSTS[ask[turn_conv], topic[turn_conv]],
                         _pick(rng, FOLLOW_UPS, n_turns))
    users = dict(id=user_ids, conversation_id=conv_ids[turn_conv], turn=turn_no, role="user",
                 content=user_text, version=1, selected=True, status="complete",
                 created_at=user_time, updated_at=user_time)

    answers, rating_tables = _answers(
        rng, ids, clock[answer_at], answer_conv, conv_ids, user_ids[answer_turn],
        turn_no[answer_turn], version, selected, model, prompt, scale, topic, week,
        rated_share)
    answers.update(_contexts(answers, turns, turn_conv, versions, answer_turn,
                             user_ids[answer_turn]))
    owner = np.asarray(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), k)]
    return {
        "conversations": dict(
            id=conv_ids, owner=owner, title=_TITLES[ask, topic], model=_MODEL_NAMES[model],
            source="demo", training_consent=rng.random(k) < 0.6, created_at=began,
            updated_at=updated),
        "messages": [users, answers], **rating_tables}


def _contexts(answers: Columns, turns: np.ndarray, turn_conv: np.ndarray,
              versions: np.ndarray, answer_turn: np.ndarray, prompt_ids: np.ndarray
              ) -> Columns:
    """Each answer's stored context (see store/context.py), as history.contexts gives it
    for these conversations (no system messages; a turn's versions come before the next
    turn, the last one selected): every earlier turn whose selected answer is usable
    (not failed, with text), then the prompt. Stored as the latest such answer
    (``context_from``, whose own context holds the turns before it) and the prompt."""
    usable = (answers["status"] != "error") & (answers["content"] != "")
    selected = _before(versions) + versions - 1            # each turn's selected answer
    usable_turn = np.where(usable[selected], np.arange(len(turn_conv)), -1)
    latest = np.concatenate(([-1], np.maximum.accumulate(usable_turn)[:-1]))
    latest = np.where(latest >= _before(turns)[turn_conv], latest, -1)  # same conversation
    base = latest[answer_turn]
    ids = answers["id"][selected[np.maximum(base, 0)]]
    return {"context_from": np.where(base >= 0, ids, None), "context": prompt_ids}


def _answers(rng: np.random.Generator, ids: _Ids, when: np.ndarray, conv: np.ndarray,
             conv_ids: np.ndarray, parent_ids: np.ndarray, turn: np.ndarray,
             version: np.ndarray, selected: np.ndarray, model: np.ndarray, prompt: np.ndarray,
             scale: np.ndarray, topic: np.ndarray, week: np.ndarray, rated_share: float
             ) -> tuple[Columns, dict[str, Columns]]:
    n = len(when)
    model, prompt, scale = model[conv], prompt[conv], scale[conv]
    roll = rng.random(n)
    stopped, failed = (roll >= 0.97) & (roll < 0.99), roll >= 0.99
    shape = (topic[conv], rng.integers(0, len(OPENINGS), n), rng.integers(0, len(BODIES), n),
             stopped.astype(np.int64))
    text = np.where(failed, "", _ANSWERS[shape])
    completion = np.where(failed, 0, _ANSWER_LENGTHS[shape]) // 4
    ttft = np.array([m.ttft_ms for m in MODELS])[model] * (0.6 + rng.random(n))
    speed = np.array([m.tokens_per_s for m in MODELS])[model]
    shown = ~failed & (rng.random(n) < 0.96)
    system_prompts = np.array([p[0] for p in SYSTEM_PROMPTS], dtype=object)
    answer_ids = ids.at(when)
    answers = dict(
        id=answer_ids, conversation_id=conv_ids[conv], parent_id=parent_ids, turn=turn,
        role="assistant", content=text, version=version, selected=selected,
        status=np.where(failed, "error", np.where(stopped, "stopped", "complete")).astype(object),
        error=np.where(failed, ERROR, None), model=_MODEL_NAMES[model],
        backend=np.array([m.backend for m in MODELS], dtype=object)[model],
        settings=SETTINGS, system_prompt=system_prompts[prompt], ttft_ms=ttft,
        latency_ms=ttft + completion / speed * 1000, prompt_tokens=20 + 40 * turn,
        completion_tokens=completion, total_tokens=20 + 40 * turn + completion,
        finish_reason=np.where(failed | stopped, None, "stop"),
        shown_at=np.where(shown, when + _SECOND, np.datetime64("NaT", "us")),
        created_at=when, updated_at=when)

    # Ratings: on shown answers; earlier versions of a regenerated answer please less.
    rated = np.flatnonzero(shown & (rng.random(n) < rated_share))
    r_model, r_scale = model[rated], scale[rated]
    p_positive = (np.array([m.positive for m in MODELS])[r_model]
                  + np.array([p[1] for p in SYSTEM_PROMPTS])[prompt[rated]]
                  + np.array([m.trend for m in MODELS])[r_model] * week[conv[rated]]
                  - 0.25 * ~selected[rated])
    positive = rng.random(len(rated)) < p_positive
    thumbs = _SCALE_NAMES[r_scale] == "thumbs"
    value = np.where(positive, np.where(rng.random(len(rated)) < 0.45, 5, 4),
                     rng.choice(3, len(rated), p=(0.25, 0.4, 0.35)) + 1)
    value = np.where(thumbs, positive.astype(np.int64), value)
    polarity = _POLARITY[r_scale, value]  # 1 positive, 0 negative, -1 neutral
    comments = np.empty(len(rated), dtype=object)
    for code, pool in ((1, COMMENTS_POSITIVE), (0, COMMENTS_NEGATIVE), (-1, COMMENTS_NEUTRAL)):
        mine = polarity == code
        comments[mine] = _pick(rng, pool, int(mine.sum()))
    comments[rng.random(len(rated)) >= 0.12] = None
    tagged = (polarity >= 0) & (rng.random(len(rated)) < 0.35)
    size = np.array([len(pool) for pool in _REASONS])[np.maximum(polarity, 0)]
    first = (rng.random(len(rated)) * size).astype(np.int64)
    second = (first + 1 + (rng.random(len(rated)) * (size - 1)).astype(np.int64)) % size
    second = np.where(rng.random(len(rated)) < 0.7, 5, second)
    tag_lists = np.where(tagged, _TAG_LISTS[np.maximum(polarity, 0), first, second], None)
    rated_at = when[rated] + _seconds(3 + rng.random(len(rated)) * 120)
    ratings = dict(
        message_id=answer_ids[rated], conversation_id=conv_ids[conv[rated]],
        model=_MODEL_NAMES[r_model], system_prompt=system_prompts[prompt[rated]],
        scale=_SCALE_NAMES[r_scale], value=value,
        score=_SCORE[r_scale, value], comment=comments,
        tags=tag_lists, created_at=rated_at, rated_at=rated_at)
    pool = np.maximum(polarity, 0)
    pairs = np.stack([_TAG_FIRST[pool, first, second], _TAG_SECOND[pool, first, second]],
                     axis=1)[tagged]
    tags = dict(message_id=np.repeat(answer_ids[rated][tagged],
                                     np.where(second == 5, 1, 2)[tagged]),
                tag=pairs[np.not_equal(pairs, None)])
    return answers, {"ratings": ratings, "rating_tags": tags}


def fill(store: Store, responses: int, *, seed: int = 0, weeks: int = 8,
         rated_share: float = 0.6, end: datetime | None = None,
         progress: Progress | None = None) -> DemoResult:
    """Write ``responses`` demo answers (with their conversations, prompts and ratings);
    ``progress`` hears how many answers are written, then the indexes and totals stages."""
    if responses < 1:
        raise ValueError("responses must be at least 1")
    if not 0 <= rated_share <= 1:
        raise ValueError("rated_share must be between 0 and 1")
    counts = {"conversations": 0, "answers": 0, "ratings": 0}

    def counted() -> Iterator[Batch]:
        for tables in generate(responses, seed=seed, weeks=weeks, rated_share=rated_share,
                               end=end):
            counts["conversations"] += len(tables["conversations"]["id"])
            counts["answers"] += len(tables["messages"][1]["id"])
            counts["ratings"] += len(tables["ratings"]["message_id"])
            yield tables
            if progress:
                progress(counts["answers"], responses)

    def stage(name: str) -> None:
        if progress:
            progress(responses, responses, name)

    # Every row's parent is in the same batch or an earlier one (test_demo checks with
    # SQLite's foreign_key_check), so SQLite need not look each one up.
    loaded = bulk_load(store, counted(), defer_indexes=store.is_empty(),
                       check_foreign_keys=False, stage=stage)
    return DemoResult(counts["conversations"], counts["answers"], counts["ratings"],
                      loaded.rows, loaded)
