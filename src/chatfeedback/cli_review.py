"""``chatfeedback queue``: review queues for scripts: create one from a filter, follow its
progress and agreement, export its judgements or gold labels."""

from __future__ import annotations

import click

from .cli import CONTEXT, config_option, day, db_option, open_database, open_output
from .config import load_settings
from .export.analysis import write_jsonl
from .review import EXPORT_FORMATS, QueueFilter, Review
from .store.review import POLARITIES


def open_review(config: str | None, db: str | None) -> Review:
    settings = load_settings(config, db)
    return Review(open_database(settings.database_url), settings.criteria)


@click.group(context_settings=CONTEXT)
def queue() -> None:
    """Review queues: answers judged by reviewers on the rubric of the settings.

    \b
    Example:
        chatfeedback queue create negatives --polarity negative --k 2
        chatfeedback queue status negatives
        chatfeedback queue export negatives --format gold -o gold.jsonl
    """


@queue.command(context_settings=CONTEXT)
@click.argument("name")
@click.option("--k", "k", type=click.IntRange(1), default=1, show_default=True,
              help="Reviewers per item.")
@click.option("--criterion", "criteria", multiple=True, metavar="NAME",
              help="A [[criteria]] entry to judge (repeat; default: all of them).")
@click.option("--since", help="Answers created on or after this UTC day (YYYY-MM-DD).")
@click.option("--until", help="Answers created before this UTC day (YYYY-MM-DD).")
@click.option("--model", help="Answers of this model.")
@click.option("--polarity", type=click.Choice(POLARITIES),
              help="Answers whose rating is positive, negative, neutral, or unrated.")
@click.option("--tag", help="Answers rated with this reason tag.")
@click.option("--shown-unrated", is_flag=True, help="Answers shown to a person but not rated.")
@click.option("--batch", metavar="ID", help="Answers of one import (its batch id).")
@click.option("--experiment", metavar="NAME", help="Answers in conversations of this experiment.")
@click.option("--arm", metavar="NAME", help="... assigned to this arm of it.")
@click.option("--sample", type=click.IntRange(1), metavar="N",
              help="A random sample of N of the matching answers.")
@click.option("--seed", type=int, help="Seed of the sample (repeatable samples).")
@click.option("--by", "created_by", metavar="EMAIL", help="Who creates the queue.")
@config_option
@db_option
def create(name: str, k: int, criteria: tuple[str, ...], since: str | None, until: str | None,
           model: str | None, polarity: str | None, tag: str | None, shown_unrated: bool,
           batch: str | None, experiment: str | None, arm: str | None,
           sample: int | None, seed: int | None, created_by: str | None,
           config: str | None, db: str | None) -> None:
    """Create a queue of the answers a filter selects.

    \b
    Example:
        chatfeedback queue create week48 --since 2026-11-23 --until 2026-11-30 --k 2
        chatfeedback queue create spot-check --sample 200 --seed 1 --criterion correct
    """
    review = open_review(config, db)
    qfilter = QueueFilter(since=day(since), until=day(until), model=model,
                          polarity=polarity, tag=tag, shown_unrated=shown_unrated,
                          batch=batch, experiment=experiment, arm=arm, sample=sample,
                          seed=seed)
    made = review.create_queue(name, qfilter, k=k, criteria=list(criteria) or None,
                               created_by=created_by)
    click.echo(f"created queue '{made.name}': {made.items:,} items, {made.k} reviewer"
               f"{'s' if made.k > 1 else ''} each, criteria "
               f"{', '.join(c.name for c in made.criteria)}")


@queue.command(context_settings=CONTEXT)
@click.argument("name", required=False)
@click.option("--replicates", type=click.IntRange(100), default=1000, show_default=True,
              help="Bootstrap resamples for alpha's interval.")
@config_option
@db_option
def status(name: str | None, replicates: int, config: str | None, db: str | None) -> None:
    """Progress of every queue; with NAME, per reviewer and the agreement per criterion.

    \b
    Example:
        chatfeedback queue status
        chatfeedback queue status negatives
    """
    review = open_review(config, db)
    if name is None:
        queues = review.queues()
        if not queues:
            click.echo("no review queues yet (chatfeedback queue create NAME)")
        for q in queues:
            click.echo(f"{q.name}: {q.complete:,}/{q.items:,} items complete, k={q.k}, "
                       f"criteria {', '.join(c.name for c in q.criteria)}")
        return
    q = review.queue(name)
    progress = review.progress(q)
    click.echo(f"{q.name}: {progress['complete']:,}/{progress['items']:,} items complete "
               f"({progress['judged']:,} reviews, k={q.k})")
    for reviewer, counts in sorted(progress["reviewers"].items()):
        click.echo(f"  {reviewer}: {counts['done']} judged, {counts['skipped']} skipped, "
                   f"{counts['open']} open")
    for criterion, result in review.agreement(q, replicates=replicates, widest=3).items():
        if result.alpha is None:
            click.echo(f"{criterion} ({result.level}): alpha not defined yet "
                       f"({result.items} items with two or more judgements)")
            continue
        click.echo(f"{criterion} ({result.level}): alpha {result.alpha:.3f} "
                   f"[{_num(result.low)}, {_num(result.high)}] over {result.items} items")
        for pair in result.pairs:
            click.echo(f"  kappa {pair.rater_a} / {pair.rater_b}: {_num(pair.kappa)} "
                       f"over {pair.items} items")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@queue.command("export", context_settings=CONTEXT)
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="reviews",
              show_default=True,
              help="reviews: one row per judgement. gold: adjudicated or unanimous values.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: standard output).")
@config_option
@db_option
def export_queue(name: str, fmt: str, output: str, config: str | None, db: str | None) -> None:
    """Export one queue's judgements or gold labels as JSON Lines.

    \b
    Example:
        chatfeedback queue export negatives --format reviews -o reviews.jsonl
    """
    review = open_review(config, db)
    q = review.queue(name)
    with open_output(output) as out:
        count = write_jsonl(review.export_rows(fmt, q), out)
    click.echo(f"exported {count} rows", err=True)


