"""``chatfeedback demo``: realistic synthetic conversations and ratings (demo.py), or a
randomized experiment whose true difference is known (demo_experiment.py)."""

from __future__ import annotations

import time

import click

from .cli import CONTEXT, config_option, db_option, open_store, quiet_option


@click.command(context_settings=CONTEXT)
@click.option("--responses", "-n", type=click.IntRange(1), default=10_000, show_default=True,
              help="How many answers to create.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed: the same seed (and day) gives the same data.")
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True,
              help="Spread the conversations over this many weeks, ending today.")
@click.option("--rated-share", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Share of shown answers that get a rating.")
@click.option("--experiment", is_flag=True,
              help="Instead: a randomized experiment 'demo-concise' (two arms, lenient and "
                   "harsh raters) with a known true difference; --responses rated answers.")
@click.option("--people", type=click.IntRange(2), default=None,
              help="With --experiment: how many people (default: one per ten ratings).")
@click.option("--effect", type=click.FloatRange(-10, 10), default=4.0, show_default=True,
              help="With --experiment: the true difference in points (concise - control).")
@config_option
@db_option
@quiet_option
def demo(responses: int, seed: int, weeks: int, rated_share: float, experiment: bool,
         people: int | None, effect: float, config: str | None, db: str | None,
         quiet: bool) -> None:
    """Fill the database with realistic synthetic conversations and ratings.

    Several models and system prompts over several weeks; thumbs, faces and stars ratings
    with comments and reason tags; regenerated answers; a mix of training consent.
    With --experiment, a randomized experiment whose true difference is known instead.

    \b
    Example:
        chatfeedback demo --responses 100000 --db sqlite:///demo.db
        chatfeedback demo --experiment --responses 50000 --db sqlite:///demo.db
        chatfeedback run --db sqlite:///demo.db    # then open the Dashboard
    """
    from . import demo as demo_data
    from .progress import Report

    store = open_store(config, db)
    report = Report(quiet)
    started = time.perf_counter()
    if experiment:
        from .demo_experiment import fill_experiment

        with report.bar("creating", responses, unit=" ratings") as progress:
            made = fill_experiment(store, responses, people=people, effect=effect / 100,
                                   seed=seed, weeks=weeks, progress=progress)
        report.summary(f"created experiment {made.name}: {made.ratings:,} ratings from "
                       f"{made.people:,} people in {made.conversations:,} conversations in "
                       f"{time.perf_counter() - started:.1f} s; true difference "
                       f"{made.true_difference * 100:+.1f} points (concise - control). See: "
                       f"chatfeedback report --experiment {made.name}")
        return
    with report.bar("creating", responses, unit=" answers") as progress:
        result = demo_data.fill(store, responses, seed=seed, weeks=weeks,
                                rated_share=rated_share, progress=progress)
    report.summary(f"created {result.answers:,} answers in {result.conversations:,} conversations, "
               f"{result.rated:,} ratings ({result.rows:,} rows) in "
               f"{time.perf_counter() - started:.1f} s (generate and insert "
               f"{result.timing.load_seconds:.1f} s, indexes {result.timing.index_seconds:.1f} s, "
               f"running totals {result.timing.totals_seconds:.1f} s); database: {store.url}")
