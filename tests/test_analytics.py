"""Analytics: the verdicts in words, every SQL aggregate against a brute-force count of the
raw rows, on SQLite and PostgreSQL (the statistics: tests/test_stats_*.py)."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from chatfeedback import demo, scales
from chatfeedback.analytics import Analytics, Filters, compare_people, wilson
from chatfeedback.store import Store
from chatfeedback.store.engine import day_of
from chatfeedback.store.schema import (
    answer_counts,
    conversations,
    messages,
    rating_counts,
    ratings,
    shown_rated_counts,
    tag_counts,
)

pytestmark = pytest.mark.all_databases
END = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


# -------------------------------------------------------------------------------- verdicts
def test_verdicts_in_plain_words():
    from chatfeedback.stats.cluster import UnitSums

    def people(shares, ratings=10):
        """One UnitSums over people with these positive shares, ``ratings`` each."""
        return UnitSums.of([ratings] * len(shares), [s * ratings for s in shares])

    strong, weak = people([0.9, 0.8, 0.7, 0.9] * 10), people([0.4, 0.5, 0.3, 0.6] * 10)
    clear = compare_people("A", strong, "B", weak)
    assert clear.significant and not clear.small_sample
    assert clear.text.startswith("A is rated positive more often than B: A 82% (40 people, "
                                 "400 ratings) vs B 45% (40 people, 400 ratings)")
    assert "Observational: people chose these" in clear.text
    assert compare_people("A", weak, "B", strong).text.startswith(
        "B is rated positive more often than A")
    close = compare_people("A", strong, "B", people([0.9, 0.7, 0.8, 0.8] * 10))
    assert not close.significant and close.text.startswith("No clear difference")
    few = compare_people("A", people([1.0] * 5), "B", people([0.0] * 5))
    assert few.small_sample and few.text.startswith("Too few people to tell")
    empty = compare_people("A", UnitSums.of([], []), "B", weak)
    assert empty.small_sample and "Too few people rated A" in empty.text


# ------------------------------------------------------------------- aggregates vs rows
def _shake(store: Store, seed: int) -> None:
    """Change, clear, re-rate and annotate some demo ratings through the Store, and show
    some unshown answers, so that the running totals must follow every kind of change."""
    rng = random.Random(seed)
    with store.engine.connect() as conn:
        rated = conn.execute(select(ratings.c.message_id, ratings.c.scale)).all()
        unshown = conn.execute(select(messages.c.id).where(
            messages.c.role == "assistant", messages.c.shown_at.is_(None))).scalars().all()
    for message_id, scale in rng.sample(rated, 40):
        low, high = scales.RANGES[scale]
        action = rng.random()
        if action < 0.3:
            store.rate(message_id, None, scale=scale)
        elif action < 0.6:
            store.rate(message_id, rng.randint(low, high), scale=scale)
        else:
            store.annotate(message_id, tags=rng.sample(["Wrong", "Clear", "Too long"], 2),
                           comment="changed")
    # rated before being shown (the API allows it): counted as "rated among shown" only
    # once shown; some of them stay unshown and must never count
    for message_id in unshown[10:30]:
        store.rate(message_id, rng.randint(0, 1), scale="thumbs")
    store.mark_shown(unshown[:20])
    # a rating moved to another scale, and a regenerated version (new, unshown, unrated)
    message_id, scale = next((m, s) for m, s in rated if s != "stars")
    store.rate(message_id, 5, scale="stars")
    answer = store.message(message_id)
    store.add_message(answer.conversation_id, "assistant", "again", parent_id=answer.parent_id,
                      model=answer.model)


def _brute(store: Store, f: Filters) -> dict:
    """Every figure computed in Python from the raw rows."""
    def in_range(when: datetime) -> bool:
        day = day_of(when)
        return (f.since is None or day >= f.since) and (f.until is None or day < f.until)

    with store.engine.connect() as conn:
        rows = conn.execute(select(ratings).where(ratings.c.value.is_not(None))).mappings().all()
        answers = conn.execute(select(messages.c.created_at, messages.c.model,
                                      messages.c.shown_at, ratings.c.scale, ratings.c.value)
                               .outerjoin(ratings, ratings.c.message_id == messages.c.id)
                               .where(messages.c.role == "assistant")).all()
        convs = conn.execute(select(conversations.c.created_at, conversations.c.model)).all()
    picked = [r for r in rows if in_range(r["rated_at"])
              and (f.model is None or r["model"] == f.model)
              and (f.scale is None or r["scale"] == f.scale)]

    def tally(group):
        pos = sum(scales.polarity(r["scale"], r["value"]) is True for r in group)
        neg = sum(scales.polarity(r["scale"], r["value"]) is False for r in group)
        mean = sum(r["score"] for r in group) / len(group) if group else None
        return pos, neg, len(group), mean

    by = defaultdict(list)
    for r in picked:
        by[("model", r["model"])].append(r)
        by[("prompt", r["system_prompt"])].append(r)
        day = day_of(r["rated_at"])
        by[("week", day - timedelta(days=day.weekday()), r["model"])].append(r)
        by[("day", day, r["model"])].append(r)
    tags = Counter()
    for r in picked:
        polarity = {True: "positive", False: "negative", None: "neutral"}[
            scales.polarity(r["scale"], r["value"])]
        for tag in r["tags"] or ():
            tags[(tag, polarity)] += 1
    chosen = [a for a in answers if in_range(a.created_at)
              and (f.model is None or a.model == f.model)]
    return {
        "totals": (sum(1 for c in convs if in_range(c.created_at)
                       and (f.model is None or c.model == f.model)),
                   len(chosen), sum(a.shown_at is not None for a in chosen), *tally(picked),
                   # rated among shown: by the answer's day, on the chosen scale
                   sum(a.shown_at is not None and a.value is not None
                       and (f.scale is None or a.scale == f.scale) for a in chosen)),
        "groups": {k: tally(v) for k, v in by.items()},
        "tags": dict(tags),
        "lowest": sorted(picked, key=lambda r: (r["score"], -r["rated_at"].timestamp(),
                                                r["message_id"])),
    }


def _check(analytics: Analytics, store: Store, f: Filters) -> None:
    truth = _brute(store, f)
    t = analytics.totals(f)
    got = (t.conversations, t.answers, t.shown, t.positive, t.negative, t.rated, t.mean_score,
           t.shown_rated)
    assert got[:6] == truth["totals"][:6]
    assert got[6] == pytest.approx(truth["totals"][6])
    assert got[7] == truth["totals"][7] and 0 < t.shown_rated <= t.shown
    assert t.rated_share == t.shown_rated / t.shown
    assert t.rated_interval == wilson(t.shown_rated, t.shown)
    for g in analytics.by_model(f):
        assert (g.positive, g.negative, g.rated) == truth["groups"][("model", g.key)][:3]
        assert g.mean_score == pytest.approx(truth["groups"][("model", g.key)][3])
    assert sum(g.rated for g in analytics.by_model(f)) == t.rated
    for g in analytics.by_system_prompt(f):
        assert (g.positive, g.negative, g.rated) == truth["groups"][("prompt", g.key)][:3]
    assert sum(g.rated for g in analytics.by_system_prompt(f)) == t.rated
    for period in ("day", "week"):
        series = analytics.over_time(f, period)
        assert sum(g.rated for g in series) == t.rated
        for g in series:
            assert (g.positive, g.negative, g.rated) == \
                truth["groups"][(period, g.key, g.model)][:3]
            if period == "week":
                assert g.key.weekday() == 0
    assert {(c.tag, c.polarity): c.count for c in analytics.tags(f)} == truth["tags"]
    lowest = analytics.lowest_rated(f, limit=15)
    assert [r.message_id for r in lowest] == \
        [r["message_id"] for r in truth["lowest"][:15]]
    assert all(r.link == f"?c={r.conversation_id}" for r in lowest)
    with_comment = analytics.lowest_rated(f, limit=5, with_comment=True)
    assert [r.message_id for r in with_comment] == \
        [r["message_id"] for r in truth["lowest"] if r["comment"]][:5]


def test_every_aggregate_matches_a_brute_force_count(db_url):
    store = Store.open(db_url)
    demo.fill(store, 1200, seed=7, weeks=3, end=END, rated_share=0.7)
    _shake(store, seed=7)
    analytics = Analytics(store)
    models = analytics.models()
    assert len(models) == len(demo.MODELS)
    first, last = analytics.date_range()
    assert first >= (END - timedelta(weeks=3)).date() and last == datetime.now(UTC).date()
    for f in (Filters(),
              Filters(since=date(2026, 11, 5), until=date(2026, 11, 16)),
              Filters(model=models[1]),
              Filters(scale="faces"),
              Filters(scale="thumbs", model=models[0], since=date(2026, 11, 10))):
        _check(analytics, store, f)
    store.close()


def test_running_totals_equal_a_rebuild(db_url):
    store = Store.open(db_url)
    demo.fill(store, 400, seed=3, weeks=2, end=END)
    _shake(store, seed=3)

    def snapshot():
        with store.engine.connect() as conn:
            return [sorted((tuple(r) for r in conn.execute(select(t)) if r[-1] != 0
                            and (t is not answer_counts or r.answers or r.shown)), key=str)
                    for t in (rating_counts, tag_counts, answer_counts, shown_rated_counts)]

    kept = snapshot()
    store.rebuild_stats()
    assert snapshot() == kept
    store.close()


def test_ratings_given_in_the_app_are_counted_at_once(make_service):
    svc = make_service('[feedback]\nmode = "changeable"\n')
    analytics = Analytics(svc.store)
    turn = svc.send(None, "hello")
    list(svc.reply(turn.answer))
    assert analytics.totals().answers == 1 and analytics.totals().shown == 0
    svc.store.mark_shown([turn.answer.id])
    svc.rate(turn.answer.id, 1)
    t = analytics.totals()
    assert (t.shown, t.rated, t.positive) == (1, 1, 1)
    svc.rate(turn.answer.id, 0)
    assert (analytics.totals().positive, analytics.totals().negative) == (0, 1)
    svc.rate(turn.answer.id, None)
    assert analytics.totals().rated == 0
    assert analytics.by_model() == []


def test_rated_share_is_rated_among_shown_answers(store):
    conv = store.import_conversation([("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                      ("assistant", "a2"), ("user", "q3"),
                                      ("assistant", "a3")], model="m")
    a1, a2, a3 = [m for m in store.messages(conv.id) if m.role == "assistant"]
    analytics = Analytics(store)
    t = analytics.totals()
    assert (t.answers, t.shown, t.shown_rated, t.rated_share) == (3, 0, 0, None)
    store.mark_shown([a1.id, a2.id])
    first_shown = store.message(a1.id).shown_at
    store.mark_shown([a1.id])  # already shown: the first time is kept, counted once
    assert store.message(a1.id).shown_at == first_shown
    store.rate(a1.id, 1, scale="thumbs")
    store.rate(a3.id, 0, scale="thumbs")  # rated without being shown: not rated among shown
    t = analytics.totals()
    assert (t.shown, t.shown_rated, t.rated_share) == (2, 1, 0.5)  # a2: shown, never rated
    assert t.rated == 2 and t.rated_interval == wilson(1, 2)
    assert analytics.totals(Filters(scale="faces")).shown_rated == 0
    store.rate(a1.id, 4, scale="faces")  # moved to another scale: counted there
    assert analytics.totals(Filters(scale="faces")).shown_rated == 1
    assert analytics.totals(Filters(scale="thumbs")).shown_rated == 0
    store.mark_shown([a3.id])  # rated first, shown later: now it counts
    assert (analytics.totals().shown, analytics.totals().shown_rated) == (3, 2)
    store.rate(a1.id, None, scale="faces")  # a cleared rating is no rating
    assert analytics.totals().shown_rated == 1
    assert analytics.totals(Filters(model="other")).shown == 0
    today = day_of(first_shown)
    assert analytics.totals(Filters(since=today + timedelta(days=1))).shown == 0
    assert analytics.totals(Filters(until=today + timedelta(days=1))).shown_rated == 1
    store.add_message(conv.id, "assistant", "a3 again", parent_id=a3.parent_id, model="m")
    t = analytics.totals()  # a regenerated version is a new answer, not yet shown
    assert (t.answers, t.shown, t.shown_rated) == (4, 3, 1)


def test_rating_and_showing_an_answer_at_once_count_it_once(db_url):
    """A rating saved while another session marks the answer shown (two transactions at
    once on PostgreSQL): the answer counts as rated among shown exactly once."""
    store = Store.open(db_url)
    conv = store.import_conversation([x for i in range(40) for x in
                                      (("user", f"q{i}"), ("assistant", f"a{i}"))], model="m")
    answers = [m.id for m in store.messages(conv.id) if m.role == "assistant"]
    errors: list[BaseException] = []

    def both(message_id: str) -> None:
        start = threading.Barrier(2)

        def run(action) -> None:
            try:
                start.wait()
                action()
            except BaseException as exc:  # noqa: BLE001 - reported by the assert below
                errors.append(exc)

        pair = [threading.Thread(target=run, args=(lambda: store.mark_shown([message_id]),)),
                threading.Thread(target=run, args=(
                    lambda: store.rate(message_id, 1, scale="thumbs"),))]
        for t in pair:
            t.start()
        for t in pair:
            t.join()

    for message_id in answers:
        both(message_id)
    assert errors == []
    t = Analytics(store).totals()
    assert (t.shown, t.shown_rated, t.rated) == (40, 40, 40)
    store.close()
